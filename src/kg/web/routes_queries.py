"""Saved queries as an API: /api/queries lists them; each is its own typed operation."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from ..query import Kind, ParameterError, QueryError, SavedQuery, term_to_tuple
from .common import ERRORS, JSON_OR_HTML, error_response, execute, result_response, templates
from .context import context
from .negotiation import prefers_html, requested_types

PY_TYPES = {"integer": int, "year": int}
PATTERNS = {"municipality-code": r"^[0-9０-９]{6}$", "law": r"^[a-z0-9]+(-[a-z0-9]+)*$"}


def describe(q: SavedQuery, lang: str = "en") -> dict[str, object]:
    """Return the JSON description of a saved query."""
    return {
        "name": q.name,
        "title": q.title,
        "description": q.description,
        "tags": list(q.tags),
        "params": [
            {"name": p.name, "type": p.type, "default": p.default, "description": p.description} for p in q.params
        ],
        "url": f"/api/queries/{q.name}",
        "sparql": q.text,
    }


def _endpoint_for(q: SavedQuery) -> Callable[..., Awaitable[Response]]:
    async def endpoint(request: Request, **values: object) -> Response:
        fmt = values.pop("format", None)
        assert fmt is None or isinstance(fmt, str)  # the query parameter declared below
        types = requested_types(request.headers.get("accept"), fmt)
        given = {k: str(v) for k, v in values.items() if v is not None}
        try:
            bindings = {k: term_to_tuple(v) for k, v in q.bindings(given).items()}
        except ParameterError as exc:
            return PlainTextResponse(f"ParameterError: {exc}\n", status_code=400)
        html = prefers_html(types)
        accept = ["application/sparql-results+json"] if html else types
        try:
            result = await execute(request, q.text, accept, bindings=bindings, kind=Kind.SAVED)
        except QueryError as exc:
            return error_response(exc)
        if html:
            doc = json.loads(result.body)
            return templates.TemplateResponse(
                request,
                "saved_result.html",
                {
                    "q": q,
                    "values": {p.name: given.get(p.name, p.default or "") for p in q.params},
                    "vars": doc["head"]["vars"],
                    "rows": doc["results"]["bindings"],
                    "truncated": result.truncated,
                    "max_rows": context(request).settings.max_rows,
                    "base": context(request).settings.base_iri,
                },
            )
        return result_response(result, request)

    params = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)]
    for p in q.params:
        py = PY_TYPES.get(p.type, str)
        default = None if p.default is None else py(p.default)
        query = Query(
            description=f"{p.description} ({p.type})",
            pattern=PATTERNS.get(p.type),
            max_length=None if py is int else 1000,
        )
        params.append(
            inspect.Parameter(
                p.name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[py | None, query], default=default
            )
        )
    params.append(
        inspect.Parameter(
            "format",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[str | None, Query(description="Override Accept: json, xml, csv, tsv, html")],
        )
    )
    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]  # read by inspect.signature (FastAPI); mypy knows no such attribute on functions
    endpoint.__name__ = "saved_" + q.name.replace("-", "_")
    return endpoint


def add_saved_query_routes(app: FastAPI, registry: dict[str, SavedQuery]) -> None:
    """Add /api/queries and one GET operation per saved query."""

    @app.get(
        "/api/queries", tags=["Saved queries"], summary="List the saved queries", responses={**ERRORS, **JSON_OR_HTML}
    )
    async def list_queries(request: Request, format: str | None = None) -> Response:
        items = [describe(q) for q in registry.values()]
        types = requested_types(request.headers.get("accept"), format)
        if prefers_html(types):
            return templates.TemplateResponse(request, "queries.html", {"queries": list(registry.values())})
        return JSONResponse(items)

    for q in registry.values():
        app.add_api_route(
            f"/api/queries/{q.name}",
            _endpoint_for(q),
            methods=["GET"],
            tags=["Saved queries"],
            summary=q.title.get("en", q.name),
            operation_id=f"saved_{q.name.replace('-', '_')}",
            description=f"{q.description.get('en', '')}\n\n{q.title.get('ja', '')}: {q.description.get('ja', '')}",
            response_class=Response,
            responses={
                **ERRORS,
                200: {
                    "description": "SPARQL results (JSON by default; XML, CSV, TSV or HTML by Accept)",
                    "content": {"application/sparql-results+json": {}, "text/csv": {}},
                },
            },
        )


__all__ = ["add_saved_query_routes", "describe", "HTMLResponse"]
