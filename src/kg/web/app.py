"""FastAPI application factory and the HTTP basics every route shares.

The app never builds: it loads what ``kg build`` wrote to ``dist/``. Every query goes through
the query service (``kg.query.service``), which decides where it runs; queries of unknown cost run in
worker processes, so the event loop keeps answering other requests. The HTTP basics (headers,
ETag, access log, body limit, HEAD) are pure ASGI layers: no per-request task hand-offs.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import logging
import os
import select
import time
import zlib
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, TextIO

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..dist import read_manifest
from ..query import QueryResult, QueryService, load_saved_queries, worker_summary
from ..settings import Settings, load_settings
from . import encoding
from .common import REPLY_SLOT
from .context import AppContext

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


def _json_text(value: object) -> str:
    """A JSON string (ASCII escapes only, so one record is one line for any line splitter) or null."""
    return "null" if value is None else encode_basestring_ascii(str(value))


class AccessLog:
    """One JSON record per request, kept in memory and written out in one write every 0.2 s.

    Off until ``configure_logging`` gives it a stream (the server does; tests of the app alone
    do not). Records are formatted directly: no log record objects on the hot path.
    """

    CAPACITY = 4096  # records kept before a write is forced

    def __init__(self) -> None:
        self.stream: TextIO | None = None
        self.lines: list[str] = []

    def add(
        self, client: str | None, method: str, path: str, status: int, ms: float, query_ms: str | None,
        rows: str | None, lane: str | None = None,
    ) -> None:
        # ASCII escapes keep one record per line for any line splitter
        # (str.splitlines also breaks on U+2028, U+0085, \x1c ... in paths).
        self.lines.append(
            f'{{"client":{_json_text(client)},"method":{_json_text(method)},"path":{_json_text(path)},'
            f'"status":{int(status)},"ms":{ms:.1f},"query_ms":{_json_text(query_ms)},"rows":{_json_text(rows)},'
            f'"lane":{_json_text(lane)}}}'
        )
        if len(self.lines) >= self.CAPACITY:
            self.flush()

    def flush(self) -> None:
        if not self.lines or self.stream is None:
            return
        lines, self.lines = self.lines, []
        self.stream.flush()
        try:
            fd = self.stream.fileno()
        except (AttributeError, OSError, ValueError):  # not a file (a test's buffer): one write
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
            return
        # Whole lines in writes of at most PIPE_BUF bytes, each atomic on a pipe: the records of
        # several server processes (KG_PROCESSES) sharing one stderr never cut into each other.
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            data = line.encode("ascii") + b"\n"  # ASCII escapes only (see add)
            if chunk and size + len(data) > select.PIPE_BUF:
                os.write(fd, b"".join(chunk))
                chunk, size = [], 0
            chunk.append(data)
            size += len(data)
        if chunk:
            os.write(fd, b"".join(chunk))


ACCESS_LOG = AccessLog()


def _log(
    scope: Scope, method: str, path: str, status: int, start: float,
    query_ms: str | None = None, rows: str | None = None, lane: str | None = None,
) -> None:
    """The request's access-log record (when the log is on), timed from ``start``."""
    if ACCESS_LOG.stream is not None:
        client = scope.get("client")
        ACCESS_LOG.add(
            client[0] if client else None, method, path, status, (time.perf_counter() - start) * 1000, query_ms, rows,
            lane,
        )
_SECURITY = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
_HTML_ONLY = ((b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"))
_VARY = (b"vary", b"Accept, Accept-Language, Accept-Encoding, Origin")
_READ_CACHE = (b"cache-control", b"public, max-age=60")
_NO_STORE = (b"cache-control", b"no-store")
# CORS: any origin, no credentials; what scripts on other sites may read of our answers.
CORS_METHODS = ("GET", "POST", "HEAD", "OPTIONS")
CORS_MAX_AGE = 600
_CORS = (
    (b"access-control-allow-origin", b"*"),
    (
        b"access-control-expose-headers",
        b"ETag, X-KG-Rows, X-KG-Truncated, X-KG-Row-Limit, X-KG-Query-Ms, X-KG-Cache, X-KG-Lane",
    ),
)
KEPT_REQUESTS = 4096  # requests whose replies are kept (Edge.replies)
MAX_KEPT_QUERY_STRING = 8192  # bytes: a longer query string is answered without keeping its reply
_GZ = b'-gz"'  # the entity tag of a gzip representation: the identity one's, marked
_PATHSEND = "http.response.pathsend"  # the ASGI extension: the server sends a file by its path


class Edge:
    """The one HTTP layer around the application, pure ASGI (no task per request), for every request.

    CORS (simple requests and preflights) and compression (``kg.web.encoding``: gzip for clients
    that accept it, answers of at least ``MIN_GZIP_BYTES`` of a textual type; a body already
    encoded by its handler is passed as it is); HEAD answered like GET without a body; request
    bodies and query strings over the limit refused with 413 before they are read; security and
    caching headers; ETag on reads that answer 200 (a gzip representation's tag is marked) and
    304 on a match; liveness from pre-encoded bytes; one access-log record per request. Headers
    are edited as the raw ASGI list (lower-case names, as Starlette writes them). Which code runs
    depends on the method and path only, never on Origin or Accept-Encoding (which only choose
    the variant of a reply). /sparql goes to its own endpoint directly (``endpoints``); a GET
    whose reply was made of a cached answer is answered again with that reply, kept whole.
    """

    def __init__(self, app: ASGIApp, ctx: AppContext, health: Health, limit: int,
                 endpoints: dict[str, ASGIApp] | None = None):
        self.app = app
        self.ctx = ctx
        self.health = health
        self.limit = limit
        # Paths answered by an endpoint of their own (pure ASGI), called here with no framework layers
        # between: the SPARQL endpoint, the hottest path. Every other path goes to the application.
        self.endpoints = endpoints or {}
        middleware = getattr(app, "user_middleware", None)
        if self.endpoints and middleware:
            # a middleware added to the application would not see these paths: add it here instead
            raise TypeError(
                f"the application has middleware ({middleware}) that {', '.join(self.endpoints)} "
                "would skip: the edge layer calls those endpoints directly"
            )
        # Replies kept whole: request (path, query string, Accept, Accept-Language) → the answer-cache
        # key of the answer it was made of. The reply itself (one per variant: compressed or not,
        # CORS or not) is kept with that answer (``QueryResult.views``), so the answer cache's byte
        # budget bounds it and an answer dropped from the cache takes its replies with it.
        self.replies: OrderedDict[tuple, tuple] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        headers = dict(scope["headers"])
        origin = b"origin" in headers
        if method == "OPTIONS" and origin and b"access-control-request-method" in headers:
            status = await self._preflight(headers, send)
            _log(scope, method, path, status, start)
            return
        head = method == "HEAD"
        if head:
            scope = dict(scope, method="GET")
        # HEAD answers with the identity headers: compressing a whole dump only to drop it is waste.
        gzip_ok = not head and encoding.accepts_gzip(headers.get(b"accept-encoding"))
        if (head or gzip_ok) and _PATHSEND in scope.get("extensions", ()):
            # A server that sends files itself (granian) is asked to only when the body passes through
            # unchanged: a HEAD drops it, gzip compresses it here (Starlette then sends the file's parts).
            scope = dict(scope, extensions={k: v for k, v in scope["extensions"].items() if k != _PATHSEND})
        is_read = method in ("GET", "HEAD") and not path.startswith(("/static/", "/healthz", "/metrics"))
        version = self.ctx.version
        facts: list = [0, None, None, None]  # status, query ms, rows, lane
        stream: zlib._Compress | None = None  # set while this response is being compressed
        pending: Message | None = None  # a response start held until its first body part

        async def send_wrapped(message: Message) -> None:
            nonlocal stream, pending
            if message["type"] == "http.response.start":
                status = facts[0] = message["status"]
                raw = [(name, value) for name, value in message.get("headers", ()) if name != b"vary"]
                names = {name for name, _ in raw}
                if is_read and status == 200 and b"etag" not in names:
                    raw.append((b"etag", etag_for(scope, headers, version).encode()))
                content_type = b""
                for name, value in raw:
                    if name == b"content-type":
                        content_type = value
                    elif name == b"x-kg-query-ms":
                        facts[1] = value.decode("latin-1")
                    elif name == b"x-kg-rows":
                        facts[2] = value.decode("latin-1")
                    elif name == b"x-kg-lane":
                        facts[3] = value.decode("latin-1")
                added = list(_SECURITY)
                if content_type.startswith(b"text/html"):
                    added += _HTML_ONLY
                added.append(_READ_CACHE if is_read else _NO_STORE)
                if origin:
                    added += _CORS
                raw += [pair for pair in added if pair[0] not in names]
                raw.append(_VARY)
                coded = b"content-encoding" in names
                if gzip_ok and status == 200 and not coded:
                    length = next((v for n, v in raw if n == b"content-length"), None)
                    if encoding.pays(content_type, int(length) if length and length.isdigit() else None):
                        stream = encoding.compressor()
                        coded = True
                        raw = [(n, v) for n, v in raw if n != b"content-length"] + [(b"content-encoding", b"gzip")]
                if coded and gzip_ok:
                    raw = [(n, v[:-1] + _GZ if n == b"etag" and v.endswith(b'"') else v) for n, v in raw]
                message = {**message, "headers": raw}
                if stream is not None:
                    pending = message  # sent with the first body part (its length is known then)
                    return
            elif message["type"] == "http.response.body":
                if stream is not None:
                    more = message.get("more_body", False)
                    body = stream.compress(message.get("body", b""))
                    if not more:
                        body += stream.flush()
                    if pending is not None:
                        start_message, pending = pending, None
                        if not more:  # the whole answer at once: say its length
                            start_message["headers"].append((b"content-length", str(len(body)).encode()))
                        await send(start_message)
                    message = {"type": "http.response.body", "body": body, "more_body": more}
                if head:
                    if message.get("more_body", False):
                        return
                    message = {"type": "http.response.body", "body": b"", "more_body": False}
            if kept_as is not None:
                sent.append(message)
            await send(message)

        # A GET whose reply may be kept: the request that identifies it, and where the handler says
        # which kept answer it was made of (kg.web.common.result_response).
        kept_as: tuple | None = None
        slot: list[QueryResult] = []
        if method == "GET" and len(scope.get("query_string", b"")) <= MAX_KEPT_QUERY_STRING:
            kept_as = (path, scope.get("query_string", b""), headers.get(b"accept"), headers.get(b"accept-language"))
            scope = {**scope, REPLY_SLOT: slot}
        variant = (gzip_ok, origin)
        sent: list[Message] = []  # the response as sent, when it may be kept

        if gzip_ok and b"if-none-match" in headers:  # handlers compare their own (identity) tags
            headers[b"if-none-match"] = headers[b"if-none-match"].replace(_GZ, b'"')
            scope = dict(scope, headers=[(n, v) for n, v in scope["headers"] if n != b"if-none-match"]
                         + [(b"if-none-match", headers[b"if-none-match"])])
        length = headers.get(b"content-length")
        try:
            if len(scope.get("query_string", b"")) > self.limit or (
                length and length.isdigit() and int(length) > self.limit
            ):
                await self._too_large(scope, receive, send_wrapped)
            elif path == "/healthz" and method in ("GET", "HEAD"):
                start_message, body = self.health.current()
                await send_wrapped({**start_message, "headers": list(start_message["headers"])})
                await send_wrapped({"type": "http.response.body", "body": body})
            elif is_read and b"if-none-match" in headers and (etag := self._matching(scope, headers, version)):
                await Response(status_code=304, headers={"ETag": etag})(scope, receive, send_wrapped)
            elif kept_as is not None and (reply := self._kept(kept_as, variant)) is not None:
                kept_headers, kept_body, facts[:] = reply
                await send({"type": "http.response.start", "status": 200, "headers": kept_headers})
                await send({"type": "http.response.body", "body": kept_body})
            else:
                await self._dispatch(scope, receive, send_wrapped, facts)
                if slot and facts[0] == 200 and len(sent) == 2 and kept_as is not None:
                    self._keep(kept_as, variant, slot[-1], sent, facts)
        finally:
            _log(scope, method, path, facts[0], start, facts[1], facts[2], facts[3])

    def _kept(self, request: tuple, variant: tuple[bool, bool]) -> tuple[list, bytes, list] | None:
        """The reply kept for this request and variant, while its answer is in the answer cache."""
        key = self.replies.get(request)
        if key is None:
            return None
        answer = self.ctx.service.cache.get(key)  # counted as the cache hit it is
        if answer is None:  # the answer left the cache: so do its replies
            del self.replies[request]
            return None
        reply = answer.views.get(variant)
        if reply is None:
            return None
        self.ctx.kept_replies_sent += 1
        return reply  # type: ignore[return-value]  # what _keep put there

    def _keep(self, request: tuple, variant: tuple[bool, bool], answer: QueryResult, sent: list[Message],
              facts: list) -> None:
        """Keep a reply made of a kept answer: its final headers and body, and its access-log facts."""
        start, body = sent
        if body.get("more_body", False) or start["type"] != "http.response.start":
            return
        answer.views[variant] = (start["headers"], body.get("body", b""), list(facts))
        self.replies[request] = answer.key  # type: ignore[assignment]  # set on every kept answer
        self.replies.move_to_end(request)
        if len(self.replies) > KEPT_REQUESTS:
            self.replies.popitem(last=False)

    @staticmethod
    async def _preflight(headers: dict[bytes, bytes], send: Send) -> int:
        """Answer a CORS preflight: any origin, our methods, whatever headers the page asks to send."""
        asked = headers[b"access-control-request-method"].decode("latin-1").strip().upper()
        if asked not in CORS_METHODS:
            body, status = f"Disallowed CORS method {asked!r}\n".encode(), 400
        else:
            body, status = b"OK", 200
        raw = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"access-control-allow-origin", b"*"),
            (b"access-control-allow-methods", ", ".join(CORS_METHODS).encode()),
            (b"access-control-max-age", str(CORS_MAX_AGE).encode()),
            *_SECURITY,
            _NO_STORE,
            _VARY,
        ]
        if b"access-control-request-headers" in headers:
            raw.append((b"access-control-allow-headers", headers[b"access-control-request-headers"]))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
        return status

    @staticmethod
    def _matching(scope: Scope, headers: dict[bytes, bytes], version: str) -> str | None:
        """The read's ETag when If-None-Match names it, else None."""
        etag = etag_for(scope, headers, version)
        return etag if etag.encode() in [t.strip() for t in headers[b"if-none-match"].split(b",")] else None

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send, facts: list) -> None:
        """The path's own endpoint (with the application in its scope, as the router would give it)
        or the application; request bodies counted against the limit as they are read."""
        endpoint = self.endpoints.get(scope["path"])
        if endpoint is None:
            app = self.app
        else:
            app = endpoint
            scope = {**scope, "app": self.app}
        if scope["method"] in ("POST", "PUT", "PATCH"):
            receive = self._limited_receive(receive)
        try:
            await app(scope, receive, send)
        except _TooLarge:
            if not facts[0]:
                await self._too_large(scope, receive, send)
        except Exception:
            # what the application's own error layer does for its routes: a plain 500, then raised
            # for the server to log
            if endpoint is not None and not facts[0]:
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise

    def _limited_receive(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise _TooLarge()
            return message

        return limited_receive

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        text = f"request too large: the limit is {self.limit} bytes (KG_MAX_QUERY_BYTES)\n"
        await PlainTextResponse(text, status_code=413)(scope, receive, send)


class Health:
    """Liveness, pre-encoded: status, dataset version and size, event loop, HTTP server, live workers, restarts.

    The answer changes only when a worker dies or is replaced, so its bytes (body and headers)
    are rebuilt only then; a liveness check costs a comparison of two counts. The edge layer
    answers it directly; the application route (taken when CORS or gzip has work) serves the
    same body.
    """

    def __init__(self, ctx: AppContext, server: str | None = None):
        self.ctx = ctx
        self.server = server  # uvicorn or granian (None: the application alone, no server)
        self.key: tuple[int, int] | None = None
        self.body = b""
        self.start: Message = {}

    def current(self) -> tuple[Message, bytes]:
        key = worker_summary(self.ctx.service)
        if key != self.key:
            workers, restarts = key
            ctx = self.ctx
            self.body = json.dumps(
                {
                    "status": "ok",
                    "version": ctx.version,
                    "triples": ctx.manifest["triples"],
                    "loop": type(asyncio.get_running_loop()).__module__.split(".")[0],
                    "server": self.server,
                    "process": os.getpid(),  # which server process answered (KG_PROCESSES)
                    "workers": workers,
                    "worker_restarts": restarts,
                },
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode("utf-8")
            headers = [
                (b"content-length", str(len(self.body)).encode()),
                (b"content-type", b"application/json"),
                *_SECURITY,
                _NO_STORE,
                _VARY,
            ]
            self.start = {"type": "http.response.start", "status": 200, "headers": headers}
            self.key = key
        return self.start, self.body

    def response(self) -> Response:
        """The same answer as a response object (for the application's own route)."""
        return Response(self.current()[1], media_type="application/json")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Return the application serving the build in ``settings.dist_dir``."""
    return _application(settings, None)[0]


def _application(settings: Settings | None, server: str | None) -> tuple[FastAPI, AppContext, Health]:
    """The application, its application object, and its liveness answer (shared with the edge layer)."""
    settings = settings or load_settings()
    registry = load_saved_queries(settings.queries_dir)
    ctx = AppContext(settings, read_manifest(settings.dist_dir), registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = QueryService(settings, ctx.version, registry=ctx.registry)
        await service.start()
        ctx.start_service(service)
        # What start-up made lives as long as the server: out of the collector's sight, so a full
        # collection (which a stream of new query texts filling the answer cache brings) does not
        # walk it again (in process, 20,000 new lookups: the longest pause 54 → 22 ms)
        gc.freeze()
        flusher = asyncio.get_running_loop().create_task(_flush_access_log())
        try:
            yield
        finally:
            flusher.cancel()
            await service.close()
            ACCESS_LOG.flush()

    app = FastAPI(
        title="Tokyo SME Policy Knowledge Graph",
        version=__version__,
        description=(
            "SPARQL endpoint, saved queries and linked data about small-business policy in Tokyo. "
            "Read-only; every query has a time limit and a row limit."
        ),
        lifespan=lifespan,
        # FastAPI's native OpenTelemetry asks the global providers on every request; the server has
        # its own access log and /metrics, so it is off (a few microseconds per request).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx  # the one application object (kg.web.context); routers read it with context(request)
    health = Health(ctx, server)

    from .routes_dumps import router as dumps_router
    from .routes_pages import router as pages_router
    from .routes_queries import add_saved_query_routes
    from .routes_resources import router as resources_router
    from .routes_sparql import ROUTES as SPARQL_ROUTES
    from .routes_sparql import router as sparql_description

    described = [*sparql_description.routes]  # documented in the schema, served by SPARQL_ROUTES
    add_saved_query_routes(app, registry)
    app.include_router(dumps_router)
    app.include_router(resources_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    async def healthz(request: Request) -> Response:
        return health.response()

    # Plain Starlette routes, first in line: liveness checks and SPARQL read their requests themselves.
    app.router.routes[0:0] = [Route("/healthz", healthz, methods=["GET"], include_in_schema=False), *SPARQL_ROUTES]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=[*described, *app.routes]
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> PlainTextResponse:
        """Counters in the Prometheus text format."""
        values = {**ctx.service.metrics(), "kg_gzip_compressions_total": encoding.COUNTER.compressions,
                  "kg_kept_replies_sent_total": ctx.kept_replies_sent}
        lines = [f"{name} {value:g}" for name, value in sorted(values.items())]
        return PlainTextResponse("\n".join(lines) + "\n", headers={"Cache-Control": "no-store"})

    return app, ctx, health


def asgi_app(settings: Settings | None = None, server: str | None = None) -> ASGIApp:
    """Return what the server runs: the edge layer around the application (``server``: the HTTP
    server that runs it, which /healthz reports)."""
    app, ctx, health = _application(settings, server)
    from .routes_sparql import ENDPOINT

    return Edge(app, ctx, health, limit=ctx.settings.max_query_bytes, endpoints={"/sparql": ENDPOINT})


async def _flush_access_log(every: float = 0.2) -> None:
    """Write buffered access-log records out a few times a second (one write, not one per request)."""
    while True:
        await asyncio.sleep(every)
        ACCESS_LOG.flush()


def configure_logging() -> None:
    """Access log: one JSON record per line on stderr, buffered and flushed by the server every 0.2 s."""
    import sys

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ACCESS_LOG.stream = sys.stderr


SERVERS = ("uvicorn", "granian")


class ServerUnavailable(ValueError):
    """KG_SERVER names no server we run, or one that is not installed."""


def run(settings: Settings) -> None:
    """Serve on the configured host and port, in this one process, with uvicorn or granian (KG_SERVER)."""
    if settings.processes < 1:
        raise ServerUnavailable(f"KG_PROCESSES={settings.processes}: expected 1 or more server processes")
    if settings.server not in SERVERS:
        raise ServerUnavailable(f"KG_SERVER={settings.server!r}: expected one of {', '.join(SERVERS)}")
    if settings.server == "granian":
        try:
            import granian  # noqa: F401 - only whether it is installed
        except ImportError:
            raise ServerUnavailable(
                "KG_SERVER=granian needs granian: pip install 'tokyo-sme-kg[granian]'"
            ) from None
    configure_logging()
    print(f"Serving {settings.dist_dir} on {settings.server_url}/ (SPARQL: {settings.server_url}/sparql)"
          + (f" with {settings.processes} processes" if settings.processes > 1 else ""), flush=True)
    if settings.processes > 1:
        _run_processes(settings)
        return
    app = asgi_app(settings, server=settings.server)
    if settings.server == "granian":
        _run_granian(app, settings)
        return
    import uvicorn

    uvicorn.run(app, **_uvicorn_options(settings))


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves us, in one process or several."""
    return {
        "host": settings.host,
        "port": settings.port,
        "loop": settings.loop,
        "http": settings.http,
        "server_header": False,
        "access_log": False,  # ours (ACCESS_LOG) logs every request
        "log_level": "warning",
        "log_config": None,  # keep our logging set-up (uvicorn would replace it)
    }


def _granian_options(settings: Settings) -> dict[str, Any]:
    """How granian serves us, embedded in this process or as several."""
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LogLevels

    return {
        "address": settings.host,
        "port": settings.port,
        "interface": Interfaces.ASGI,  # with the lifespan protocol
        "http": HTTPModes.http1,  # what uvicorn speaks; no h2c
        "websockets": False,
        "backlog": 2048,  # uvicorn's
        "log_level": LogLevels.error,  # not its "embedded server is experimental" notice on every start
        "log_access": False,  # ours (ACCESS_LOG) logs every request
    }


def process_settings(settings: Settings) -> Settings:
    """The settings of one of ``settings.processes`` server processes: the query workers shared out
    (each process at least one of each kind it has), so the processes together run about as many."""
    share = settings.processes
    return settings.with_overrides(
        workers=max(1, -(-settings.workers // share)),
        own_workers=max(1, -(-settings.own_workers // share)) if settings.own_workers else 0,
    )


def served_app() -> ASGIApp:
    """The application of one server process of several (the factory the HTTP server's workers call):
    its settings from the environment that ``_run_processes`` set."""
    settings = load_settings()
    configure_logging()
    return asgi_app(settings, server=settings.server)


def _run_processes(settings: Settings) -> None:
    """Serve with ``settings.processes`` processes on one listening socket, started, watched and
    replaced when they die by the HTTP server's own process manager (uvicorn's or granian's
    workers); each runs ``served_app`` with ``process_settings``, handed over in the environment."""
    from ..settings import settings_env

    os.environ.update(settings_env(process_settings(settings)))
    target = f"{__name__}:served_app"
    if settings.server == "granian":
        from granian.constants import Loops
        from granian.server import Server

        Server(target, workers=settings.processes, factory=True, loop=Loops(settings.loop),
               respawn_failed_workers=True, **_granian_options(settings)).serve()
        return
    import uvicorn

    uvicorn.run(target, factory=True, workers=settings.processes, **_uvicorn_options(settings))


def _new_loop(name: str) -> asyncio.AbstractEventLoop:
    """The event loop KG_LOOP names: uvloop, asyncio, or auto (uvloop when installed), as uvicorn chooses."""
    if name not in ("auto", "uvloop", "asyncio"):
        raise ServerUnavailable(f"KG_LOOP={name!r}: expected auto, uvloop or asyncio")
    if name != "asyncio":
        try:
            import uvloop
        except ImportError:
            if name == "uvloop":
                raise
        else:
            return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _run_granian(app: ASGIApp, settings: Settings) -> None:
    """Serve with granian's embedded server: its Rust HTTP/1.1 layer calls the application on our own
    event loop in this process (one process, as under uvicorn: the query workers are its children).

    The ASGI lifespan starts and stops the query service; SIGTERM and SIGINT stop the server
    gracefully (granian stops its listener, then the lifespan's shutdown stops the workers).
    """
    import signal

    from granian.server.embed import Server

    loop = _new_loop(settings.loop)
    asyncio.set_event_loop(loop)
    server = Server(app, **_granian_options(settings))
    configure_logging()  # granian's dictConfig replaced the root handlers' set-up
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, server.stop)
    try:
        loop.run_until_complete(server.serve())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
