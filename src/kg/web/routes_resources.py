"""Dereferenceable IRIs: /id/..., /ontology, /shapes, /graph/... — HTML for people, RDF for machines."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any, TypedDict
from urllib.parse import quote

import pyoxigraph as ox
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response
from rdflib import Graph
from rdflib.namespace import OWL, RDF, SH

from ..namespaces import KGO, SHAPES_IRI, curie
from ..query import Kind, QueryError, QueryResult
from ..standalone_shapes import standalone as standalone_graph
from . import entity_rdf, ontology_page
from .common import (
    ERRORS,
    RDF_OR_HTML,
    error_response,
    execute,
    graph_response,
    keep_page,
    kept_page,
    local_path,
    page_key,
    result_response,
    templates,
)
from .context import context
from .negotiation import choose_rdf, prefers_html, requested_types
from .overview import entity_picture
from .pages import dataset_answer, page_language

router = APIRouter(tags=["Linked data"], responses=ERRORS)
SUMMARY = str(KGO.summary)
DESCRIPTION = "http://purl.org/dc/terms/description"
SAFE_PATH = re.compile(r"^[A-Za-z0-9._~\-]+(/[A-Za-z0-9._~\-]+)*$")


# An entity's description: its links out (with the objects' labels), its own fragments (the ``#source-…``
# citations), and its links in (with the subjects' labels). Fragments are reached through the entity's
# links out (prov:qualifiedDerivation, kgo:lawNumberCitation: every fragment in the data hangs off its
# entity, which tests/test_web_linked_data.py checks), never by testing every subject's IRI: that test
# read the whole store for each page, 2.7 s per page (found or not) on a million triples.
_FRAGMENTS = (
    "{{ SELECT DISTINCT {var} WHERE {{ {node} ?link {var} "
    'FILTER (isIRI({var}) && STRSTARTS(STR({var}), CONCAT(STR({node}), "#"))) }} }}'
)


def _describe_construct(iri: str) -> str:
    node = str(ox.NamedNode(iri))  # validated IRI, rendered by the library
    return f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
CONSTRUCT {{ {node} ?p ?o . ?o rdfs:label ?ol . ?c ?cp ?co . ?x ?q {node} . ?x rdfs:label ?xl . }}
WHERE {{
  {{ {node} ?p ?o . OPTIONAL {{ ?o rdfs:label ?ol }} }}
  UNION {{ {_FRAGMENTS.format(node=node, var="?c")} ?c ?cp ?co }}
  UNION {{ ?x ?q {node} . OPTIONAL {{ ?x rdfs:label ?xl }} }}
}}"""


def _describe_select(iri: str) -> str:
    node = str(ox.NamedNode(iri))
    return f"""PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?dir ?s ?p ?o ?label ?graph WHERE {{
  {{ BIND ("out" AS ?dir) BIND ({node} AS ?s) GRAPH ?graph {{ {node} ?p ?o }} OPTIONAL {{ ?o rdfs:label ?label }} }}
  UNION {{ BIND ("cite" AS ?dir) {_FRAGMENTS.format(node=node, var="?s")} GRAPH ?graph {{ ?s ?p ?o }}
           OPTIONAL {{ ?o rdfs:label ?label }} }}
  UNION {{ BIND ("in" AS ?dir) BIND ({node} AS ?o) GRAPH ?graph {{ ?s ?p {node} }}
           OPTIONAL {{ ?s rdfs:label ?label }} }}
}}"""


def _pick(labels: dict[str, str], lang: str) -> str | None:
    return labels.get(lang) or labels.get("ja") or labels.get("en") or next(iter(labels.values()), None)


class Shown(TypedDict, total=False):
    """One value as the entity page shows it: a link (iri, href, curie) or a literal (lang, datatype)."""

    iri: str | None
    href: str | None
    text: str | None
    curie: str
    lang: str | None
    datatype: str | None
    inferred: bool


class EntityView(TypedDict):
    """What the entity page shows: its title, its properties out and in, and the citations of its facts."""

    title: str
    out: list[tuple[str, list[Shown]]]
    inc: list[tuple[str, list[Shown]]]
    cites: dict[str, dict[str, list[Shown]]]


def _view(rows: list[dict[str, Any]], iri: str, lang: str, base: str) -> EntityView:
    """Arrange SELECT rows (SPARQL JSON bindings) into what the entity page shows."""
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    out: dict[str, list[Shown]] = defaultdict(list)
    inc: dict[str, list[Shown]] = defaultdict(list)
    cites: dict[str, dict[str, list[Shown]]] = defaultdict(lambda: defaultdict(list))
    seen = set()
    for r in rows:
        o, s, label = r.get("o"), r.get("s"), r.get("label")
        other = s if r["dir"]["value"] == "in" else o
        if label and other:
            labels[other["value"]][label.get("xml:lang", "")] = label["value"]
    for r in rows:
        d, p, graph = r["dir"]["value"], r["p"]["value"], r["graph"]["value"]
        key = (d, r["s"]["value"], p, json.dumps(r["o"], sort_keys=True))
        if key in seen:
            continue
        seen.add(key)
        inferred = graph.endswith("/graph/inferred")
        if d == "out":
            if p == "http://www.w3.org/2000/01/rdf-schema#label":
                labels[iri][r["o"].get("xml:lang", "")] = r["o"]["value"]
            out[p].append(_value(r["o"], labels, lang, base, inferred))
        elif d == "in":
            inc[p].append(_value(r["s"], labels, lang, base, inferred))
        else:
            cites[r["s"]["value"]][p].append(_value(r["o"], labels, lang, base, False))
    cited = [vs for props in cites.values() for vs in props.values()]
    for values in list(out.values()) + list(inc.values()) + cited:
        for v in values:
            iri_of = v["iri"]
            if iri_of and not v["text"]:
                v["text"] = _pick(labels.get(iri_of, {}), lang) or curie(iri_of)
    summaries = {v["text"] for v in out.get(SUMMARY, [])}
    if summaries and DESCRIPTION in out:  # kgo:summary ⊑ dct:description: drop its inferred copies
        out[DESCRIPTION] = [v for v in out[DESCRIPTION] if not (v["inferred"] and v["text"] in summaries)]
        if not out[DESCRIPTION]:
            del out[DESCRIPTION]
    title = _pick(labels.get(iri, {}), lang) or curie(iri)
    return {
        "title": title,
        "out": sorted(out.items(), key=lambda kv: curie(kv[0])),
        "inc": sorted(inc.items(), key=lambda kv: curie(kv[0])),
        "cites": cites,
    }


def _value(term: dict[str, str], labels: dict[str, dict[str, str]], lang: str, base: str, inferred: bool) -> Shown:
    if term["type"] == "uri":
        iri = term["value"]
        return {
            "iri": iri,
            "href": local_path(iri, base) or iri,
            "text": _pick(labels.get(iri, {}), lang),
            "curie": curie(iri),
            "inferred": inferred,
        }
    return {
        "iri": None,
        "href": None,
        "text": term["value"],
        "lang": term.get("xml:lang"),
        "datatype": curie(term["datatype"]) if "datatype" in term else None,
        "inferred": inferred,
    }


def _related_queries(request: Request, iri: str, types: set[str]) -> list[dict[str, str]]:
    """Saved queries that mention the entity, its class, or take it as a parameter."""
    out = []
    for q in context(request).registry.values():
        link = None
        for p in q.params:
            if p.type == "municipality-code" and "/id/municipality/" in iri:
                link = f"/api/queries/{q.name}?{p.name}={iri.rsplit('/', 1)[-1]}"
            elif p.type == "law" and "/id/law/" in iri:
                link = f"/api/queries/{q.name}?{p.name}={iri.rsplit('/', 1)[-1]}"
            elif p.type == "iri" and p.name == "prefecture" and "/id/prefecture/" in iri:
                link = f"/api/queries/{q.name}?{p.name}={quote(iri, safe='')}"
        mentioned = iri in q.text or any(f"kgo:{t.rsplit('#', 1)[-1]} " in q.text for t in types)
        if link or mentioned:
            out.append(
                {
                    "name": q.name,
                    "title": q.title.get("ja", q.name),
                    "title_en": q.title.get("en", ""),
                    "href": link or f"/api/queries/{q.name}",
                }
            )
    return out


async def _picture(request: Request, iri: str, lang: str, view: EntityView) -> dict[str, object] | None:
    """The entity page's picture (overview module); a page without it is better than no page."""
    links = {p: [v["iri"] for v in vs if v["iri"]] for p, vs in view["out"]}
    try:
        return await entity_picture(request, iri, lang, links)
    except (QueryError, ValueError):
        return None


async def _entity(request: Request, path: str, format: str | None) -> Response:
    settings = context(request).settings
    if not SAFE_PATH.match(path):
        return PlainTextResponse("not a resource IRI of this dataset\n", status_code=404)
    iri = settings.base_iri + path
    types = requested_types(request.headers.get("accept"), format)
    try:
        if prefers_html(types):
            key = page_key(request, page_language(request))
            kept = kept_page(request, key)
            if kept is not None:
                return kept
            result = await execute(
                request, _describe_select(iri), ["application/sparql-results+json"], kind=Kind.LOOKUP
            )
            rows = json.loads(result.body)["results"]["bindings"]
            if not rows:
                return templates.TemplateResponse(request, "notfound.html", {"iri": iri}, status_code=404)
            lang = page_language(request)
            view = _view(rows, iri, lang, settings.base_iri)
            picture = await _picture(request, iri, lang, view)
            rdf_types = {v["iri"] for p, vs in view["out"] if p == str(RDF.type) for v in vs if v["iri"]}
            return keep_page(request, key, templates.TemplateResponse(
                request,
                "entity.html",
                {
                    "iri": iri,
                    "lang": lang,
                    "view": view,
                    "curie": curie,
                    "path": "/" + path,
                    "queries": _related_queries(request, iri, rdf_types),
                    "picture": picture,
                },
            ))
        media = choose_rdf(types)
        if media is None:
            return PlainTextResponse(
                "available as text/html, text/turtle, application/n-triples, "
                "application/ld+json, application/rdf+xml\n",
                status_code=406,
            )
        writer = entity_rdf.WRITERS.get(media)
        result = await execute(
            request, _describe_construct(iri), ["application/n-triples"] if writer else [media], kind=Kind.LOOKUP
        )
    except QueryError as exc:
        return error_response(exc)
    if result.rows == 0:
        return PlainTextResponse(f"no resource {iri} in this dataset\n", status_code=404)
    if writer is None:
        return result_response(result, request)
    rendered = context(request).rendered
    key = (context(request).version, iri, media)
    written = rendered.get(key)
    if written is None:  # the writers are Python: write each entity once per dataset version
        body = writer(iri, entity_rdf.triples(result.body)).encode("utf-8")
        written = QueryResult("graph", media, body, result.rows, False, result.seconds)
        rendered.put(key, written)
    return Response(written.body, media_type=f"{media}; charset=utf-8", headers={"Vary": "Accept"})


@router.get("/id/{path:path}", summary="Describe an entity (HTML or RDF by Accept)", responses=RDF_OR_HTML)
async def entity(path: str, request: Request, format: str | None = None) -> Response:
    return await _entity(request, "id/" + path, format)


@router.get("/graph/{name}", summary="Describe a named graph", responses=RDF_OR_HTML)
async def named_graph(name: str, request: Request, format: str | None = None) -> Response:
    if name not in ("ontology", "data", "inferred"):
        return PlainTextResponse("unknown graph\n", status_code=404)
    return dataset_answer(request, requested_types(request.headers.get("accept"), format))


async def _document(
    request: Request, which: str, format: str | None, standalone_shapes: bool = False, core: bool = False
) -> Response:
    settings = context(request).settings
    path = settings.ontology_dir / ("kg.ttl" if which == "ontology" else "shapes.ttl")
    types = requested_types(request.headers.get("accept"), format)
    g = Graph().parse(path, format="turtle")
    if which == "shapes" and standalone_shapes:  # for SHACL engines other than pySHACL (kg shapes --standalone)
        g = standalone_graph(g, Graph().parse(settings.ontology_dir / "kg.ttl", format="turtle"), core=core)
        return graph_response(g, choose_rdf(types) or "text/turtle")
    if prefers_html(types):
        lang = page_language(request)
        if which == "ontology":
            labels = await _labels(request, ontology_page.restriction_values(g), lang)
            view = ontology_page.describe(g, lang, labels)
            return templates.TemplateResponse(request, "ontology.html", {"view": view, "lang": lang})
        return templates.TemplateResponse(request, "shapes.html", {"terms": _shapes(g), "lang": lang, "curie": curie})
    media = choose_rdf(types)
    if media is None:
        return PlainTextResponse("available as text/html or RDF\n", status_code=406)
    if media == "text/turtle":
        return Response(path.read_bytes(), media_type="text/turtle; charset=utf-8")
    return graph_response(g, media)


async def _labels(request: Request, iris: list[str], lang: str) -> dict[str, str]:
    """Return the ``lang`` label of each of ``iris`` that the data gives one (IRIs from our own ontology)."""
    if not iris:
        return {}
    values = " ".join(str(ox.NamedNode(i)) for i in iris)
    query = (
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        f"SELECT ?s ?l WHERE {{ VALUES ?s {{ {values} }} ?s rdfs:label ?l FILTER(lang(?l) = {ox.Literal(lang)}) }}"
    )
    result = await execute(request, query, ["application/sparql-results+json"], kind=Kind.LOOKUP)
    rows = json.loads(result.body)["results"]["bindings"]
    return {row["s"]["value"]: row["l"]["value"] for row in rows}


def _shapes(g: Graph) -> list[dict[str, object]]:
    """The node shapes of the shapes document, with their target classes."""
    return [
        {
            "iri": str(s),
            "anchor": str(s).rsplit("#", 1)[-1],
            "target": [curie(str(o)) for o in g.objects(s, SH.targetClass)],
        }
        for s in sorted(set(g.subjects(RDF.type, SH.NodeShape)), key=str)
        if str(s).startswith("http")
    ]


@router.get("/ontology", summary="The ontology (HTML or Turtle)", responses=RDF_OR_HTML)
@router.get("/ontology/{version}", include_in_schema=False)
async def ontology(request: Request, format: str | None = None, version: str | None = None) -> Response:
    return await _document(request, "ontology", format)


@router.get("/shapes", summary="The SHACL shapes (HTML or Turtle)", responses=RDF_OR_HTML)
async def shapes(
    request: Request,
    format: str | None = None,
    standalone: bool = Query(False, description="RDF for SHACL engines other than pySHACL: no owl:imports, "
                             "the ontology's subclass axioms included"),
    core: bool = Query(False, description="with standalone: without the SHACL-SPARQL constraints"),
) -> Response:
    return await _document(request, "shapes", format, standalone, core)


@router.get("/shapes/{version}", include_in_schema=False)  # the owl:versionIRI of the current shapes
async def shapes_version(version: str, request: Request, format: str | None = None) -> Response:
    path = context(request).settings.ontology_dir / "shapes.ttl"
    current = str(Graph().parse(path, format="turtle").value(SHAPES_IRI, OWL.versionInfo) or "")
    if version != current:
        return PlainTextResponse(f"this server has shapes version {current}, not {version}\n", status_code=404)
    return await _document(request, "shapes", format)
