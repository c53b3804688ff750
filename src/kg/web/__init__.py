"""HTTP layer: FastAPI app factory, routers (sparql, queries, resources, dumps) and pages."""
