"""HTTP layer: the application factory, routers (sparql, queries, resources, dumps) and pages.

Talks to the query side only through :class:`kg.query.QueryService`.
"""

from .app import ServerUnavailable, asgi_app, create_app, run

__all__ = ["ServerUnavailable", "asgi_app", "create_app", "run"]
