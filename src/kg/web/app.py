"""FastAPI application factory and the HTTP basics every route shares.

The app never builds: it loads what ``kg build`` wrote to ``dist/``. Slow work runs in the
query engine's worker processes, so the event loop keeps answering other requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..engine import QueryEngine
from ..queries import load_saved_queries
from ..settings import Settings, load_settings
from ..store import read_manifest
from .common import ResultCache

log = logging.getLogger("kg.access")
HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class HeadAsGet:
    """Answer HEAD like GET without a body (FastAPI routes declare GET only)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        scope = dict(scope, method="GET")

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, send_headers_only)


class BodyLimit:
    """Refuse request bodies larger than the configured limit with 413, before reading them."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length")
            too_long = len(scope.get("query_string", b"")) > self.limit
            if too_long or (length and length.isdigit() and int(length) > self.limit):
                response = PlainTextResponse(
                    f"request too large: the limit is {self.limit} bytes (KG_MAX_QUERY_BYTES)\n", status_code=413
                )
                await response(scope, receive, send)
                return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge()
                return message

            try:
                await self.app(scope, limited_receive, send)
            except _TooLarge:
                response = PlainTextResponse(f"request too large: the limit is {self.limit} bytes\n", status_code=413)
                await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class _TooLarge(Exception):
    pass


def etag_for(request: Request, version: str) -> str:
    """Return the ETag of a read: dataset version + what was asked (path, query, Accept)."""
    asked = "|".join(
        (
            request.url.path,
            request.url.query,
            request.headers.get("accept", ""),
            request.headers.get("accept-language", ""),
        )
    )
    return f'"{version}-{hashlib.sha256(asked.encode()).hexdigest()[:12]}"'


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the application serving the build in ``settings.dist_dir``."""
    settings = settings or load_settings()
    manifest = read_manifest(settings.dist_dir)
    registry = load_saved_queries(settings.queries_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        memory = settings.worker_memory_mb * 1024 * 1024
        if settings.backend:  # answer from a remote SPARQL store; every lane shares one client
            from ..remote import RemoteEngine

            remote = RemoteEngine(settings.backend)
            await remote.start()
            app.state.engines = {"sparql": remote, "light": remote, "lookup": remote}
            try:
                yield
            finally:
                await remote.close()
            return
        if settings.store_dir:  # check or rebuild the on-disk store once, before workers open it
            from ..store import ensure_store

            await asyncio.to_thread(ensure_store, settings.dist_dir, Path(settings.store_dir))
        # Lanes: ad-hoc SPARQL (at lower CPU priority), saved queries, and lookups of single entities,
        # so that abuse of /sparql cannot starve pages and the API.
        engines = {
            "sparql": QueryEngine(
                settings.dist_dir, size=settings.workers, memory_limit=memory, nice=10, store_dir=settings.store_dir
            ),
            "light": QueryEngine(
                settings.dist_dir, size=settings.light_workers, memory_limit=memory, store_dir=settings.store_dir
            ),
            "lookup": QueryEngine(settings.dist_dir, size=1, memory_limit=memory, store_dir=settings.store_dir),
        }
        await asyncio.gather(*(e.start() for e in engines.values()))
        app.state.engines = engines
        try:
            yield
        finally:
            await asyncio.gather(*(e.close() for e in engines.values()))

    app = FastAPI(
        title="Tokyo SME Policy Knowledge Graph",
        version=__version__,
        description=(
            "SPARQL endpoint, saved queries and linked data about small-business policy in Tokyo. "
            "Read-only; every query has a time limit and a row limit."
        ),
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.manifest = manifest
    app.state.version = str(manifest["version"])
    app.state.registry = registry
    app.state.running = {}  # client address → queries running or waiting
    app.state.cache = ResultCache()

    @app.middleware("http")
    async def basics(request: Request, call_next):
        start = time.perf_counter()
        is_read = request.method in ("GET", "HEAD") and not request.url.path.startswith(("/static/", "/healthz"))
        etag = etag_for(request, app.state.version) if is_read else None
        if etag and etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            response: Response = Response(status_code=304, headers={"ETag": etag})
        else:
            response = await call_next(request)
            if etag and response.status_code == 200 and "etag" not in response.headers:
                response.headers["ETag"] = etag
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cache-Control", "public, max-age=60" if is_read else "no-store")
        response.headers["Vary"] = "Accept, Accept-Language, Accept-Encoding, Origin"
        log.info(
            json.dumps(
                {
                    "client": request.client.host if request.client else None,
                    "method": request.method,
                    "path": request.url.path,
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                    "query_ms": response.headers.get("X-KG-Query-Ms"),
                    "rows": response.headers.get("X-KG-Rows"),
                },
                # ASCII escapes keep one record per line for any line splitter
                # (str.splitlines also breaks on U+2028, U+0085, \x1c ... in paths).
                ensure_ascii=True,
            )
        )
        return response

    from .routes_dumps import router as dumps_router
    from .routes_pages import router as pages_router
    from .routes_queries import add_saved_query_routes
    from .routes_resources import router as resources_router
    from .routes_sparql import router as sparql_router

    app.include_router(sparql_router)
    add_saved_query_routes(app, registry)
    app.include_router(dumps_router)
    app.include_router(resources_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": app.state.version, "triples": app.state.manifest["triples"]})

    app.add_middleware(GZipMiddleware, minimum_size=500)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_credentials=False,
        allow_methods=["GET", "POST", "HEAD", "OPTIONS"],
        allow_headers=["*"],
        expose_headers=["ETag", "X-KG-Rows", "X-KG-Truncated", "X-KG-Row-Limit", "X-KG-Query-Ms"],
        max_age=600,
    )
    app.add_middleware(BodyLimit, limit=settings.max_query_bytes)
    app.add_middleware(HeadAsGet)
    return app


def run(settings: Settings) -> None:
    """Serve with uvicorn on the configured host and port."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    app = create_app(settings)
    print(f"Serving {settings.dist_dir} on {settings.server_url}/ (SPARQL: {settings.server_url}/sparql)", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, server_header=False, access_log=False, log_level="warning")
