"""The overview and entity pages of a national edition (issue 21): a small `kg synth` edition of 47
prefectures, built with the fast engines, served in process.

Every number drawn is compared with counts computed here from the synthetic tables (csv module),
never with numbers typed in: the prefecture of a municipality is the one its row names, a resource
counts once per prefecture however many of its municipalities it covers.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from kg.pipeline.builder import build

from .conftest import ROOT, InProcess, table_rows

SVG = "{http://www.w3.org/2000/svg}"
EN = {"Accept-Language": "en-GB,en;q=0.9"}
JA = {"Accept-Language": "ja,en;q=0.5"}
BASE = "https://w3id.org/tokyo-sme-kg/id/"
TYPES = ("farm-forest-fishery", "mining-manufacturing", "tourism")  # the series, in the charts' order
SCALE = 30_000  # 75 municipalities: most prefectures have one or two, so the drill-down has something to show


@pytest.fixture(scope="module")
def nation(tmp_path_factory: pytest.TempPathFactory, settings) -> tuple[Path, Path]:
    """A synthetic national edition: (its tables, its build)."""
    folder = tmp_path_factory.mktemp("nation")
    data = folder / "data"
    made = subprocess.run([sys.executable, "-m", "kg.cli", "synth", "--scale", str(SCALE), "--seed", "3",
                           "--out", str(data)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    out = folder / "dist"
    build(replace(settings, data_dir=data, reasoner="reasonable", validator="shacl"), out)
    return data, out


@pytest.fixture(scope="module")
def nclient(nation, settings):
    """The application in process on the national edition."""
    from starlette.testclient import TestClient

    from kg.web import asgi_app

    local = settings.with_overrides(dist_dir=nation[1])
    with TestClient(asgi_app(local), base_url=local.server_url, raise_server_exceptions=False,
                    follow_redirects=False) as test_client:
        yield InProcess(test_client)


@pytest.fixture(scope="module")
def tables(nation):
    """What the tables say: prefectures by code, municipalities by code, resources per type and area."""
    data = nation[0]
    prefectures = {p["code6"]: p for p in table_rows("prefectures", data)}
    municipalities = {m["code6"]: m for m in table_rows("municipalities", data)}
    resources = [(r["type"], r["municipalities"].split(";")) for r in table_rows("regional_resources", data)]
    plans = table_rows("plans", data)
    return prefectures, municipalities, resources, plans


def _svg(html, cid):
    match = re.search(rf'<svg [^>]*id="{cid}".*?</svg>', html, re.S)
    assert match, f"no chart {cid}"
    return ET.fromstring(match.group(0))


def _drawn(svg):
    """(row key, series) → value of every bar."""
    return {(r.get("data-key"), int(r.get("data-series"))): int(r.get("data-value"))
            for r in svg.iter(f"{SVG}rect") if r.get("data-key")}


def _fits(svg):
    """No text runs off the picture (widths estimated as the charts estimate them)."""
    from kg.web.charts import text_width

    width = float(svg.get("width"))
    for t in svg.iter(f"{SVG}text"):
        x, w = float(t.get("x")), text_width(t.text or "", float(t.get("font-size") or 12))
        left, right = {"end": (x - w, x), "middle": (x - w / 2, x + w / 2)}.get(t.get("text-anchor"), (x, x + w))
        assert 0 <= left and right <= width, t.text


def _per_prefecture(tables):
    """prefecture code → [count per type], each resource once per prefecture."""
    _, municipalities, resources, _ = tables
    counts = defaultdict(lambda: [0, 0, 0])
    for kind, areas in resources:
        for prefecture in {municipalities[a]["prefecture"] for a in areas}:
            counts[prefecture][TYPES.index(kind)] += 1
    return counts


@pytest.mark.parametrize("headers", [JA, EN], ids=["ja", "en"])
def test_overview_draws_one_bar_per_prefecture(nclient, tables, headers):
    prefectures, municipalities, _, _ = tables
    r = nclient.get(f"{nclient.url}/overview", headers=headers)
    assert r.status_code == 200
    html = r.text
    svg = _svg(html, "chart-resources")
    counts = _per_prefecture(tables)
    assert len(prefectures) == 47
    assert _drawn(svg) == {(code, s): n for code in prefectures for s, n in enumerate(counts[code]) if n}
    totals = [(t.get("data-key"), int(t.get("data-total"))) for t in svg.iter(f"{SVG}text") if t.get("data-total")]
    assert totals == [(code, sum(counts[code])) for code in sorted(prefectures)]  # code order, zeros drawn
    # every prefecture's label is a link to its own overview, in the page language
    links = {a.get("href"): a for a in svg.iter(f"{SVG}a")}
    lang = "en" if headers is EN else "ja"
    for code, p in prefectures.items():
        href = f"/overview?prefecture={code[:2]}" + ("&lang=en" if lang == "en" else "")
        label = "".join(links[href].itertext())
        assert (p["name_en"] if lang == "en" else p["name_ja"]) in label
    _fits(svg)
    assert len(_svg(html, "chart-resources").findall(f".//{SVG}rect")) < 47 * 3 + 10  # not one row per municipality
    # the national views the synthetic tables have no rows for say so instead of drawing nothing
    for section in ("budgets", "strategy"):
        body = re.search(rf'<section class="view" id="{section}".*?</section>', html, re.S).group(0)
        assert "<svg" not in body and 'class="note empty-view"' in body
    # the national timeline: the laws, not the 1,700 municipalities' plans
    timeline = _svg(html, "chart-timeline")
    keys = {r.get("data-key") for r in timeline.iter(f"{SVG}rect") if r.get("data-key")}
    laws = {r["id"] for r in table_rows("legal_bases", ROOT / "data")}
    assert keys and keys <= laws
    _fits(timeline)


def test_drill_down_shows_the_prefectures_municipalities_and_plans(nclient, tables):
    prefectures, municipalities, resources, plans = tables
    by_prefecture = defaultdict(list)
    for code, m in municipalities.items():
        by_prefecture[m["prefecture"]].append(code)
    chosen = max(sorted(by_prefecture), key=lambda p: len(by_prefecture[p]))
    mine = sorted(by_prefecture[chosen])
    assert len(mine) >= 2
    r = nclient.get(f"{nclient.url}/overview", params={"prefecture": chosen[:2]}, headers=EN)
    assert r.status_code == 200
    assert prefectures[chosen]["name_en"] in re.search(r"<h1>(.*?)</h1>", r.text).group(1)
    svg = _svg(r.text, "chart-resources")
    counts = {code: [0, 0, 0] for code in mine}
    for kind, areas in resources:
        for a in set(areas) & set(mine):
            counts[a][TYPES.index(kind)] += 1
    assert _drawn(svg) == {(code, s): n for code in mine for s, n in enumerate(counts[code]) if n}
    totals = [t.get("data-key") for t in svg.iter(f"{SVG}text") if t.get("data-total")]
    assert totals == mine
    kinds = {"市": "City", "町": "Town", "村": "Village"}
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert {kinds[municipalities[c]["kind"]] for c in mine} <= set(texts)  # bracketed by kind (no district here)
    _fits(svg)
    # its timeline: the laws, its basic concept and the plans of its municipalities, no other prefecture's
    timeline = _svg(r.text, "chart-timeline")
    bars = {r.get("data-key") for r in timeline.iter(f"{SVG}rect") if r.get("data-start")}
    theirs = {p["id"] for p in plans if p["municipality"] in mine}
    others = {p["id"] for p in plans} - theirs
    assert theirs <= bars and not (others & bars)
    # the same page by code and by IRI; a prefecture the data does not have is 404
    for value in (chosen, f"{BASE}prefecture/{chosen}"):
        again = nclient.get(f"{nclient.url}/overview", params={"prefecture": value}, headers=EN)
        assert ET.tostring(_svg(again.text, "chart-resources")) == ET.tostring(svg)
    assert nclient.get(f"{nclient.url}/overview", params={"prefecture": "48"}).status_code == 404


def test_entity_pages_of_a_national_edition(nclient, tables):
    prefectures, municipalities, resources, plans = tables
    plan = next(p for p in plans if p["municipality"])
    code = plan["municipality"]
    counts = [0, 0, 0]
    for kind, areas in resources:
        if code in areas:
            counts[TYPES.index(kind)] += 1
    page = nclient.get(f"{nclient.url}/id/municipality/{code}", headers={"Accept": "text/html", **EN})
    assert page.status_code == 200
    drawn = {r.get("data-key"): int(r.get("data-value")) for r in _svg(page.text, "chart-entity-resources").iter(
        f"{SVG}rect") if r.get("data-key")}
    columns = ("farmForestFishery", "miningManufacturing", "tourismResources")
    assert drawn == {c: n for c, n in zip(columns, counts, strict=True) if n}
    assert plan["name_en"] in page.text
    # a plan is shown on its prefecture's timeline, not among every plan of the nation
    page = nclient.get(f"{nclient.url}/id/plan/{plan['id']}", headers={"Accept": "text/html", **EN})
    assert page.status_code == 200
    keys = {r.get("data-key") for r in _svg(page.text, "chart-entity-timeline").iter(f"{SVG}rect")
            if r.get("data-start")}
    prefecture = municipalities[code]["prefecture"]
    assert plan["id"] in keys
    same = {p["id"] for p in plans if municipalities.get(p["municipality"], {}).get("prefecture") == prefecture}
    assert (keys & {p["id"] for p in plans}) == same  # all of its prefecture's plans, and no other
    # a prefecture's page draws its municipalities and links to its overview
    page = nclient.get(f"{nclient.url}/id/prefecture/{prefecture}", headers={"Accept": "text/html", **EN})
    keys = {t.get("data-key") for t in _svg(page.text, "chart-entity-resources").iter(f"{SVG}text")
            if t.get("data-total")}
    assert keys == {c for c, m in municipalities.items() if m["prefecture"] == prefecture}
    assert f'href="/overview?prefecture={prefecture[:2]}&amp;lang=en"' in page.text


@pytest.mark.parametrize("accept", ["text/html", "text/turtle", "application/ld+json"])
def test_a_missing_entity_is_404(nclient, accept):
    for path in ("municipality/999999", "plan/no-such-plan", "prefecture/990000"):
        start = time.perf_counter()
        r = nclient.get(f"{nclient.url}/id/{path}", headers={"Accept": accept})
        assert r.status_code == 404, path
        assert time.perf_counter() - start < 1.0, path
