"""Page building shared by the routers: the page language, the query page, the dataset description
(VoID + DCAT, and schema.org for search engines). Routers speak HTTP and call these; no router
calls another router's handler.
"""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS
from rdflib.term import Node

from ..namespaces import sparql_prefixes
from ..query import QueryError
from .common import graph_response, templates
from .context import context
from .negotiation import choose_rdf, preferred_language, prefers_html
from .overview import summary


def page_language(request: Request) -> str:
    """Return the page language: ``?lang=ja|en`` when given, else from Accept-Language (ja by default)."""
    asked = request.query_params.get("lang")
    if asked in ("ja", "en"):
        return asked
    return preferred_language(request.headers.get("accept-language"))



EXAMPLES = [
    (
        "地域産業資源（類型別）",
        "Regional resources by type",
        """SELECT ?type (COUNT(?r) AS ?resources) WHERE {
  ?r a kgo:RegionalResource ; kgo:resourceType ?t .
  ?t rdfs:label ?type . FILTER (LANG(?type) = "ja")
} GROUP BY ?type ORDER BY DESC(?resources)""",
    ),
    (
        "区市町村と資源",
        "Municipalities and their resources",
        """SELECT ?municipality ?name ?resource ?resourceName WHERE {
  ?resource kgo:area ?municipality ; rdfs:label ?resourceName .
  ?municipality rdfs:label ?name . FILTER (LANG(?name) = "ja")
} ORDER BY ?municipality LIMIT 100""",
    ),
    (
        "クラス別の件数",
        "Instances per class",
        """SELECT ?class (COUNT(?s) AS ?n) WHERE { ?s a ?class }
GROUP BY ?class ORDER BY DESC(?n)""",
    ),
]


async def query_page(request: Request) -> Response:
    """The query page (editor, examples, saved queries, the graph's summary) in the page language."""
    registry = context(request).registry
    lang = page_language(request)
    try:
        held = await summary(request, lang)
    except QueryError:  # the editor still works when the summary cannot be computed
        held = None
    return templates.TemplateResponse(
        request,
        "query.html",
        {
            "prefixes": sparql_prefixes(),
            "examples": EXAMPLES,
            "saved": list(registry.values()),
            "initial": request.query_params.get("query", ""),
            "settings": context(request).settings,
            "lang": lang,
            "summary": held,
            "schema_jsonld": schema_org_dataset(request),
        },
    )


def void_graph(request: Request) -> Graph:
    """Return the VoID + DCAT description with this server's real endpoint and dump URLs."""
    settings = context(request).settings
    text = (settings.dist_dir / "void.ttl").read_text(encoding="utf-8")
    built_for = str(context(request).manifest.get("server_url", ""))
    if built_for and built_for != settings.server_url:
        text = text.replace(f"<{built_for}/", f"<{settings.server_url}/")
    return Graph().parse(data=text, format="turtle")


def _text(g: Graph, s: Node | None, p: Node, lang: str) -> str | None:
    values = {getattr(o, "language", None): str(o) for o in g.objects(s, p)}
    return values.get(lang)


def schema_org_dataset(request: Request) -> str:
    """Return schema.org ``Dataset`` JSON-LD (for dataset search engines), built from the DCAT description.

    The text is safe inside ``<script type="application/ld+json">`` (a data block: not executed,
    so the CSP's script-src does not apply; ``</`` is escaped so the block cannot be closed early).
    """
    ctx = context(request)
    key = (ctx.version, ctx.settings.server_url)
    cached = ctx.schema_org_dataset.get(key)
    if cached is not None:
        return cached
    g = void_graph(request)
    ds = next(g.subjects(RDF.type, DCAT.Dataset))
    publisher = g.value(ds, DCTERMS.publisher)
    agent = {
        "@type": "Organization",
        "name": _text(g, publisher, FOAF.name, "en"),
        "alternateName": _text(g, publisher, FOAF.name, "ja"),
        "url": str(g.value(publisher, FOAF.homepage)),
    }
    period = g.value(ds, DCTERMS.temporal)
    spatial = g.value(ds, DCTERMS.spatial)
    doc: dict[str, object] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": str(ds),
        "name": _text(g, ds, DCTERMS.title, "en"),
        "alternateName": _text(g, ds, DCTERMS.title, "ja"),
        "description": _text(g, ds, DCTERMS.description, "en"),
        "url": f"{ctx.settings.server_url}/dataset",
        "identifier": str(ds),
        "license": str(g.value(ds, DCTERMS.license)),
        "isAccessibleForFree": True,
        "creator": agent,
        "publisher": agent,
        "keywords": sorted(str(k) for k in g.objects(ds, DCAT.keyword)),
        "inLanguage": ["ja", "en"],
        "version": str(g.value(ds, OWL.versionInfo)),
        "datePublished": str(g.value(ds, DCTERMS.issued)),
        "dateModified": str(g.value(ds, DCTERMS.modified)),
        "spatialCoverage": {
            "@type": "Place",
            "@id": str(spatial),
            "name": _text(g, spatial, RDFS.label, "ja"),
            "alternateName": _text(g, spatial, RDFS.label, "en"),
        },
        "temporalCoverage": f"{g.value(period, DCAT.startDate)}/{g.value(period, DCAT.endDate)}",
        "distribution": [
            {
                "@type": "DataDownload",
                "name": _text(g, dist, DCTERMS.title, "en"),
                "contentUrl": str(g.value(dist, DCAT.downloadURL)),
                "encodingFormat": str(g.value(dist, DCAT.mediaType)).rsplit("media-types/", 1)[-1],
            }
            for dist in sorted(g.objects(ds, DCAT.distribution), key=str)
        ],
    }
    text = json.dumps(doc, ensure_ascii=False, indent=1).replace("</", "<\\/")
    return ctx.schema_org_dataset.put(key, text)


def dataset_answer(request: Request, types: list[str]) -> Response:
    """The dataset description for ``types``: its HTML page, or RDF in the best acceptable syntax (406 when none)."""
    g = void_graph(request)
    if prefers_html(types):
        manifest = context(request).manifest
        return templates.TemplateResponse(
            request,
            "dataset.html",
            {
                "manifest": manifest,
                "settings": context(request).settings,
                "turtle": g.serialize(format="turtle"),
                "schema_jsonld": schema_org_dataset(request),
            },
        )
    media = choose_rdf(types)
    if media is None:
        return PlainTextResponse(
            "available as text/turtle, application/n-triples, application/ld+json, "
            "application/rdf+xml, application/trig\n",
            status_code=406,
        )
    return graph_response(g, media)
