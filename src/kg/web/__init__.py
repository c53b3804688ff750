"""HTTP layer: the application factory, routers (sparql, queries, resources, dumps) and pages.

Talks to the query side only through :class:`kg.query.QueryService`.
"""

from .app import asgi_app, create_app, run

__all__ = ["asgi_app", "create_app", "run"]
