"""Pages for people: / (the query page, built by :mod:`.pages`), /overview (charts from saved queries)
and /search (the header's search box)."""

from __future__ import annotations

from collections import OrderedDict

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ..query import ParameterError, QueryError
from . import pages
from .common import error_response, keep_page, kept_page, local_path, page_key, templates
from .context import context
from .overview import all_views, find_prefecture, overview_href, prefectures, saved_answer
from .pages import page_language

router = APIRouter(include_in_schema=False)
OTHER = {"ja": "その他", "en": "Other"}


@router.get("/")
async def query_page(request: Request) -> Response:
    return await pages.query_page(request)


@router.get("/overview")
async def overview_page(request: Request, prefecture: str | None = None) -> Response:
    """The overviews of the edition, or with ``prefecture`` (its number, e.g. 13, its code or its IRI) of one
    prefecture: its municipalities and its timeline."""
    lang = page_language(request)
    key = page_key(request, lang)
    kept = kept_page(request, key)
    if kept is not None:
        return kept
    try:
        found = await prefectures(request)
        chosen = find_prefecture(found, prefecture) if prefecture is not None else None
        missing = prefecture if prefecture is not None and chosen is None else None
        views = [] if missing is not None else await all_views(request, lang, chosen)
    except QueryError as exc:
        return error_response(exc)
    choices = [{"iri": p.iri, "label": p.label, "href": overview_href(p, lang)} for p in found]
    return keep_page(request, key, templates.TemplateResponse(
        request,
        "overview.html",
        {
            "lang": lang,
            "views": views,
            "prefecture": chosen,
            "choices": choices,
            "missing": missing,
            "edition_href": overview_href(None, lang),
        },
        status_code=404 if missing is not None else 200,
    ))


def group_hits(rows: list[dict[str, str | None]], lang: str, base: str) -> list[tuple[str, list[dict[str, object]]]]:
    """Group site-search rows by kind (class label in the page language), each entity once, in row order.

    An entity with several classes is listed under the first one the answer gives.
    """
    entities: OrderedDict[str, dict[str, object]] = OrderedDict()
    for r in rows:
        iri = r["entity"] or ""
        kind = (r["classEn"] if lang == "en" else r["classJa"]) or None
        if iri in entities:
            entities[iri]["kind"] = entities[iri]["kind"] or kind
            continue
        main = r["labelEn"] if lang == "en" else r["labelJa"]
        other = r["labelJa"] if lang == "en" else r["labelEn"]
        entities[iri] = {
            "kind": kind,
            "iri": iri,
            "href": local_path(iri, base) or iri,
            "label": main or other or iri,
            "other": other if main and other != main else None,
            "exact": r["match"] == "exact",
        }
    kinds: OrderedDict[str, list[dict[str, object]]] = OrderedDict()
    for hit in entities.values():
        kinds.setdefault(str(hit["kind"] or OTHER[lang]), []).append(hit)
    return list(kinds.items())


@router.get("/search")
async def search_page(request: Request, q: str = "") -> Response:
    lang = page_language(request)
    text = q.strip()
    groups: list[tuple[str, list[dict[str, object]]]] = []
    error = None
    count = 0
    if text:
        try:
            answer = await saved_answer(request, "site-search", text=text)
        except ParameterError as exc:
            error = str(exc)
        except QueryError as exc:
            return error_response(exc)
        else:
            base = context(request).settings.base_iri
            exact = {r["entity"] for r in answer.rows if r["match"] == "exact"}
            if len(exact) == 1 and request.query_params.get("all") != "1":
                target = local_path(exact.pop() or "", base) or "/"
                if request.query_params.get("lang") in ("ja", "en"):  # keep a language chosen with the switch
                    target += f"?lang={lang}"
                return RedirectResponse(target, status_code=303)
            groups = group_hits(answer.rows, lang, base)
            count = sum(len(items) for _, items in groups)
    return templates.TemplateResponse(
        request,
        "search.html",
        {"lang": lang, "q": text, "groups": groups, "count": count, "error": error, "limit": 200},
        status_code=400 if error else 200,
    )
