"""What the routers share: running a query through the engine, and turning results into responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.templating import Jinja2Templates
from rdflib import Graph

from ..namespaces import DEFAULT_BASE
from ..query import Kind, QueryError, QueryRequest, QueryResult, check_query
from . import encoding
from .context import context

HERE = Path(__file__).parent


RDF_OR_HTML: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "RDF in the negotiated syntax, or an HTML page for browsers",
        "content": {
            t: {}
            for t in (
                "text/turtle",
                "application/n-triples",
                "application/ld+json",
                "application/rdf+xml",
                "application/trig",
                "text/html",
            )
        },
    }
}
JSON_OR_HTML: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON, or an HTML page for browsers", "content": {"application/json": {}, "text/html": {}}}
}
FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file",
        "content": {t: {} for t in ("text/turtle", "application/n-triples", "application/ld+json", "application/trig")},
    }
}


def _text(description: str) -> dict[str, object]:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


# Error responses every operation may give, documented in the OpenAPI description.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _text("Bad request: SPARQL syntax error (with the parser's message and position) or a bad parameter"),
    403: _text("Refused: update, SERVICE, or a graph outside the dataset"),
    404: _text("No such resource"),
    406: _text("None of the acceptable media types is available"),
    413: _text("Request larger than KG_MAX_QUERY_BYTES"),
    415: _text("Unsupported request content type"),
    429: _text("Too many queries from this client or in total (see Retry-After)"),
    503: _text("Stopped at the time limit, or no query worker available (see Retry-After)"),
}
templates = Jinja2Templates(directory=str(HERE / "templates"))


async def execute(
    request: Request,
    query: str,
    accept: list[str],
    *,
    bindings: dict | None = None,
    default_graphs: list[str] | None = None,
    named_graphs: list[str] | None = None,
    max_rows: int | None = None,
    kind: Kind = Kind.SPARQL,
    base_iri: str | None = None,
) -> QueryResult:
    """Run ``query`` through the query service with the configured limits.

    ``kind`` says whose query it is (anyone's text, a saved query, an entity page); the
    service's placement decides where it runs. The result's
    ``cache`` says whether the answer cache served it.
    """
    settings = context(request).settings
    req = QueryRequest(
        query=query,
        accept=accept,
        bindings=bindings or {},
        default_graphs=default_graphs or [],
        named_graphs=named_graphs or [],
        max_rows=max_rows or settings.max_rows,
        base_iri=base_iri,
    )
    client = request.client.host if request.client else "?"
    return await context(request).service.run(req, kind, client, check=check_query)


_TEXTUAL = ("+json", "+xml", "json", "xml", "trig", "n-triples")
# The scope entry where the edge layer (kg.web.app.Edge) learns that a reply was made of a kept
# answer (a list it gives, where result_response puts the answer): it may then keep the whole reply.
REPLY_SLOT = "kg.reply"


def result_response(result: QueryResult, request: Request, filename: str | None = None) -> Response:
    """Return the HTTP response for a serialized result, with the limit headers.

    Compressed here by the edge layer's policy (``kg.web.encoding``) when the client accepts it,
    once per answer: the compressed bytes are kept with the cached answer and served to every hit.
    """
    settings = context(request).settings
    slot = request.scope.get(REPLY_SLOT)
    if slot is not None and result.key is not None:  # a kept answer: the edge layer may keep this reply
        slot.append(result)
    media = result.media_type
    if media.startswith("text/") or media.endswith(_TEXTUAL):
        media += "; charset=utf-8"
    body = result.body
    coding: list[tuple[bytes, bytes]] = []
    if encoding.pays(media.encode(), len(body)) and encoding.accepts_gzip(
        request.headers.get("accept-encoding", "").encode("latin-1")
    ):
        gz = result.encoded.get("gzip")
        if gz is None:
            gz = result.encoded["gzip"] = encoding.gzip_bytes(body)
        body = gz
        coding.append((b"content-encoding", b"gzip"))
    headers = [
        *coding,
        (b"content-length", str(len(body)).encode()),
        (b"content-type", media.encode()),
        (b"x-kg-rows", str(result.rows).encode()),
        (b"x-kg-truncated", b"true" if result.truncated else b"false"),
        (b"x-kg-row-limit", str(settings.max_rows).encode()),
        (b"x-kg-query-ms", f"{result.seconds * 1000:.1f}".encode()),
    ]
    if result.truncated:
        headers.append((b"warning", f'199 - "result cut at the row limit of {settings.max_rows}"'.encode()))
    if result.cache:
        headers.append((b"x-kg-cache", result.cache.encode()))
    if result.where:  # the lane that computed the answer (placement.Lane)
        headers.append((b"x-kg-lane", result.where.encode()))
    if filename:
        headers.append((b"content-disposition", f'attachment; filename="{filename}"'.encode()))
    return _Prepared(body, headers)


class _Prepared(Response):
    """A 200 response whose raw headers are already written (no header parsing per answer)."""

    def __init__(self, body: bytes, raw_headers: list[tuple[bytes, bytes]]):
        self.status_code = 200
        self.body = body
        self.background = None
        self.raw_headers = raw_headers


RDFLIB_FORMAT = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/trig": "trig",
}


def graph_response(g: Graph, media: str) -> Response:
    """Serialize a graph in a negotiated RDF media type."""
    return Response(g.serialize(format=RDFLIB_FORMAT[media]), media_type=f"{media}; charset=utf-8")


def error_response(exc: QueryError) -> Response:
    """Return a plain-text error with the status the error carries."""
    headers = {"Retry-After": "1" if exc.status == 429 else "5"} if exc.status in (429, 503) else {}
    return PlainTextResponse(f"{type(exc).__name__}: {exc}\n", status_code=exc.status, headers=headers)


def local_path(iri: str, base: str) -> str | None:
    """Return the server path of an IRI under the base (for links), else None."""
    for prefix in {base, DEFAULT_BASE}:
        if iri.startswith(prefix):
            return "/" + iri[len(prefix) :]
    return None


def page_key(request: Request, lang: str) -> tuple:
    """What identifies a rendered page: the dataset version, the full URL (its links to the other
    language are made from it) and the page language (from ``?lang`` or ``Accept-Language``)."""
    return (context(request).version, "page", str(request.url), lang)


def kept_page(request: Request, key: tuple) -> Response | None:
    """The page as rendered before for ``key`` (kept per dataset version, bounded in bytes), or None."""
    item = context(request).rendered.get(key)
    return None if item is None else HTMLResponse(item.body)


def keep_page(request: Request, key: tuple, response: Response) -> Response:
    """Keep a rendered page (200 only): a warm visit is then answered without rendering it again."""
    if response.status_code == 200:
        context(request).rendered.put(key, QueryResult("page", "text/html", bytes(response.body), 0, False, 0.0))
    return response
