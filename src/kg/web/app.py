"""FastAPI application factory and the HTTP basics every route shares.

The app never builds: it loads what ``kg build`` wrote to ``dist/``. Every query goes through
the query service (``kg.service``), which decides where it runs; queries of unknown cost run in
worker processes, so the event loop keeps answering other requests. The HTTP basics (headers,
ETag, access log, body limit, HEAD) are pure ASGI layers: no per-request task hand-offs.
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
from starlette.datastructures import MutableHeaders
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..queries import load_saved_queries
from ..service import QueryService, worker_summary
from ..settings import Settings, load_settings
from ..store import read_manifest

log = logging.getLogger("kg.access")
HERE = Path(__file__).parent
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


class _TooLarge(Exception):
    pass


def etag_for(scope: Scope, headers: dict[bytes, bytes], version: str) -> str:
    """Return the ETag of a read: dataset version + what was asked (path, query, Accept, language)."""
    asked = b"|".join(
        (
            scope["path"].encode("utf-8", "surrogateescape"),
            scope.get("query_string", b""),
            headers.get(b"accept", b""),
            headers.get(b"accept-language", b""),
        )
    )
    return f'"{version}-{hashlib.sha256(asked).hexdigest()[:12]}"'


class Edge:
    """The outermost layer, pure ASGI (no task per request): everything every answer gets.

    HEAD answered like GET without a body; request bodies and query strings over the limit
    refused with 413 before they are read; security and caching headers; ETag on reads and 304
    on a match (with the CORS header, since this layer answers before CORS); one access-log
    record per request.
    """

    def __init__(self, app: ASGIApp, state: object, limit: int):
        self.app = app
        self.state = state
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        head = method == "HEAD"
        if head:
            scope = dict(scope, method="GET")
        headers = dict(scope["headers"])
        is_read = method in ("GET", "HEAD") and not path.startswith(("/static/", "/healthz", "/metrics"))
        etag = etag_for(scope, headers, self.state.version) if is_read else None  # type: ignore[attr-defined]
        facts: dict[str, object] = {"status": 0}

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = facts["status"] = message["status"]
                out = MutableHeaders(scope=message)
                if etag and status == 200 and "etag" not in out:
                    out["ETag"] = etag
                out.setdefault("X-Content-Type-Options", "nosniff")
                out.setdefault("Referrer-Policy", "no-referrer")
                if out.get("content-type", "").startswith("text/html"):
                    out.setdefault("Content-Security-Policy", CSP)
                    out.setdefault("X-Frame-Options", "DENY")
                out.setdefault("Cache-Control", "public, max-age=60" if is_read else "no-store")
                out["Vary"] = "Accept, Accept-Language, Accept-Encoding, Origin"
                facts["query_ms"] = out.get("x-kg-query-ms")
                facts["rows"] = out.get("x-kg-rows")
            elif head:
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        length = headers.get(b"content-length")
        try:
            if len(scope.get("query_string", b"")) > self.limit or (
                length and length.isdigit() and int(length) > self.limit
            ):
                await self._too_large(scope, receive, send_wrapped)
            elif etag and etag.encode() in [t.strip() for t in headers.get(b"if-none-match", b"").split(b",")]:
                extra = {"Access-Control-Allow-Origin": "*"} if b"origin" in headers else {}
                await Response(status_code=304, headers={"ETag": etag, **extra})(scope, receive, send_wrapped)
            elif method in ("POST", "PUT", "PATCH"):
                await self._limited(scope, receive, send_wrapped, facts)
            else:
                await self.app(scope, receive, send_wrapped)
        finally:
            self._log(scope, method, path, facts, start)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, facts: dict[str, object]) -> None:
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
            if not facts["status"]:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        text = f"request too large: the limit is {self.limit} bytes (KG_MAX_QUERY_BYTES)\n"
        await PlainTextResponse(text, status_code=413)(scope, receive, send)

    @staticmethod
    def _log(scope: Scope, method: str, path: str, facts: dict[str, object], start: float) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        client = scope.get("client")
        log.info(
            json.dumps(
                {
                    "client": client[0] if client else None,
                    "method": method,
                    "path": path,
                    "status": facts["status"],
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                    "query_ms": facts.get("query_ms"),
                    "rows": facts.get("rows"),
                },
                # ASCII escapes keep one record per line for any line splitter
                # (str.splitlines also breaks on U+2028, U+0085, \x1c ... in paths).
                ensure_ascii=True,
            )
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the application serving the build in ``settings.dist_dir``."""
    settings = settings or load_settings()
    manifest = read_manifest(settings.dist_dir)
    registry = load_saved_queries(settings.queries_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service = QueryService(settings, str(manifest["version"]))
        await service.start()
        app.state.service = service
        flusher = asyncio.get_running_loop().create_task(_flush_access_log())
        try:
            yield
        finally:
            flusher.cancel()
            await service.close()
            for handler in log.handlers:
                handler.flush()

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

    async def healthz(request: Request) -> JSONResponse:
        workers, restarts = worker_summary(app.state.service)
        return JSONResponse(
            {
                "status": "ok",
                "version": app.state.version,
                "triples": app.state.manifest["triples"],
                "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
                "workers": workers,
                "worker_restarts": restarts,
            }
        )

    # A plain Starlette route, first in line: liveness checks need no validation or dependencies.
    app.router.routes.insert(0, Route("/healthz", healthz, methods=["GET"], include_in_schema=False))

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> PlainTextResponse:
        """Counters in the Prometheus text format."""
        values = app.state.service.metrics()
        lines = [f"{name} {value:g}" for name, value in sorted(values.items())]
        return PlainTextResponse("\n".join(lines) + "\n", headers={"Cache-Control": "no-store"})

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
    return app


class FastLane:
    """``GET /sparql`` straight to its handler, past the framework's router and layers.

    Same handler, same answers; taken only when no other layer has work to do: no ``Origin``
    (CORS) and no ``Accept-Encoding`` (gzip). Everything else goes through the full app.
    """

    def __init__(self, app: FastAPI):
        self.app = app
        from .routes_sparql import sparql_get

        self.handler = sparql_get

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] == "/sparql"
            and not any(name in (b"origin", b"accept-encoding") for name, _ in scope["headers"])
        ):
            scope["app"] = self.app
            try:
                response = await self.handler(Request(scope, receive))
            except Exception:  # noqa: BLE001 - as the framework would: a 500, logged
                logging.getLogger("kg.web").exception("GET /sparql failed")
                response = PlainTextResponse("internal error\n", status_code=500)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def asgi_app(settings: Settings | None = None) -> ASGIApp:
    """Return what the server runs: the edge layer around the fast lane around the application."""
    app = create_app(settings)
    return Edge(FastLane(app), state=app.state, limit=app.state.settings.max_query_bytes)


async def _flush_access_log(every: float = 0.2) -> None:
    """Write buffered access-log records out a few times a second (one write, not one per request)."""
    while True:
        await asyncio.sleep(every)
        for handler in log.handlers:
            handler.flush()


def configure_logging() -> None:
    """Access log: one JSON record per line on stderr, buffered and flushed by the server every 0.2 s."""
    import logging.handlers
    import sys

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    target = logging.StreamHandler(sys.stderr)
    target.setFormatter(logging.Formatter("%(message)s"))
    log.handlers = [logging.handlers.MemoryHandler(4096, flushLevel=logging.WARNING, target=target)]
    log.setLevel(logging.INFO)
    log.propagate = False


def run(settings: Settings) -> None:
    """Serve with uvicorn on the configured host and port."""
    import uvicorn

    configure_logging()
    app = asgi_app(settings)
    print(f"Serving {settings.dist_dir} on {settings.server_url}/ (SPARQL: {settings.server_url}/sparql)", flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop=settings.loop,
        http=settings.http,
        server_header=False,
        access_log=False,
        log_level="warning",
        log_config=None,  # uvicorn's dictConfig would close the access log's handlers
    )
