"""SPARQL 1.1 Protocol at /sparql: GET, POST form and POST sparql-query; service description."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..namespaces import GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY, SD, rebase
from ..query import QueryError, QuerySyntaxError
from . import pages
from .common import ERRORS, error_response, execute, result_response
from .context import context
from .negotiation import choose_rdf, prefers_html, requested_types

# The OpenAPI description of /sparql. The router is not mounted: the endpoints are served by the
# plain routes in ``ROUTES`` (first in the application's table), which call them directly, with no
# per-request dependency solving or validation layer on the hottest route.
router = APIRouter(tags=["SPARQL"], responses=ERRORS)
FORMATS_NS = "http://www.w3.org/ns/formats/"


def service_description(request: Request) -> Graph:
    """Return the SPARQL service description (sd:) of this endpoint."""
    settings = context(request).settings
    endpoint = URIRef(f"{settings.server_url}/sparql")
    service = URIRef(f"{endpoint}#service")
    dataset = URIRef(f"{endpoint}#dataset")
    g = Graph()
    g.bind("sd", SD)
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, endpoint))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    g.add((service, DCTERMS.title, Literal("Tokyo SME Policy Knowledge Graph SPARQL endpoint", lang="en")))
    for fmt in (
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N3",
        "N-Triples",
        "JSON-LD",
        "RDF_XML",
        "TriG",
    ):
        g.add((service, SD.resultFormat, URIRef(FORMATS_NS + fmt)))
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    default_graph = URIRef(f"{endpoint}#default-graph")
    g.add((dataset, SD.defaultGraph, default_graph))
    g.add((default_graph, RDF.type, SD.Graph))
    g.add((default_graph, DCTERMS.description, Literal("union of the ontology, data and inferred graphs", lang="en")))
    for name in (GRAPH_ONTOLOGY, GRAPH_DATA, GRAPH_INFERRED):
        iri = URIRef(rebase(str(name), settings.base_iri))
        g.add((dataset, SD.namedGraph, iri))
        g.add((iri, RDF.type, SD.NamedGraph))
        g.add((iri, SD.name, iri))
    return g


READ_ONLY = "this endpoint is read-only: SPARQL Update is not accepted\n"
def _one(values: list[str], name: str) -> str | None | Response:
    """Return the single value of a parameter, None when absent, or a 400 when repeated."""
    if len(values) > 1:
        return PlainTextResponse(
            f"the {name!r} parameter is given {len(values)} times; send exactly one\n", status_code=400
        )
    return values[0] if values else None


async def _answer(
    request: Request,
    query: str | None,
    update: str | None,
    fmt: list[str],
    default_graphs: list[str],
    named_graphs: list[str],
) -> Response:
    types = requested_types(request.headers.get("accept"), fmt)
    if update is not None:
        return PlainTextResponse(READ_ONLY, status_code=403)
    if query is None or not query.strip():
        if prefers_html(types):
            return await pages.query_page(request)
        media = choose_rdf(types)
        if media is None:
            return PlainTextResponse("service description is available as RDF only\n", status_code=406)
        body = service_description(request).serialize(
            format={
                "text/turtle": "turtle",
                "application/n-triples": "nt",
                "application/ld+json": "json-ld",
                "application/rdf+xml": "xml",
                "application/trig": "trig",
            }[media]
        )
        return Response(body, media_type=f"{media}; charset=utf-8")
    if prefers_html(types):
        from urllib.parse import urlencode

        return Response(status_code=303, headers={"Location": "/?" + urlencode({"query": query})})
    try:
        result = await execute(
            request,
            query,
            types,
            default_graphs=default_graphs,
            named_graphs=named_graphs,
            base_iri=f"{context(request).settings.server_url}/sparql",  # the service-defined base IRI
        )
    except QueryError as exc:
        if isinstance(exc, QuerySyntaxError):
            exc = QuerySyntaxError(f"SPARQL syntax error: {exc}")
        return error_response(exc)
    return result_response(result, request)


def _parameter(name: str, description: str, many: bool = False) -> dict[str, object]:
    schema: dict[str, object] = {"type": "string"}
    if many:
        schema = {"type": "array", "items": {"type": "string"}}
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


# The GET handler reads its parameters itself (no per-request validation layer on the hottest
# route); they are declared here for the OpenAPI description.
GET_PARAMETERS = [
    _parameter("query", "SPARQL 1.1 query"),
    _parameter("default-graph-uri", "Default graph(s) of the query's dataset", many=True),
    _parameter("named-graph-uri", "Named graph(s) of the query's dataset", many=True),
    _parameter(
        "format",
        "Override Accept: json, xml, csv, tsv, turtle, n3, nt, jsonld, rdfxml, trig, or media types; repeatable;"
        " values not known here are ignored (Accept decides)",
        many=True,
    ),
]


@router.get(
    "/sparql",
    summary="SPARQL query (GET)",
    response_class=Response,
    responses={200: {"description": "Results in the negotiated format"}},
    openapi_extra={"parameters": GET_PARAMETERS},
)
async def sparql_get(request: Request) -> Response:
    params = request.query_params
    if "update" in params:
        return PlainTextResponse("SPARQL Update is never sent by GET; and " + READ_ONLY, status_code=403)
    one = _one(params.getlist("query"), "query")
    if isinstance(one, Response):
        return one
    return await _answer(
        request,
        one,
        None,
        params.getlist("format"),
        params.getlist("default-graph-uri"),
        params.getlist("named-graph-uri"),
    )


def _charset(content_type: str) -> str | None:
    """Return the charset parameter of a Content-Type header, lower-cased, or None."""
    for field in content_type.split(";")[1:]:
        name, _, value = field.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


@router.post("/sparql", summary="SPARQL query (POST form or application/sparql-query)", response_class=Response)
async def sparql_post(request: Request) -> Response:
    header = request.headers.get("content-type", "")
    ctype = header.split(";")[0].strip().lower()
    params = request.query_params
    default_graphs = params.getlist("default-graph-uri")
    named_graphs = params.getlist("named-graph-uri")
    fmt = params.getlist("format")
    if "query" in params or "update" in params:
        return PlainTextResponse(
            "with POST the query (or update) goes in the request body, not in the URL\n", status_code=400
        )
    charset = _charset(header)
    if charset not in (None, "utf-8", "utf8"):
        return PlainTextResponse(f"the request body must be UTF-8, not {charset}\n", status_code=415)
    if ctype == "application/x-www-form-urlencoded":
        # Read as the URL-encoded form it is (one C-level split and unquote), not through the
        # multipart machinery: this is what the query page and SPARQLWrapper's POSTs send.
        try:
            pairs = parse_qsl((await request.body()).decode("latin-1"), keep_blank_values=True,
                              encoding="utf-8", errors="strict")
        except UnicodeDecodeError as exc:
            return PlainTextResponse(f"the form is not UTF-8 (byte {exc.start} of a value)\n", status_code=400)
        form: dict[str, list[str]] = {}
        for name, value in pairs:
            form.setdefault(name, []).append(value)
        if form.get("update"):
            return PlainTextResponse(READ_ONLY, status_code=403)
        one = _one(form.get("query", []), "query")
        if isinstance(one, Response):
            return one
        default_graphs += form.get("default-graph-uri", [])
        named_graphs += form.get("named-graph-uri", [])
        fmt = form.get("format", []) or fmt
        return await _answer(request, one, None, fmt, default_graphs, named_graphs)
    if ctype == "application/sparql-query":
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return PlainTextResponse(f"the query body is not UTF-8 (byte {exc.start})\n", status_code=400)
        if "\x00" in text:
            return PlainTextResponse("the query body contains NUL characters (not UTF-8 text?)\n", status_code=400)
        if not text.strip():
            return PlainTextResponse("the request body is empty: send the SPARQL query\n", status_code=400)
        return await _answer(request, text, None, fmt, default_graphs, named_graphs)
    if ctype == "application/sparql-update":
        return PlainTextResponse(READ_ONLY, status_code=403)
    return PlainTextResponse(
        f"POST needs Content-Type application/x-www-form-urlencoded or application/sparql-query, "
        f"not {ctype or 'none'}\n",
        status_code=415,
    )


METHODS = "GET, HEAD, POST, OPTIONS"


class Endpoint:
    """The SPARQL endpoint as one ASGI application: the edge layer (``kg.web.app.Edge``) calls it
    for every request to /sparql, with no framework layers between (the application's router has
    the same object, for the application used without the edge layer). ``scope["app"]`` is the
    application (``context`` reads the application object from it)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _endpoint(scope, receive, send)


async def _endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    method = scope["method"]
    if method == "GET":
        response = await sparql_get(request)
    elif method == "POST":
        response = await sparql_post(request)
    elif method == "OPTIONS":  # not a CORS preflight (the edge layer answers those): what is allowed here
        response = Response(status_code=204, headers={"Allow": METHODS})
    else:
        response = PlainTextResponse(
            f"method {method} is not allowed on /sparql (allowed: {METHODS})\n", status_code=405,
            headers={"Allow": METHODS},
        )
    await response(scope, receive, send)


ENDPOINT = Endpoint()
ROUTES = [Route("/sparql", ENDPOINT)]
