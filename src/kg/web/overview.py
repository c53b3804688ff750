"""The overviews: saved-query answers turned into chart views, the landing summary and entity pictures.

Everything here is drawn from saved queries run through the query service (which caches their
answers), so a page costs one cached lookup per view after the first visit. Routers live in
``routes_pages``; the SVG is drawn by ``charts``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import quote

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


@dataclass
class View:
    """One overview: its picture, the saved query it is drawn from, and where to get the numbers."""

    id: str
    query: SavedQuery
    title: str
    intro: str
    svg: Markup
    answer: Answer
    extra: list[dict[str, object]] = field(default_factory=list)

    @cached_property
    def editor_href(self) -> str:
        """The query page with this view's query (quoted once: views are kept per dataset version)."""
        return "/?query=" + quote(self.query.text)

    @property
    def csv_href(self) -> str:
        return f"/api/queries/{self.query.name}?format=csv"

    @property
    def api_href(self) -> str:
        return f"/api/queries/{self.query.name}"


TEXT = {
    "resources": {
        "ja": (
            "区市町村別の地域産業資源（3類型）",
            "東京都の62区市町村すべてを団体コード順に、地域産業資源の数を類型別に積み上げて示す。島しょの町村も含み、資源のない区市町村は0と表示する。",
        ),
        "en": (
            "Regional resources per municipality, by type",
            "All 62 municipalities of Tokyo in the order of their codes, islands included, with their designated "
            "regional industrial resources stacked by the three types; municipalities without any show 0.",
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
    "resources": "resources-per-municipality",
    "budgets": "budgets-by-area-fy2009",
    "timeline": "timeline",
    "strategy": "strategy-programs",
}


def _view(
    request: Request, vid: str, lang: str, answer: Answer, svg: Markup, extra: list[dict[str, object]] | None = None
) -> View:
    title, intro = TEXT[vid][lang]
    return View(vid, context(request).registry[QUERY_OF[vid]], title, intro, svg, answer, extra or [])


# Groups of Tokyo's local government codes (JIS X 0402): 131xx wards, 132xx cities, 1330x the towns and
# villages of Nishitama district, 1336x and above the islands under the four branch offices.
CODE_GROUPS = (
    ("131", ("特別区", "Special wards")),
    ("132", ("市", "Cities")),
    ("1330", ("西多摩郡", "Nishitama district")),
    ("13", ("島しょ", "Islands")),
)


def code_group(code: str, lang: str) -> str:
    """Return the name of the group a municipality code belongs to."""
    names = next(names for prefix, names in CODE_GROUPS if code.startswith(prefix))
    return names[0] if lang == "ja" else names[1]


def resource_rows(request: Request, answer: Answer, lang: str) -> list[charts.StackRow]:
    """Stack rows (one per municipality, in the answer's order) from resources-per-municipality."""
    return [
        charts.StackRow(
            key=r["code"] or "",
            label=_pick(r, "name", "nameEn", lang),
            href=_href(request, r["municipality"]),
            values=tuple(int(r[c] or 0) for c in TYPE_COLUMNS),
            group=code_group(r["code"] or "", lang),
        )
        for r in answer.rows
    ]


async def resources_view(request: Request, lang: str, cid: str = "chart-resources") -> View:
    answer = await saved_answer(request, QUERY_OF["resources"])
    title, intro = TEXT["resources"][lang]
    svg = charts.stacked_bars(cid, resource_rows(request, answer, lang), TYPE_NAMES[lang], title, intro, lang)
    return _view(request, "resources", lang, answer, svg)


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


async def timeline_view(request: Request, lang: str, cid: str = "chart-timeline") -> View:
    answer = await saved_answer(request, QUERY_OF["timeline"])
    title, intro = TEXT["timeline"][lang]
    svg = charts.timeline(cid, spans(request, answer, lang), title, intro, lang)
    return _view(request, "timeline", lang, answer, svg)


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


async def all_views(request: Request, lang: str) -> list[View]:
    """The four overviews, in page order (run one after the other: one client, one lane).

    Drawn once per dataset version and language: the answers cannot change until the data does.
    """
    ctx = context(request)
    key = (ctx.version, lang)
    views: list[View] | None = ctx.overview_views.get(key)
    if views is None:
        views = ctx.overview_views.put(
            key,
            [
                await resources_view(request, lang),
                await budgets_view(request, lang),
                await timeline_view(request, lang),
                await strategy_view(request, lang),
            ],
        )
    return views


async def summary(request: Request, lang: str) -> dict[str, object]:
    """What the graph holds: counts per class, the five documents, and the period its dates cover."""
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
async def municipality_picture(request: Request, iri: str, lang: str) -> dict[str, object] | None:
    """A municipality's resources by type (small bars) and the plans covering it (timeline)."""
    answer = await saved_answer(request, QUERY_OF["resources"])
    row = next((r for r in answer.rows if r["municipality"] == iri), None)
    if row is None:
        return None
    names = TYPE_NAMES[lang]
    counts = [int(row[c] or 0) for c in TYPE_COLUMNS]
    bars = [
        charts.StackRow(key=c, label=names[i], href=None, values=tuple(counts[i] if j == i else 0 for j in range(3)))
        for i, c in enumerate(TYPE_COLUMNS)
    ]
    title = "地域産業資源（類型別）" if lang == "ja" else "Regional resources by type"
    name = _pick(row, "name", "nameEn", lang)
    svg = charts.stacked_bars(
        "chart-entity-resources",
        bars,
        names,
        f"{name}: {title}",
        title,
        lang,
        label_width=170,
        row_height=22,
        bar_width=300,
        legend=False,
    )
    timeline = await saved_answer(request, QUERY_OF["timeline"])
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
        "queries": ["resources-per-municipality", "timeline"],
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


async def plan_picture(request: Request, iri: str, lang: str) -> dict[str, object] | None:
    """A plan's period on the timeline (highlighted) and its measures → programs tree."""
    timeline = await saved_answer(request, QUERY_OF["timeline"])
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
        "queries": ["timeline", "plan-programs"],
        "plan_param": iri,
    }


async def entity_picture(request: Request, iri: str, lang: str) -> dict[str, object] | None:
    """The picture an entity page shows above its properties, or None where none helps."""
    if "/id/municipality/" in iri:
        return await municipality_picture(request, iri, lang)
    if "/id/plan/" in iri:
        return await plan_picture(request, iri, lang)
    if "/id/law/" in iri or "/id/basic-concept/" in iri:
        return await dated_picture(request, iri, lang)
    return None


async def dated_picture(request: Request, iri: str, lang: str) -> dict[str, object] | None:
    """An act's or the basic concept's dates on the timeline, highlighted among the plans."""
    timeline = await saved_answer(request, QUERY_OF["timeline"])
    dated = ("enactedYear", "enacted", "start", "end")
    if not any(r["item"] == iri and any(r[k] for k in dated) for r in timeline.rows):
        return None  # an act with no date in the sources has nothing to show on the timeline
    title = "年表上の位置" if lang == "ja" else "On the timeline"
    rows = placed(spans(request, timeline, lang, highlight=iri))
    svg = charts.timeline("chart-entity-timeline", rows, title, title, lang)
    return {"kind": "dated", "timeline_svg": svg, "queries": ["timeline"]}
