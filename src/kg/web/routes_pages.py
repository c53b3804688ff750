"""The query page at /: editor, examples and saved queries, results table, downloads."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..namespaces import sparql_prefixes
from ..query import QueryError
from .common import templates
from .context import context
from .overview import page_language, summary
from .routes_dumps import schema_org_dataset
from .routes_overview import router as overview_router

router = APIRouter(include_in_schema=False)
router.include_router(overview_router)  # /overview and /search

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


@router.get("/")
async def query_page(request: Request) -> Response:
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
