"""The overviews: saved-query answers turned into chart views, the landing summary and entity pictures.

Everything here is drawn from saved queries run through the query service (which caches their
answers), so a page costs one cached lookup per view after the first visit. Routers live in
``routes_pages``; the SVG is drawn by ``charts``.

Nothing here knows which prefectures the data holds. With one prefecture (the Tokyo edition)
``/overview`` shows its municipalities at once; with several (a national edition) it shows one bar
per prefecture, and ``/overview?prefecture=NN`` (the prefecture's number, the first two digits of
its code, or its whole code) shows that prefecture's municipalities and timeline. Municipalities are
bracketed by what the data says of them: district, else branch office, else kind (the label of
their class).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from fastapi import Request
from markupsafe import Markup

from ..query import Kind, SavedQuery, term_to_tuple
from . import charts
from .common import execute, local_path
from .context import context

JSON = ["application/sparql-results+json"]
TYPE_NAMES = {
    "ja": ["農林水産物", "鉱工業品・生産技術", "観光資源"],
    "en": ["Farm, forest and fishery", "Mining and manufacturing", "Tourism"],
}
TYPE_COLUMNS = ("farmForestFishery", "miningManufacturing", "tourismResources")
RELISTED = ("", "再掲", "別掲")


@dataclass
class Answer:
    """A saved query's answer as plain values (None where unbound)."""

    vars: list[str]
    rows: list[dict[str, str | None]]


async def saved_answer(request: Request, name: str, **params: str) -> Answer:
    """Run saved query ``name`` with ``params`` (the query service caches the answer, as for the API)."""
    q = context(request).registry[name]
    bindings = {k: term_to_tuple(v) for k, v in q.bindings(params).items()}
    result = await execute(request, q.text, JSON, bindings=bindings, kind=Kind.SAVED)
    doc = json.loads(result.body)
    head = doc["head"]["vars"]
    return Answer(head, [{v: b[v]["value"] if v in b else None for v in head} for b in doc["results"]["bindings"]])


def _href(request: Request, iri: str | None) -> str | None:
    return local_path(iri, context(request).settings.base_iri) if iri else None


def _pick(row: dict[str, str | None], ja: str, en: str, lang: str) -> str:
    return (row.get(en) if lang == "en" else row.get(ja)) or row.get(ja) or row.get(en) or ""


@dataclass(frozen=True)
class Prefecture:
    """A prefecture of the data: its IRI, code and names."""

    iri: str
    code: str
    name: str
    name_en: str

    @property
    def number(self) -> str:
        """The prefecture's number (JIS X 0401): the first two digits of its local government code."""
        return self.code[:2]

    def label(self, lang: str) -> str:
        return (self.name_en if lang == "en" else self.name) or self.name or self.name_en


PREFECTURES = """PREFIX kgo: <https://w3id.org/tokyo-sme-kg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?prefecture ?code ?name ?nameEn WHERE {
  ?prefecture a kgo:Prefecture ; kgo:localGovernmentCode ?code ; rdfs:label ?name , ?nameEn .
  FILTER (LANG(?name) = "ja" && LANG(?nameEn) = "en")
}
ORDER BY ?code"""


async def prefectures(request: Request) -> list[Prefecture]:
    """The prefectures of the data in code order (run in a worker like a saved query; the answer is cached)."""
    result = await execute(request, PREFECTURES, JSON, kind=Kind.SAVED)
    doc = json.loads(result.body)
    return [
        Prefecture(b["prefecture"]["value"], b["code"]["value"], b["name"]["value"], b["nameEn"]["value"])
        for b in doc["results"]["bindings"]
    ]


def find_prefecture(found: list[Prefecture], value: str) -> Prefecture | None:
    """The prefecture named by ``value``: its number (``13``, ``1`` or ``01``), its code or its IRI."""
    value = value.strip()
    if value.isdigit() and len(value) <= 2:
        value = value.zfill(2)
    return next((p for p in found if value in (p.number, p.code, p.iri)), None)


def overview_href(prefecture: Prefecture | None, lang: str) -> str:
    """The overview of ``prefecture`` (or of the whole edition), in ``lang`` when that is not the default."""
    params = ([f"prefecture={prefecture.number}"] if prefecture else []) + (["lang=en"] if lang == "en" else [])
    return "/overview" + ("?" + "&".join(params) if params else "")


@dataclass
class View:
    """One overview: its picture, the saved query it is drawn from, and where to get the numbers.

    ``svg`` is None when the answer has no rows (the page says so instead of drawing nothing);
    ``params`` are the saved query's parameters, carried by every link to the query.
    """

    id: str
    query: SavedQuery
    title: str
    intro: str
    svg: Markup | None
    answer: Answer
    extra: list[dict[str, object]] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)

    @cached_property
    def editor_href(self) -> str:
        """The query page with this view's query (quoted once: views are kept per dataset version).

        Parameters are bound by a trailing VALUES clause, which gives the rows the API gives.
        """
        text = self.query.text
        for name, term in self.query.bindings(self.params).items() if self.params else ():
            text += f"\nVALUES ?{name} {{ {term} }}"
        return "/?query=" + quote(text)

    def _href(self, fmt: str | None) -> str:
        params = ({"format": fmt} if fmt else {}) | self.params
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        return f"/api/queries/{self.query.name}" + (f"?{query}" if query else "")

    @property
    def csv_href(self) -> str:
        return self._href("csv")

    @property
    def api_href(self) -> str:
        return self._href(None)

    @property
    def html_href(self) -> str:
        return self._href("html")

    @property
    def json_href(self) -> str:
        return self._href("json")


TEXT = {
    "resources": {
        "ja": (
            "{name}の区市町村別の地域産業資源（3類型）",
            "{name}の{count}区市町村すべてを団体コード順に、地域産業資源の数を類型別に積み上げて示す。"
            "区市町村は郡、支庁、種類（特別区・市・町・村）ごとに括る。資源のない区市町村は0と表示する。",
        ),
        "en": (
            "Regional resources per municipality of {name}, by type",
            "All {count} municipalities of {name} in the order of their codes, bracketed by district, branch office "
            "or kind (special ward, city, town, village), with their designated regional industrial resources "
            "stacked by the three types; municipalities without any show 0.",
        ),
    },
    "prefectures": {
        "ja": (
            "都道府県別の地域産業資源（3類型）",
            "{count}都道府県を団体コード順に、その区市町村に係る地域産業資源の数を類型別に積み上げて示す"
            "（複数の区市町村に係る資源も、都道府県では1つと数える）。都道府県名を選ぶと、その区市町村別の図と年表を示す。",
        ),
        "en": (
            "Regional resources per prefecture, by type",
            "All {count} prefectures in the order of their codes, with the regional resources designated for their "
            "municipalities stacked by type (a resource of several municipalities counts once for the prefecture). "
            "Choose a prefecture for its municipalities and its timeline.",
        ),
    },
    "budgets": {
        "ja": (
            "平成21年度 国の事業の予算（政策分野別）",
            "国の政策分野ごとに平成21年度当初予算（新規事業の分を斜線）と平成20年度補正予算（点）を分けて示す。",
        ),
        "en": (
            "FY2009 national budgets by policy area",
            "Per policy area of the state: the FY2009 initial budget (programs marked 新規 / new hatched) and the "
            "FY2008 supplementary budget (dotted), kept apart.",
        ),
    },
    "timeline": {
        "ja": (
            "年表：法令と計画の期間",
            "法律の公布・施行・廃止（中小企業地域資源活用促進法は2020年10月1日廃止）と、各計画の期間（年度は4月1日〜3月31日）。"
            "公布日が書かれていない法律は、法令番号の年から分かる公布年を1年幅で示す。出典に日付も法令番号もない法律と法律案は、その旨を記す。",
        ),
        "en": (
            "Timeline of laws and plan periods",
            "When each act was enacted, came into force and was repealed (the Regional Resources Act on 1 October "
            "2020) and every plan's period, fiscal years drawn as 1 April – 31 March. Where no day of promulgation "
            "is stated, the year read from the law number is drawn a year wide; acts with neither a date nor a "
            "number in the sources, and the bill, are said to be so.",
        ),
    },
    "national-timeline": {
        "ja": (
            "年表：法令と国の計画の期間",
            "法律の公布・施行・廃止と、国の計画（区市町村を対象とせず、地方公共団体が作成したものでない計画）の期間。"
            "公布日が書かれていない法律は、法令番号の年から分かる公布年を1年幅で示す。"
            "都道府県の基本構想と計画は、各都道府県の概要の年表に示す。",
        ),
        "en": (
            "Timeline of the laws and the national plans",
            "When each act was enacted, came into force and was repealed, and the periods of the national plans "
            "(covering no municipality, drawn up by no local government). Where no day of promulgation is stated, "
            "the year read from the law number is drawn a year wide. Each prefecture's basic concept and plans are "
            "on the timeline of its own overview.",
        ),
    },
    "strategy": {
        "ja": (
            "戦略2の施策別の事業（2-1〜2-10）",
            "平成23年度の重点施策ごとの主な事業の数。再掲（斜線）・別掲（点）は、他の施策にも掲げられた事業。",
        ),
        "en": (
            "Programs per strategy measure (2-1 … 2-10)",
            "Main programs under each FY2011 priority measure; re-listed programs (再掲, hatched) and programs "
            "listed elsewhere (別掲, dotted) are shown as such.",
        ),
    },
}
QUERY_OF = {
    "resources": "resources-in-prefecture",
    "prefectures": "resources-per-prefecture",
    "budgets": "budgets-by-area-fy2009",
    "timeline": "prefecture-timeline",
    "national-timeline": "national-timeline",
    "strategy": "strategy-programs",
}
SECTION_OF = {"prefectures": "resources", "national-timeline": "timeline"}  # the page's anchors stay the same


def _view(
    request: Request,
    vid: str,
    lang: str,
    answer: Answer,
    svg: Markup | None,
    extra: list[dict[str, object]] | None = None,
    params: dict[str, str] | None = None,
    **names: object,
) -> View:
    title, intro = (text.format(**names) for text in TEXT[vid][lang])
    query = context(request).registry[QUERY_OF[vid]]
    return View(SECTION_OF.get(vid, vid), query, title, intro, svg if answer.rows else None, answer, extra or [],
                params or {})


GROUP_WORDS = {"district": "district", "branchOffice": "branch office"}  # the ontology's English labels


def municipality_group(row: dict[str, str | None], lang: str) -> str:
    """The bracket a municipality is drawn in: its district, else its branch office, else its kind."""
    for column, word in GROUP_WORDS.items():
        value = row.get(column)
        if value:
            return value if lang == "ja" else f"{value} ({word})"
    return _pick(row, "kindJa", "kindEn", lang)


def resource_rows(request: Request, answer: Answer, lang: str) -> list[charts.StackRow]:
    """Stack rows (one per municipality, in the answer's order) from resources-in-prefecture."""
    return [
        charts.StackRow(
            key=r["code"] or "",
            label=_pick(r, "name", "nameEn", lang),
            href=_href(request, r["municipality"]),
            values=tuple(int(r[c] or 0) for c in TYPE_COLUMNS),
            group=municipality_group(r, lang),
        )
        for r in answer.rows
    ]


def prefecture_rows(answer: Answer, found: list[Prefecture], lang: str) -> list[charts.StackRow]:
    """Stack rows (one per prefecture, in the answer's order), each a link to the prefecture's overview."""
    by_iri = {p.iri: p for p in found}
    rows = []
    for r in answer.rows:
        label = _pick(r, "name", "nameEn", lang)
        count = int(r["municipalities"] or 0)
        prefecture = by_iri.get(r["prefecture"] or "")
        rows.append(
            charts.StackRow(
                key=r["code"] or "",
                label=label,
                href=overview_href(prefecture, lang) if prefecture else None,
                values=tuple(int(r[c] or 0) for c in TYPE_COLUMNS),
                tip=f"{label}（{count}区市町村）" if lang == "ja" else f"{label} ({count} municipalities)",
            )
        )
    return rows


async def resources_view(request: Request, lang: str, prefecture: Prefecture, cid: str = "chart-resources") -> View:
    params = {"prefecture": prefecture.iri}
    answer = await saved_answer(request, QUERY_OF["resources"], **params)
    name, count = prefecture.label(lang), len(answer.rows)
    title, intro = (text.format(name=name, count=count) for text in TEXT["resources"][lang])
    svg = charts.stacked_bars(cid, resource_rows(request, answer, lang), TYPE_NAMES[lang], title, intro, lang)
    return _view(request, "resources", lang, answer, svg, params=params, name=name, count=count)


async def prefectures_view(request: Request, lang: str, found: list[Prefecture], cid: str = "chart-resources") -> View:
    answer = await saved_answer(request, QUERY_OF["prefectures"])
    title, intro = (text.format(count=len(answer.rows)) for text in TEXT["prefectures"][lang])
    svg = charts.stacked_bars(cid, prefecture_rows(answer, found, lang), TYPE_NAMES[lang], title, intro, lang)
    return _view(request, "prefectures", lang, answer, svg, count=len(answer.rows))


@dataclass
class _AreaSums:
    """One policy area's sums over the budget rows: its first row, initial, new and supplementary amounts."""

    row: dict[str, str | None]
    initial: float = 0.0
    new: float = 0.0
    supp: float = 0.0
    n_new: int = 0


def budget_areas(request: Request, answer: Answer, lang: str) -> list[charts.BudgetArea]:
    """One BudgetArea per policy area, in the answer's order."""
    areas: dict[str, _AreaSums] = {}
    for r in answer.rows:
        a = areas.setdefault(r["area"] or "", _AreaSums(r))
        amount = float(r["total"] or 0)
        if r["kind"] == "supplementary":
            a.supp += amount
        elif r["isNew"] == "true":
            a.new += amount
            a.n_new += int(r["programs"] or 0)
        else:
            a.initial += amount
    out = []
    for iri, a in areas.items():
        row = a.row
        out.append(
            charts.BudgetArea(
                key=iri.rsplit("/", 1)[-1],
                label=f"{row['notation']} {_pick(row, 'areaJa', 'areaEn', lang)}",
                href=_href(request, iri),
                initial=a.initial,
                initial_new=a.new,
                supplementary=a.supp,
                programs_new=a.n_new,
            )
        )
    return out


async def budgets_view(request: Request, lang: str, cid: str = "chart-budgets") -> View:
    answer = await saved_answer(request, QUERY_OF["budgets"])
    title, intro = TEXT["budgets"][lang]
    names = (
        ("平成21年度当初（継続）", "平成21年度当初（新規）", "平成20年度補正", "21年度当初", "20年度補正")
        if lang == "ja"
        else (
            "FY2009 initial (continuing)",
            "FY2009 initial (new, 新規)",
            "FY2008 supplementary",
            "FY2009 initial",
            "FY2008 suppl.",
        )
    )
    svg = charts.budget_bars(cid, budget_areas(request, answer, lang), names, title, intro, lang)
    return _view(request, "budgets", lang, answer, svg)


UNDATED = {
    "ja": ("法律案（未成立、平成21年度計画が挙げる）", "日付の記載なし（法令番号も記載なし）"),
    "en": ("bill, not passed (named in the FY2009 plan)", "no date or law number in the sources"),
}


def spans(request: Request, answer: Answer, lang: str, highlight: str | None = None) -> list[charts.Span]:
    """Timeline rows from the timeline query: acts and bills with their dates, the basic concept, plan periods."""
    words = {
        "ja": ("公布", "施行", "廃止", "策定", "変更"),
        "en": ("enacted", "in force", "repealed", "drafted", "changed"),
    }
    enacted, in_force, repealed, drafted, changed = words[lang]
    out = []
    for r in answer.rows:
        start, end = charts.parse_day(r["start"]), charts.parse_day(r["end"])
        events: list[tuple[str, str]] = []
        note, year, undated = "", None, ""
        if r["kind"] in ("act", "bill"):
            if r["enacted"]:
                events.append((r["enacted"], enacted))
            elif r["enactedYear"]:
                year = (int(r["enactedYear"]), year_only_tip(r, lang))
                if not (r["start"] or r["end"]):
                    y = r["enactedYear"]
                    note = f"公布 {y}年（年のみ）" if lang == "ja" else f"promulgated {y} (year only)"
            if r["start"]:
                events.append((r["start"], in_force))
            if r["end"]:
                events.append((r["end"], repealed))
            if r["kind"] == "bill":
                undated = UNDATED[lang][0]
            elif not (events or year):
                undated = UNDATED[lang][1]
        elif r["kind"] == "basic-concept":
            events.append((r["start"] or "", drafted))
            if r["changed"]:
                events.append((r["changed"], changed))
        else:
            fy0, fy1 = r["fiscalYearStart"], r["fiscalYearEnd"]
            years = fy0 if fy0 == fy1 else f"{fy0}–{fy1}"
            note = f"{years}年度" if lang == "ja" else f"FY{years}"
        out.append(
            charts.Span(
                key=(r["item"] or "").rsplit("/", 1)[-1],
                label=_pick(r, "labelJa", "labelEn", lang),
                href=_href(request, r["item"]),
                kind=r["kind"] or "plan",
                start=start,
                end=end,
                events=tuple(events),
                highlight=r["item"] == highlight,
                note=note,
                year=year,
                undated=undated,
            )
        )
    return out


def placed(rows: list[charts.Span]) -> list[charts.Span]:
    """The rows that have something on the time axis (an entity's picture leaves the undated laws to /overview)."""
    return [s for s in rows if not s.undated or s.highlight]


def year_only_tip(row: dict[str, str | None], lang: str) -> str:
    """The tooltip of a year known only from the law number: which year, that it is the year only, and why."""
    label, number, year = _pick(row, "labelJa", "labelEn", lang), row["lawNumber"] or "", row["enactedYear"]
    if lang == "ja":
        return f"{label}: 公布 {year}年（年のみ。法令番号 {number} から）"
    return f"{label}: promulgated {year} (year only, from the law number {number})"


async def timeline_view(
    request: Request, lang: str, prefecture: Prefecture | None, named: bool = False, cid: str = "chart-timeline"
) -> View:
    """The timeline of ``prefecture`` (laws, national plans and its own), or of what belongs to no prefecture.

    ``named``: the title names the prefecture (its own page in an edition of several).
    """
    vid = "timeline" if prefecture else "national-timeline"
    params = {"prefecture": prefecture.iri} if prefecture else {}
    answer = await saved_answer(request, QUERY_OF[vid], **params)
    title, intro = TEXT[vid][lang]
    if prefecture and named:
        title = f"{prefecture.label(lang)}の{title}" if lang == "ja" else f"{title}: {prefecture.label(lang)}"
    svg = charts.timeline(cid, spans(request, answer, lang), title, intro, lang)
    view = _view(request, vid, lang, answer, svg, params=params)
    view.title = title
    return view


def strategy_measures(request: Request, answer: Answer, lang: str) -> list[dict[str, Any]]:
    """Measures 2-1 … 2-10 in order, each with its listings (program, mark) and counts per mark."""
    measures: dict[str, dict[str, Any]] = {}  # what the page's template reads, by name
    for r in answer.rows:
        m = measures.setdefault(
            r["measure"] or "",
            {
                "iri": r["measure"],
                "href": _href(request, r["measure"]),
                "notation": r["notation"],
                "name": _pick(r, "measureName", "measureNameEn", lang),
                "group": _pick(r, "group", "groupEn", lang),
                "listings": [],
                "counts": [0, 0, 0],
            },
        )
        mark = r["relisted"] or ""
        m["listings"].append(
            {
                "program": _pick(r, "programName", "programNameEn", lang),
                "href": _href(request, r["program"]),
                "mark": mark,
            }
        )
        m["counts"][RELISTED.index(mark) if mark in RELISTED else 0] += 1
    return list(measures.values())


async def strategy_view(request: Request, lang: str, cid: str = "chart-strategy") -> View:
    answer = await saved_answer(request, QUERY_OF["strategy"])
    title, intro = TEXT["strategy"][lang]
    measures = strategy_measures(request, answer, lang)
    label_width = 260
    rows = [
        charts.StackRow(
            key=str(m["notation"]),
            label=charts.fit(f"{m['notation']} {m['name']}", label_width - 12),
            href=m["href"],
            values=tuple(m["counts"]),
            tip=f"{m['notation']} {m['name']}",
        )
        for m in measures
    ]
    series = (
        ["主な事業", "再掲", "別掲"]
        if lang == "ja"
        else ["Main programs", "Re-listed (再掲)", "Listed elsewhere (別掲)"]
    )
    svg = charts.stacked_bars(
        cid, rows, series, title, intro, lang, label_width=label_width, row_height=20, bar_width=420
    )
    return _view(request, "strategy", lang, answer, svg, measures)


async def all_views(request: Request, lang: str, prefecture: Prefecture | None = None) -> list[View]:
    """The overviews of the edition (``prefecture`` None) or of one prefecture, in page order (run one
    after the other: one client, one lane).

    An edition of one prefecture shows its municipalities and its timeline at once; an edition of
    several shows one bar per prefecture and the timeline of what belongs to none of them. The
    national views (budgets, strategy) are on the edition's page. Drawn once per dataset version,
    language and prefecture: the answers cannot change until the data does.
    """
    ctx = context(request)
    key = (ctx.version, lang, prefecture.iri if prefecture else "")
    views: list[View] | None = ctx.overview_views.get(key)
    if views is None:
        found = await prefectures(request)
        if prefecture is not None:
            named = len(found) > 1
            views = [
                await resources_view(request, lang, prefecture),
                await timeline_view(request, lang, prefecture, named),
            ]
        else:
            only = found[0] if len(found) == 1 else None
            views = [
                await resources_view(request, lang, only) if only else await prefectures_view(request, lang, found),
                await budgets_view(request, lang),
                await timeline_view(request, lang, only),
                await strategy_view(request, lang),
            ]
        views = ctx.overview_views.put(key, views)
    return views


async def summary(request: Request, lang: str) -> dict[str, object]:
    """What the graph holds: counts per class, the five documents, and the period its dates cover.

    Kept per dataset version and language: read from the whole edition's timeline (2,000 rows at 1M
    triples), it would otherwise be parsed again on every visit of the landing page.
    """
    ctx = context(request)
    kept = ctx.summaries.get((ctx.version, lang))
    if kept is None:
        kept = ctx.summaries.put((ctx.version, lang), await _summary(request, lang))
    return kept


async def _summary(request: Request, lang: str) -> dict[str, object]:
    classes = await saved_answer(request, "graph-summary")
    documents = await saved_answer(request, "source-documents")
    timeline = await saved_answer(request, "timeline")
    days = sorted(d for r in timeline.rows for d in (r["start"], r["end"], r["enacted"], r["changed"]) if d)
    return {
        "classes": [
            {
                "label": _pick(r, "classJa", "classEn", lang),
                "count": charts.fmt_int(int(r["instances"] or 0), lang),
                "value": r["instances"],
                "iri": r["class"],
            }
            for r in classes.rows
        ],
        "documents": [
            {
                "title": _pick(r, "titleJa", "titleEn", lang),
                "href": _href(request, r["document"]),
                "issued": charts.fmt_date(r["issued"], lang) if r["issued"] else None,
                "publisher": r["publisher"],
            }
            for r in documents.rows
        ],
        "period": (charts.fmt_date(days[0], lang), charts.fmt_date(days[-1], lang)) if days else None,
        "laws_from": min((r["enactedYear"] for r in timeline.rows if r["enactedYear"]), default=None),
    }


# --------------------------------------------------------------------------- entity pages
PREFECTURE = "https://w3id.org/tokyo-sme-kg/ontology#prefecture"
AUTHOR = "https://w3id.org/tokyo-sme-kg/ontology#author"


def _query_link(name: str, params: dict[str, str] | None = None) -> dict[str, str]:
    """A saved query as an entity picture names it: its name and its page with the parameters drawn."""
    query = "".join(f"&{k}={quote(v, safe='')}" for k, v in (params or {}).items())
    return {"name": name, "href": f"/api/queries/{name}?format=html{query}"}


async def scoped_timeline(request: Request, prefecture: str | None) -> tuple[Answer, dict[str, str]]:
    """The timeline an entity is shown on: its prefecture's, or for what belongs to no prefecture the
    national one — the only prefecture's in an edition of one (the same rows, and the plans too)."""
    if prefecture is None:
        found = await prefectures(request)
        prefecture = found[0].iri if len(found) == 1 else None
    if prefecture is None:
        return await saved_answer(request, QUERY_OF["national-timeline"]), _query_link(QUERY_OF["national-timeline"])
    params = {"prefecture": prefecture}
    return await saved_answer(request, QUERY_OF["timeline"], **params), _query_link(QUERY_OF["timeline"], params)


def resources_chart(cid: str, row: dict[str, str | None], lang: str) -> tuple[Markup, list[int]]:
    """One municipality's resources by type, as small bars, and the counts."""
    names = TYPE_NAMES[lang]
    counts = [int(row[c] or 0) for c in TYPE_COLUMNS]
    bars = [
        charts.StackRow(key=c, label=names[i], href=None, values=tuple(counts[i] if j == i else 0 for j in range(3)))
        for i, c in enumerate(TYPE_COLUMNS)
    ]
    title = "地域産業資源（類型別）" if lang == "ja" else "Regional resources by type"
    name = _pick(row, "name", "nameEn", lang)
    svg = charts.stacked_bars(
        cid, bars, names, f"{name}: {title}", title, lang, label_width=170, row_height=22, bar_width=300, legend=False
    )
    return svg, counts


async def municipality_picture(
    request: Request, iri: str, lang: str, links: dict[str, list[str]]
) -> dict[str, object] | None:
    """A municipality's resources by type (small bars) and the plans covering it (timeline).

    Drawn from its prefecture's answers (``links``: the page's links out, which name the prefecture),
    so a page costs what one prefecture's municipalities cost, whatever the size of the edition.
    """
    prefecture = next(iter(links.get(PREFECTURE, [])), None)
    if prefecture is None:
        return None
    params = {"prefecture": prefecture}
    answer = await saved_answer(request, QUERY_OF["resources"], **params)
    row = next((r for r in answer.rows if r["municipality"] == iri), None)
    if row is None:
        return None
    svg, counts = resources_chart("chart-entity-resources", row, lang)
    timeline, timeline_link = await scoped_timeline(request, prefecture)
    plans = Answer(timeline.vars, [r for r in timeline.rows if r["municipality"] == iri])
    plan_svg = None
    if plans.rows:
        plan_title = "この区市町村を対象とする計画" if lang == "ja" else "Plans covering this municipality"
        plan_svg = charts.timeline(
            "chart-entity-plans",
            spans(request, plans, lang),
            plan_title,
            plan_title,
            lang,
            label_width=320,
            plot_width=360,
            legend=False,
        )
    return {
        "kind": "municipality",
        "resources_svg": svg,
        "counts": counts,
        "total": sum(counts),
        "plans": [
            {
                "label": _pick(r, "labelJa", "labelEn", lang),
                "href": _href(request, r["item"]),
                "from": charts.fmt_date(r["start"], lang) if r["start"] else "",
                "to": charts.fmt_date(r["end"], lang) if r["end"] else "",
            }
            for r in plans.rows
        ],
        "plans_svg": plan_svg,
        "queries": [_query_link(QUERY_OF["resources"], params), timeline_link],
    }


async def prefecture_picture(request: Request, iri: str, lang: str) -> dict[str, object] | None:
    """A prefecture's municipalities with their resources (the chart of its overview) and a link to that overview."""
    found = await prefectures(request)
    prefecture = find_prefecture(found, iri)
    if prefecture is None:
        return None
    view = await resources_view(request, lang, prefecture, cid="chart-entity-resources")
    return {
        "kind": "prefecture",
        "resources_svg": view.svg,
        "overview_href": overview_href(prefecture, lang),
        "queries": [_query_link(view.query.name, view.params)],
    }


def measure_tree(request: Request, answer: Answer, lang: str) -> list[dict[str, Any]]:
    """Nested measures → programs of one plan (top level: measures whose parent is not in the plan)."""
    nodes: dict[str, dict[str, Any]] = {}  # what the page's template reads, by name
    for r in answer.rows:
        node = nodes.setdefault(
            r["measure"] or "",
            {
                "iri": r["measure"],
                "href": _href(request, r["measure"]),
                "notation": r["notation"],
                "label": _pick(r, "measureJa", "measureEn", lang),
                "parent": r["parent"],
                "order": int(r["measureOrder"] or 0),
                "children": [],
                "programs": [],
            },
        )
        if r["program"]:
            node["programs"].append(
                {
                    "label": _pick(r, "programJa", "programEn", lang),
                    "href": _href(request, r["program"]),
                    "mark": r["relisted"] or "",
                }
            )
    top: list[dict[str, Any]] = []
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes.values():
        (children[node["parent"]] if node["parent"] in nodes else top).append(node)
    for node in nodes.values():
        node["children"] = sorted(children.get(node["iri"], []), key=lambda n: (n["order"], n["iri"]))
    return sorted(top, key=lambda n: (n["order"], n["iri"]))


PLAN_PREFECTURES = """PREFIX kgo: <https://w3id.org/tokyo-sme-kg/ontology#>
SELECT DISTINCT ?prefecture WHERE {{
  {{ {plan} kgo:coversMunicipality/kgo:prefecture ?prefecture }}
  UNION {{ {plan} kgo:author ?prefecture . ?prefecture a kgo:Prefecture }}
  UNION {{ {plan} kgo:author/kgo:prefecture ?prefecture }}
}}
ORDER BY ?prefecture"""


async def plan_prefecture(request: Request, iri: str) -> str | None:
    """The prefecture a plan belongs to (that of a municipality it covers, or of its author), or None."""
    result = await execute(request, PLAN_PREFECTURES.format(plan=ox.NamedNode(iri)), JSON, kind=Kind.SAVED)
    rows = json.loads(result.body)["results"]["bindings"]
    return rows[0]["prefecture"]["value"] if rows else None


async def plan_picture(request: Request, iri: str, lang: str) -> dict[str, object] | None:
    """A plan's period on its prefecture's timeline (highlighted) and its measures → programs tree."""
    timeline, timeline_link = await scoped_timeline(request, await plan_prefecture(request, iri))
    in_timeline = any(r["item"] == iri for r in timeline.rows)
    tree_answer = await saved_answer(request, "plan-programs", plan=iri)
    if not in_timeline and not tree_answer.rows:
        return None
    svg = None
    if in_timeline:
        title = "計画の期間（年表上）" if lang == "ja" else "The plan's period on the timeline"
        rows = placed(spans(request, timeline, lang, highlight=iri))
        svg = charts.timeline("chart-entity-timeline", rows, title, title, lang)
    return {
        "kind": "plan",
        "timeline_svg": svg,
        "tree": measure_tree(request, tree_answer, lang),
        "programs": sum(1 for r in tree_answer.rows if r["program"]),
        "queries": [timeline_link, _query_link("plan-programs", {"plan": iri})],
    }


async def entity_picture(
    request: Request, iri: str, lang: str, links: dict[str, list[str]] | None = None
) -> dict[str, object] | None:
    """The picture an entity page shows above its properties, or None where none helps.

    ``links`` are the entity's links out (predicate IRI → object IRIs), as its page found them.
    """
    links = links or {}
    if "/id/municipality/" in iri:
        return await municipality_picture(request, iri, lang, links)
    if "/id/prefecture/" in iri:
        return await prefecture_picture(request, iri, lang)
    if "/id/plan/" in iri:
        return await plan_picture(request, iri, lang)
    if "/id/law/" in iri:
        return await dated_picture(request, iri, lang, None)
    if "/id/basic-concept/" in iri:
        return await dated_picture(request, iri, lang, next(iter(links.get(AUTHOR, [])), None))
    return None


async def dated_picture(request: Request, iri: str, lang: str, prefecture: str | None) -> dict[str, object] | None:
    """An act's or a basic concept's dates on the timeline (its prefecture's, or the national one), highlighted."""
    timeline, timeline_link = await scoped_timeline(request, prefecture)
    dated = ("enactedYear", "enacted", "start", "end")
    if not any(r["item"] == iri and any(r[k] for k in dated) for r in timeline.rows):
        return None  # an act with no date in the sources has nothing to show on the timeline
    title = "年表上の位置" if lang == "ja" else "On the timeline"
    rows = placed(spans(request, timeline, lang, highlight=iri))
    svg = charts.timeline("chart-entity-timeline", rows, title, title, lang)
    return {"kind": "dated", "timeline_svg": svg, "queries": [timeline_link]}
