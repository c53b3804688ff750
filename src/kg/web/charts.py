"""Small SVG charts drawn on the server from saved-query rows (no JavaScript, no external files).

Every chart is real markup: ``<text>`` for every label (selectable, read by screen readers), a
``<title>`` and ``<desc>`` named by ``aria-labelledby``, and ``<title>`` on every bar for the exact
figure. Series differ in lightness *and* in pattern (solid, hatched, dotted), so they stay apart
when printed in grey. Only presentation attributes are used (the CSP forbids inline styles).
Numbers and dates are written as the page language asks (:func:`fmt_int`, :func:`fmt_yen`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

INK = "#1d2330"
MUTED = "#5c6474"
GRID = "#d8dce4"
# Three series: dark solid, mid-tone hatched, light dotted (distinct in lightness and texture).
SERIES = ("#1b3a5c", "#5b8fc7", "#dce7f3")


def fmt_int(n: int | float, lang: str) -> str:
    """Return a count with thousands separators (1,234 in both languages)."""
    return f"{int(n):,}"


def _trim(x: Decimal, places: int) -> str:
    """``x`` rounded half up to ``places`` decimals, with thousands separators and no trailing zeros."""
    text = f"{x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):,}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_yen(amount: float, lang: str) -> str:
    """Return yen as a reader expects it: ja 248.05億円, en ¥24.81 bn (¥ and millions below 1 bn)."""
    yen = Decimal(str(amount))
    if lang == "ja":
        return f"{_trim(yen.scaleb(-8), 2)}億円"
    if yen == 0:
        return "¥0"
    if abs(yen) >= 1_000_000_000:
        return f"¥{_trim(yen.scaleb(-9), 2)} bn"
    return f"¥{_trim(yen.scaleb(-6), 1)} m"


def fmt_date(iso: str, lang: str) -> str:
    """Return an ISO date (or year-month) as 2007年6月29日 / 29 Jun 2007."""
    parts = [int(p) for p in iso.split("-")]
    if lang == "ja":
        return "".join(f"{v}{u}" for v, u in zip(parts, ("年", "月", "日"), strict=False))
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    if len(parts) == 3:
        return f"{parts[2]} {months[parts[1] - 1]} {parts[0]}"
    if len(parts) == 2:
        return f"{months[parts[1] - 1]} {parts[0]}"
    return str(parts[0])


def fit(text: str, width: float, size: float = 12) -> str:
    """Return ``text`` cut with an ellipsis so that it fits ``width`` px (the full text goes in a <title>)."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def fit_middle(text: str, width: float, size: float = 12) -> str:
    """Like :func:`fit` but cut in the middle, so that names sharing a long beginning stay apart.

    Text with spaces is cut between words (two words kept at the front for one at the end).
    """
    if text_width(text, size) <= width:
        return text
    words = text.split(" ")
    if len(words) > 2:
        head, tail = [words[0]], [words[-1]]
        rest = words[1:-1]
        while rest:
            preferred = len(head) < 2 * len(tail) + 1
            for front in (preferred, not preferred):
                trial = (head + [rest[0]], tail) if front else (head, [rest[-1]] + tail)
                if text_width(" ".join(trial[0]) + " … " + " ".join(trial[1]), size) <= width:
                    head, tail = trial
                    rest = rest[1:] if front else rest[:-1]
                    break
            else:
                break
        joined = " ".join(head) + " … " + " ".join(tail)
        if text_width(joined, size) <= width:
            return joined
    start, end = text[: len(text) // 2], text[len(text) // 2 :]
    while (start or end) and text_width(start + "…" + end, size) > width:
        if text_width(start, size) >= text_width(end, size) * 1.5:
            start = start[:-1]
        else:
            end = end[1:]
    return start.rstrip() + "…" + end.lstrip()


def _defs(cid: str) -> str:
    """Fill patterns of the three series, ids prefixed by the chart id (unique per page)."""
    dark, mid, light = SERIES
    return (
        f'<defs><pattern id="{cid}-p2" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="{mid}"/>'
        f'<rect width="2" height="6" fill="#ffffff"/></pattern>'
        f'<pattern id="{cid}-p3" width="5" height="5" patternUnits="userSpaceOnUse">'
        f'<rect width="5" height="5" fill="{light}"/><circle cx="2.5" cy="2.5" r="1" fill="{dark}"/></pattern></defs>'
    )


def _fill(cid: str, series: int) -> str:
    return (SERIES[0], f"url(#{cid}-p2)", f"url(#{cid}-p3)")[series]


def _svg(cid: str, width: int, height: int, title: str, desc: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{cid}" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{cid}-title {cid}-desc" font-size="12" fill="{INK}">'
        f'<title id="{cid}-title">{escape(title)}</title><desc id="{cid}-desc">{escape(desc)}</desc>{_defs(cid)}'
    )
    # Every label and title above went through escape(); numbers are formatted by us.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: object) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str, **data: object) -> str:
    attrs = "".join(f' data-{k}="{escape(str(v))}"' for k, v in data.items())
    stroke = f' stroke="{SERIES[0]}" stroke-width="0.6"'
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" fill="{fill}"{stroke}{attrs}>'
        f"<title>{escape(tip)}</title></rect>"
    )


def _legend(cid: str, x: float, y: float, names: list[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        out.append(
            f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="14" height="12" fill="{_fill(cid, i)}" '
            f'stroke="{SERIES[0]}" stroke-width="0.6"/>'
        )
        out.append(_text(x + 19, y, name))
        x += 30 + text_width(name)
    return out


def text_width(text: str, size: float = 12) -> float:
    """Rough width of ``text`` in px: full-width characters one em, others about 0.58 em."""
    return sum(size if ord(c) >= 0x2E80 else 0.58 * size for c in text)


def _nice_max(value: float, steps: int = 5) -> tuple[float, float]:
    """Return an axis maximum and a tick step that are round numbers."""
    if value <= 0:
        return 1.0, 1.0
    raw = value / steps
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    for m in (1, 2, 2.5, 5, 10):
        if m * magnitude >= raw:
            step = m * magnitude
            break
    top = step * -(-value // step)
    return top, step


# --------------------------------------------------------------------------- (a) resources
MAX_LABEL_WIDTH = 320  # px: a bar chart's label column never grows beyond this (labels are cut instead)

@dataclass(frozen=True)
class StackRow:
    """One bar of a stacked bar chart: a label, a link and one value per series."""

    key: str
    label: str
    href: str | None
    values: tuple[int, ...]
    tip: str = ""  # the full label when ``label`` was shortened
    group: str = ""  # adjacent rows of one group are bracketed and named at the right (e.g. a kind or a district)


def stacked_bars(
    cid: str,
    rows: list[StackRow],
    series: list[str],
    title: str,
    desc: str,
    lang: str,
    *,
    label_width: int = 150,
    row_height: int = 14,
    bar_width: int = 560,
    legend: bool = True,
) -> Markup:
    """Return horizontal bars stacked by series, one per row, zero rows drawn with their 0.

    The label column widens to the longest label (up to ``MAX_LABEL_WIDTH``; longer labels are cut,
    the full text in a tooltip), and the right margin to the longest group name, so that no text
    runs off the picture whatever the data's names. Rows of one group are bracketed together where
    they are adjacent (a group that comes back later gets a bracket of its own).
    """
    top, step = _nice_max(max((sum(r.values) for r in rows), default=0))
    scale = bar_width / top
    widest = max((text_width(r.label) for r in rows), default=0)
    label_width = max(label_width, min(int(widest) + 14, MAX_LABEL_WIDTH))
    x0, y0 = label_width, 40 if legend else 12
    height = y0 + row_height * len(rows) + 28
    grouped = any(r.group for r in rows)
    group_room = 54 + max((text_width(r.group) for r in rows), default=0) + 8
    width = label_width + bar_width + (int(max(group_room, 190)) if grouped else 60)
    body = _legend(cid, x0, 16, series) if legend else []
    tick = 0.0
    while tick <= top + 1e-9:
        x = x0 + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{y0 - 4}" x2="{x:.1f}" y2="{height - 24}" stroke="{GRID}"/>')
        body.append(_text(x, height - 10, fmt_int(tick, lang), "middle", fill=MUTED))
        tick += step
    for i, r in enumerate(rows):
        y = y0 + i * row_height
        shown = fit(r.label, label_width - 12)
        label = _text(x0 - 6, y + row_height - 3.5, shown, "end")
        tip = r.tip or (r.label if shown != r.label else "")
        if tip:
            label = f"<g><title>{escape(tip)}</title>{label}</g>"
        body.append(f'<a href="{escape(r.href)}">{label}</a>' if r.href else label)
        x = x0
        for s, v in enumerate(r.values):
            if v:
                w = v * scale
                tip = f"{r.label} — {series[s]}: {fmt_int(v, lang)}"
                body.append(_rect(x, y + 1.5, w, row_height - 3, _fill(cid, s), tip, key=r.key, series=s, value=v))
                x += w
        if r.group and (i == 0 or rows[i - 1].group != r.group):
            size = 1  # this run of adjacent rows of the group
            while i + size < len(rows) and rows[i + size].group == r.group:
                size += 1
            gx = x0 + bar_width + 44
            if i:
                body.append(
                    f'<line x1="8" y1="{y:.1f}" x2="{gx + 110}" y2="{y:.1f}" stroke="{MUTED}" stroke-dasharray="3 3"/>'
                )
            body.append(
                f'<path d="M{gx} {y + 2:.1f} h6 v{size * row_height - 4:.1f} h-6" fill="none" stroke="{MUTED}"/>'
            )
            body.append(_text(gx + 10, y + size * row_height / 2 + 4, r.group, fill=MUTED))
        total = sum(r.values)
        body.append(
            _text(x + 4, y + row_height - 3.5, fmt_int(total, lang), fill=MUTED, data_key=r.key, data_total=total)
        )
    return _svg(cid, width, height, title, desc, body)


# --------------------------------------------------------------------------- (b) budgets
@dataclass(frozen=True)
class BudgetArea:
    """A policy area's budget: FY2009 initial (continuing, new) and FY2008 supplementary, yen."""

    key: str
    label: str
    href: str | None
    initial: float
    initial_new: float
    supplementary: float
    programs_new: int


def budget_bars(
    cid: str, areas: list[BudgetArea], names: tuple[str, str, str, str, str], title: str, desc: str, lang: str
) -> Markup:
    """Return, per area, an FY2009 initial bar (continuing + 新規 hatched) and an FY2008 supplementary bar.

    ``names``: series continuing, new, supplementary; then the two bar captions (initial, supplementary).
    """
    continuing, new, supplementary, cap_initial, cap_supp = names
    biggest = max((max(a.initial + a.initial_new, a.supplementary) for a in areas), default=0)
    top, step = _nice_max(biggest)
    label_width, bar_width = 120, 470
    scale = bar_width / top
    x0, y = label_width, 44
    body = _legend(cid, 8, 16, [continuing, new, supplementary])
    group = 16 + 2 * 20 + 14
    height = y + group * len(areas) + 24
    tick = 0.0
    while tick <= top + 1e-9:
        x = x0 + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x:.1f}" y2="{height - 22}" stroke="{GRID}"/>')
        body.append(_text(x, height - 8, fmt_yen(tick, lang), "middle", fill=MUTED, font_size=11))
        tick += step
    for a in areas:
        heading = _text(8, y + 12, a.label, font_weight="bold")
        body.append(f'<a href="{escape(a.href)}">{heading}</a>' if a.href else heading)
        y += 18
        body.append(_text(x0 - 6, y + 13, cap_initial, "end", fill=MUTED))
        w1, w2 = a.initial * scale, a.initial_new * scale
        if a.initial:
            body.append(
                _rect(
                    x0,
                    y + 2,
                    w1,
                    14,
                    _fill(cid, 0),
                    f"{a.label} — {continuing}: {fmt_yen(a.initial, lang)}",
                    key=a.key,
                    series="initial",
                    value=int(a.initial),
                )
            )
        if a.initial_new:
            body.append(
                _rect(
                    x0 + w1,
                    y + 2,
                    w2,
                    14,
                    _fill(cid, 1),
                    f"{a.label} — {new}: {fmt_yen(a.initial_new, lang)}",
                    key=a.key,
                    series="new",
                    value=int(a.initial_new),
                )
            )
        total = a.initial + a.initial_new
        note = fmt_yen(total, lang)
        if a.initial_new:
            note += (
                f"（うち新規 {fmt_yen(a.initial_new, lang)}・{a.programs_new}事業）"
                if lang == "ja"
                else f" (new: {fmt_yen(a.initial_new, lang)}, {a.programs_new} programs)"
            )
        body.append(_text(x0 + w1 + w2 + 5, y + 13, note, data_key=a.key, data_total=int(total)))
        y += 20
        body.append(_text(x0 - 6, y + 13, cap_supp, "end", fill=MUTED))
        if a.supplementary:
            w = a.supplementary * scale
            body.append(
                _rect(
                    x0,
                    y + 2,
                    w,
                    14,
                    _fill(cid, 2),
                    f"{a.label} — {supplementary}: {fmt_yen(a.supplementary, lang)}",
                    key=a.key,
                    series="supplementary",
                    value=int(a.supplementary),
                )
            )
            body.append(_text(x0 + w + 5, y + 13, fmt_yen(a.supplementary, lang)))
        else:
            body.append(_text(x0 + 5, y + 13, "—", fill=MUTED))
        y += 20 + 14
    return _svg(cid, label_width + bar_width + 230, height, title, desc, body)


# --------------------------------------------------------------------------- (c) timeline
def _note(text: str, left: float, right: float, y: float, floor: float, width: float) -> str:
    """A row's note right of its marks, else left of them, else cut to the room on the right (full text in a title)."""
    w = text_width(text, 11)
    if right + 9 + w <= width - 4:
        return _text(right + 9, y, text, font_size=11)
    if left - 9 - w >= floor:
        return _text(left - 9, y, text, "end", font_size=11)
    room = max(width - 4 - right - 9, 40)
    return f"<g><title>{escape(text)}</title>{_text(right + 9, y, fit(text, room, 11), font_size=11)}</g>"


def _outline(left: float, right: float, y: float, height: float) -> str:
    """The frame drawn around the highlighted row's mark, 3 px wider on each side."""
    return (
        f'<rect x="{left - 3:.1f}" y="{y}" width="{right - left + 6:.1f}" '
        f'height="{height}" fill="none" stroke="{INK}" stroke-width="2"/>'
    )


@dataclass(frozen=True)
class Span:
    """A row of the timeline: a bar from start to end (open when end is None) and marked events."""

    key: str
    label: str
    href: str | None
    kind: str  # act | bill | basic-concept | plan
    start: date | None
    end: date | None
    events: tuple[tuple[str, str], ...] = ()  # (ISO date or year-month as stated, what happened)
    highlight: bool = False
    note: str = ""
    year: tuple[int, str] | None = None  # a year known without its day, drawn year-wide: (year, its tooltip)
    undated: str = ""  # said in the plot area when nothing can be placed on the axis


def _day(iso: str) -> date:
    parts = [int(p) for p in iso.split("-")] + [1, 1]
    return date(parts[0], parts[1], parts[2])


def parse_day(iso: str | None) -> date | None:
    """Return a date from xsd:date or xsd:gYearMonth text (first day of the month), or None."""
    return _day(iso) if iso else None


def timeline(
    cid: str,
    spans: list[Span],
    title: str,
    desc: str,
    lang: str,
    *,
    label_width: int = 290,
    plot_width: int = 560,
    legend: bool = True,
) -> Markup:
    """Return a timeline: one row per span, a year axis, bars drawn between exact dates."""
    days = [d for s in spans for d in (s.start, s.end, *(_day(e) for e, _ in s.events)) if d]
    days += [date(s.year[0], 1, 1) for s in spans if s.year]
    first = date(min(days).year, 1, 1) if days else date(2000, 1, 1)
    last = date(max(days).year + 1, 1, 1) if days else date(2001, 1, 1)
    span_days = (last - first).days or 1

    def xof(d: date) -> float:
        return label_width + (d - first).days / span_days * plot_width

    row = 22
    y0 = 48 if legend else 10
    height = y0 + row * len(spans) + 30
    width = label_width + plot_width + 200
    names = (
        (
            "法律（施行〜廃止）",
            "計画の期間",
            "公布年（年のみ・法令番号から）",
            "日付のある出来事（公布・施行・廃止・策定・変更）",
        )
        if lang == "ja"
        else (
            "Act (in force → repealed)",
            "Plan period",
            "Year of promulgation (year only, from the law number)",
            "Dated event (enacted, in force, repealed, drafted, changed)",
        )
    )
    body = []
    if legend:  # three swatches, then (second line) the diamond that marks a dated event
        body = _legend(cid, 8, 14, list(names[:3]))
        body.append(f'<path d="M14 21 l5 7 l-5 7 l-5 -7 z" fill="#ffffff" stroke="{INK}" stroke-width="1.5"/>')
        body.append(_text(27, 32, names[3]))
    years = range(first.year, last.year + 1)
    every = 1 if len(years) <= 12 else 2
    for year in years:
        x = xof(date(year, 1, 1))
        body.append(f'<line x1="{x:.1f}" y1="{y0 - 6}" x2="{x:.1f}" y2="{height - 24}" stroke="{GRID}"/>')
        if (year - first.year) % every == 0:
            body.append(_text(x, height - 10, str(year), "middle", fill=MUTED, font_size=11))
    for i, s in enumerate(spans):
        y = y0 + i * row
        label = _text(
            label_width - 8,
            y + 15,
            fit_middle(s.label, label_width - 12),
            "end",
            font_weight="bold" if s.highlight else "normal",
        )
        body.append(f'<a href="{escape(s.href)}"><title>{escape(s.label)}</title>{label}</a>' if s.href else label)
        series = {"act": 0, "plan": 1, "basic-concept": 2}.get(s.kind, 1)
        if s.year:  # the whole year, a little taller than a bar so that a bar starting in it leaves it visible
            year, tip = s.year
            x = xof(date(year, 1, 1))
            body.append(_rect(x, y + 1, xof(date(year + 1, 1, 1)) - x, 20, _fill(cid, 2), tip, key=s.key, year=year))
            if s.highlight and not s.start:
                body.append(_outline(x, xof(date(year + 1, 1, 1)), y - 2, 26))
        if s.start:
            end = s.end or last
            tip = f"{s.label}: {fmt_date(s.start.isoformat(), lang)} – " + (
                fmt_date(s.end.isoformat(), lang) if s.end else ""
            )
            if s.kind == "basic-concept":  # drawn as a thin line between its dated events
                end = max([s.start, *(_day(d) for d, _ in s.events)])
                body.append(
                    f'<line x1="{xof(s.start):.1f}" y1="{y + 11}" x2="{xof(end):.1f}" y2="{y + 11}" '
                    f'stroke="{SERIES[0]}" stroke-width="2"/>'
                )
            else:
                body.append(
                    _rect(
                        xof(s.start),
                        y + 4,
                        xof(end) - xof(s.start),
                        14,
                        _fill(cid, series),
                        tip,
                        key=s.key,
                        start=s.start.isoformat(),
                        end=s.end.isoformat() if s.end else "",
                    )
                )
            if s.highlight:
                body.append(_outline(xof(s.start), xof(end), y + 1, 20))
        if s.undated:
            body.append(
                _text(label_width + 6, y + 15, s.undated, fill=MUTED, font_size=11, data_key=s.key, data_undated=s.kind)
            )
        for iso, what in s.events:
            x = xof(_day(iso))
            body.append(
                f'<path d="M{x:.1f} {y + 4} l5 7 l-5 7 l-5 -7 z" fill="#ffffff" stroke="{INK}" '
                'stroke-width="1.5">'
                f"<title>{escape(what)}: {escape(fmt_date(iso, lang))}</title></path>"
            )
        notes = [f"{what} {fmt_date(iso, lang)}" for iso, what in s.events if what]
        notes += [s.note] if s.note else []
        if notes:
            marks = [xof(_day(d)) for d, _ in s.events] + ([xof(s.start)] if s.start else [])
            marks += [xof(date(s.year[0], 1, 1)), xof(date(s.year[0] + 1, 1, 1))] if s.year else []
            if s.end and s.kind != "basic-concept":
                marks.append(xof(s.end))
            body.append(
                _note(
                    " · ".join(notes),
                    min(marks, default=label_width),
                    max(marks, default=label_width),
                    y + 15,
                    label_width,
                    width,
                )
            )
    return _svg(cid, width, height, title, desc, body)
