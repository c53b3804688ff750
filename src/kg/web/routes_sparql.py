"""SPARQL 1.1 Protocol at /sparql: GET, POST form and POST sparql-query; service description."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF

from ..namespaces import GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY, SD, rebase
from ..query_types import QueryError, QuerySyntaxError
from .common import ERRORS, error_response, execute, result_response
from .negotiation import UnknownFormat, choose_rdf, prefers_html, requested_types

router = APIRouter(tags=["SPARQL"], responses=ERRORS)
FORMATS_NS = "http://www.w3.org/ns/formats/"


def service_description(request: Request) -> Graph:
    """Return the SPARQL service description (sd:) of this endpoint."""
    settings = request.app.state.settings
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


async def _answer(
    request: Request,
    query: str | None,
    update: str | None,
    fmt: str | None,
    default_graphs: list[str],
    named_graphs: list[str],
) -> Response:
    try:
        types = requested_types(request.headers.get("accept"), fmt)
    except UnknownFormat as exc:
        return PlainTextResponse(f"{exc}\n", status_code=406)
    if update is not None:
        return PlainTextResponse("this endpoint is read-only: SPARQL Update is not accepted\n", status_code=403)
    if query is None or not query.strip():
        if prefers_html(types):
            from .routes_pages import query_page

            return await query_page(request)
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
        result = await execute(request, query, types, default_graphs=default_graphs, named_graphs=named_graphs)
    except QueryError as exc:
        if isinstance(exc, QuerySyntaxError):
            exc = QuerySyntaxError(f"SPARQL syntax error: {exc}")
        return error_response(exc)
    return result_response(result, request)


@router.get(
    "/sparql",
    summary="SPARQL query (GET)",
    response_class=Response,
    responses={200: {"description": "Results in the negotiated format"}},
)
async def sparql_get(
    request: Request,
    query: str | None = Query(None, description="SPARQL 1.1 query"),
    default_graph_uri: list[str] = Query([], alias="default-graph-uri"),
    named_graph_uri: list[str] = Query([], alias="named-graph-uri"),
    format: str | None = Query(
        None, description="Override Accept: json, xml, csv, tsv, turtle, nt, jsonld, rdfxml, trig"
    ),
    update: str | None = Query(None, include_in_schema=False),
) -> Response:
    return await _answer(request, query, update, format, default_graph_uri, named_graph_uri)


@router.post("/sparql", summary="SPARQL query (POST form or application/sparql-query)", response_class=Response)
async def sparql_post(request: Request) -> Response:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    params = request.query_params
    default_graphs = params.getlist("default-graph-uri")
    named_graphs = params.getlist("named-graph-uri")
    fmt = params.get("format")
    if ctype == "application/x-www-form-urlencoded":
        form = await request.form()
        query = form.get("query")
        update = form.get("update")
        default_graphs += [str(v) for v in form.getlist("default-graph-uri")]
        named_graphs += [str(v) for v in form.getlist("named-graph-uri")]
        fmt = form.get("format") or fmt
        return await _answer(
            request,
            None if query is None else str(query),
            None if update is None else str(update),
            None if fmt is None else str(fmt),
            default_graphs,
            named_graphs,
        )
    if ctype == "application/sparql-query":
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return PlainTextResponse("the query body is not UTF-8\n", status_code=400)
        return await _answer(request, text, None, fmt, default_graphs, named_graphs)
    if ctype == "application/sparql-update":
        return PlainTextResponse("this endpoint is read-only: SPARQL Update is not accepted\n", status_code=403)
    return PlainTextResponse(
        "POST needs Content-Type application/x-www-form-urlencoded or application/sparql-query\n", status_code=415
    )
