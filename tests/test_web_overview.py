"""Overviews, landing summary, search box and entity pictures through the application (in process) (issue 12).

Every number drawn is compared with the saved query's own answer, fetched from the API in the
test: nothing here is typed in.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from .conftest import table_rows

SVG = "{http://www.w3.org/2000/svg}"
EN = {"Accept-Language": "en-GB,en;q=0.9"}
JA = {"Accept-Language": "ja,en;q=0.5"}


def _answer(client, name, **params):
    doc = client.get(f"{client.url}/api/queries/{name}", params=params, timeout=60).json()
    return [{v: b[v]["value"] if v in b else None for v in doc["head"]["vars"]} for b in doc["results"]["bindings"]]


def _svg(html, cid):
    """The chart ``cid`` as an XML tree (it must be well-formed SVG)."""
    match = re.search(rf'<svg [^>]*id="{cid}".*?</svg>', html, re.S)
    assert match, f"no chart {cid}"
    return ET.fromstring(match.group(0))


def _rects(svg):
    return [r.attrib for r in svg.iter(f"{SVG}rect") if "data-key" in r.attrib]


def _accessible(svg):
    assert svg.get("role") == "img"
    ids = svg.get("aria-labelledby").split()
    titles = {e.get("id"): e.text for e in svg if e.tag in (f"{SVG}title", f"{SVG}desc")}
    assert set(ids) <= set(titles) and all(titles[i] for i in ids)
    assert any(t.text for t in svg.iter(f"{SVG}text"))  # labels are real text


@pytest.fixture(scope="module", params=["ja", "en"])
def overview(request, client):
    r = client.get(f"{client.url}/overview", headers=JA if request.param == "ja" else EN, timeout=60)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    return request.param, r.text


def _group_runs(names, groups):
    """The group names in the order they are drawn, each run of adjacent rows once."""
    drawn = [n for n in names if n in groups]
    return [g for i, g in enumerate(drawn) if i == 0 or drawn[i - 1] != g]


def test_resources_view_equals_its_query(client, overview):
    """An edition of one prefecture shows its municipalities at once, bracketed by what the tables say of them."""
    lang, html = overview
    svg = _svg(html, "chart-resources")
    _accessible(svg)
    prefectures = table_rows("prefectures")
    assert len(prefectures) == 1  # the real data: Tokyo only
    iri = f"https://w3id.org/tokyo-sme-kg/id/prefecture/{prefectures[0]['code6']}"
    assert re.search(r'<section class="view" id="resources" data-query="resources-in-prefecture">', html)
    rows = _answer(client, "resources-in-prefecture", prefecture=iri)
    municipalities = table_rows("municipalities")
    assert [r["code"] for r in rows] == sorted(m["code6"] for m in municipalities)  # every one, islands included
    drawn = {}
    for r in _rects(svg):
        drawn[(r["data-key"], int(r["data-series"]))] = int(r["data-value"])
    columns = ("farmForestFishery", "miningManufacturing", "tourismResources")
    expected = {(row["code"], i): int(row[c]) for row in rows for i, c in enumerate(columns) if int(row[c])}
    assert drawn == expected
    # the same numbers as the edition-wide query (which the entity pages used to draw from)
    everywhere = {(row["code"], i): int(row[c]) for row in _answer(client, "resources-per-municipality")
                  for i, c in enumerate(columns) if int(row[c])}
    assert drawn == everywhere
    totals = [(t.get("data-key"), int(t.get("data-total"))) for t in svg.iter(f"{SVG}text") if t.get("data-total")]
    assert totals == [(row["code"], int(row["total"])) for row in rows]  # in code order, zeros drawn too
    names = [t.text for t in svg.iter(f"{SVG}text")]
    for row in rows:
        assert (row["nameEn"] if lang == "en" else row["name"]) in names
    # brackets from the tables: district, else branch office, else kind (class label in the page language)
    kinds = {"特別区": "Special ward", "市": "City", "町": "Town", "村": "Village"}
    words = {"district": "district", "branch_office": "branch office"}

    def group(m):
        for column, word in words.items():
            if m[column]:
                return m[column] if lang == "ja" else f"{m[column]} ({word})"
        return m["kind"] if lang == "ja" else kinds[m["kind"]]

    in_order = [group(m) for m in sorted(municipalities, key=lambda m: m["code6"])]
    expected_runs = [g for i, g in enumerate(in_order) if i == 0 or in_order[i - 1] != g]
    assert _group_runs(names, set(in_order)) == expected_runs
    assert len(expected_runs) >= 4 and expected_runs[-1] == group(max(municipalities, key=lambda m: m["code6"]))


def test_overview_of_the_only_prefecture_is_the_overview(client):
    """/overview?prefecture=13 (or its code) in an edition of one prefecture: the same charts, without the national ones."""
    code6 = table_rows("prefectures")[0]["code6"]
    top = client.get(f"{client.url}/overview", headers=EN).text
    for value in (code6[:2], code6, str(int(code6[:2]))):
        r = client.get(f"{client.url}/overview", params={"prefecture": value}, headers=EN)
        assert r.status_code == 200, value
        sections = re.findall(r'<section class="view" id="(\w+)"', r.text)
        assert sections == ["resources", "timeline"]
        for cid in ("chart-resources", "chart-timeline"):
            assert ET.tostring(_svg(r.text, cid)) == ET.tostring(_svg(top, cid))
    for value in ("99", "abc", "13x", ""):
        r = client.get(f"{client.url}/overview", params={"prefecture": value}, headers=EN)
        assert r.status_code == 404 and "No prefecture in the data" in r.text, value


def test_timeline_of_the_only_prefecture_is_the_whole_timeline(client):
    """In the real data every dated thing belongs to Tokyo or to the state: its timeline is the whole one."""
    iri = f"https://w3id.org/tokyo-sme-kg/id/prefecture/{table_rows('prefectures')[0]['code6']}"
    columns = ("kind", "item", "start", "end", "municipality")
    whole = [tuple(r[c] for c in columns) for r in _answer(client, "timeline")]
    assert [tuple(r[c] for c in columns) for r in _answer(client, "prefecture-timeline", prefecture=iri)] == whole
    national = {r["item"] for r in _answer(client, "national-timeline")}
    plans = {p["id"] for p in table_rows("plans") if p["fy_start"] and not p["municipality"]
             and not p["author"].isdigit()}  # no municipality covered, drawn up by no local government
    laws = {r["item"] for r in _answer(client, "timeline") if r["kind"] in ("act", "bill")}
    assert plans and national == laws | {f"https://w3id.org/tokyo-sme-kg/id/plan/{p}" for p in plans}


def test_budget_view_equals_its_query(client, overview):
    lang, html = overview
    svg = _svg(html, "chart-budgets")
    _accessible(svg)
    expected = {}
    for row in _answer(client, "budgets-by-area-fy2009"):
        series = "supplementary" if row["kind"] == "supplementary" else "new" if row["isNew"] == "true" else "initial"
        key = (row["area"].rsplit("/", 1)[-1], series)
        expected[key] = expected.get(key, 0) + int(float(row["total"]))
    assert {(r["data-key"], r["data-series"]): int(r["data-value"]) for r in _rects(svg)} == expected
    assert ("億円" if lang == "ja" else "bn") in "".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert ("新規" if lang == "ja" else "new") in "".join(t.text or "" for t in svg.iter(f"{SVG}text"))


def test_timeline_view_equals_its_query(client, overview):
    lang, html = overview
    svg = _svg(html, "chart-timeline")
    _accessible(svg)
    rows = _answer(client, "timeline")
    rects = _rects(svg)
    bars = {r["data-key"]: (r["data-start"], r["data-end"] or None) for r in rects if "data-start" in r}
    expected = {row["item"].rsplit("/", 1)[-1]: (row["start"], row["end"])
                for row in rows if row["kind"] != "basic-concept" and row["start"]}
    assert bars == expected
    # a year known only from the law number is drawn as the whole year, and says so
    years = {r["data-key"]: r["data-year"] for r in rects if "data-year" in r}
    assert years == {row["item"].rsplit("/", 1)[-1]: row["enactedYear"] for row in rows if row["enactedYear"]}
    assert len(years) >= 5
    tips = {r.get("data-key"): r for r in svg.iter(f"{SVG}rect") if r.get("data-year")}
    for key, rect in tips.items():
        tip = rect.find(f"{SVG}title").text
        assert years[key] in tip and ("年のみ" if lang == "ja" else "year only") in tip
    # every act and bill has its row; the undated ones say that no date is stated, the bill that it is a bill
    laws = [row for row in rows if row["kind"] in ("act", "bill")]
    assert len(laws) == 11
    labels = {a.find(f"{SVG}title").text for a in svg.iter(f"{SVG}a")}
    assert {row["labelEn" if lang == "en" else "labelJa"] for row in laws} <= labels
    undated = {t.get("data-key"): t.text for t in svg.iter(f"{SVG}text") if t.get("data-undated")}
    expected_undated = {row["item"].rsplit("/", 1)[-1]: row["kind"] for row in laws
                        if not (row["enactedYear"] or row["start"] or row["end"] or row["enacted"])}
    assert set(undated) == set(expected_undated) and len(undated) >= 5
    for key, kind in expected_undated.items():
        words = {"bill": ("法律案", "bill"), "act": ("日付の記載なし", "no date")}[kind]
        assert words[0 if lang == "ja" else 1] in undated[key]
    text = " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))
    assert ("廃止 2020年10月1日" if lang == "ja" else "repealed 1 Oct 2020") in text
    assert ("年のみ" if lang == "ja" else "year only") in text  # the legend names the year-wide mark


def test_law_page_with_a_year_only_shows_it(client):
    html = client.get(f"{client.url}/id/law/411ac0000000018", headers={"Accept": "text/html", **EN}).text
    svg = _svg(html, "chart-entity-timeline")
    assert [r.get("data-year") for r in svg.iter(f"{SVG}rect") if r.get("data-key") == "411ac0000000018"] == ["1999"]
    undated = client.get(f"{client.url}/id/law/kankoju-ho", headers={"Accept": "text/html", **EN})
    assert undated.status_code == 200 and "chart-entity-timeline" not in undated.text


def test_strategy_view_equals_its_query(client, overview):
    lang, html = overview
    svg = _svg(html, "chart-strategy")
    _accessible(svg)
    expected = {}
    for row in _answer(client, "strategy-programs"):
        series = {None: 0, "再掲": 1, "別掲": 2}[row["relisted"]]
        expected[(row["notation"], series)] = expected.get((row["notation"], series), 0) + 1
    assert {(r["data-key"], int(r["data-series"])): int(r["data-value"]) for r in _rects(svg)} == expected
    assert html.count("【再掲】") == expected.get(("2-8", 1), 0) + sum(v for (n, s), v in expected.items() if s == 1 and n != "2-8")
    assert html.count("【別掲】") == sum(v for (n, s), v in expected.items() if s == 2)


def test_each_view_shows_its_query_with_editor_link_table_and_csv(client, overview):
    lang, html = overview
    queries = {q["name"]: q for q in client.get(f"{client.url}/api/queries").json()}
    sections = re.findall(r'<section class="view" id="(\w+)" data-query="([\w-]+)">(.*?)</section>', html, re.S)
    assert [s[0] for s in sections] == ["resources", "budgets", "timeline", "strategy"]
    for _, name, body in sections:
        editor = unquote(re.search(r'class="open-editor" href="/\?query=([^"]+)"', body).group(1).replace("&amp;", "&"))
        assert editor.startswith(queries[name]["sparql"])
        csv_link = re.search(r'class="csv" href="([^"]+)"', body).group(1).replace("&amp;", "&")
        params = dict(parse_qsl(urlsplit(csv_link).query))
        assert params.pop("format") == "csv"
        assert set(params) == {p["name"] for p in queries[name]["params"]}  # the view's parameters, in every link
        rows = _answer(client, name, **params)
        assert body.count("<tr>") == len(rows) + 1  # table fallback: header + one row per answer row
        csv_text = client.get(client.url + csv_link).text
        assert len(csv_text.strip().splitlines()) == len(rows) + 1
        # the editor's text (parameters bound by a trailing VALUES) gives the rows the API gives
        answer = client.post(f"{client.url}/sparql", data={"query": editor},
                             headers={"Accept": "application/sparql-results+json"}).json()
        assert len(answer["results"]["bindings"]) == len(rows)
    assert "<script>" not in html and ' style="' not in html  # CSP: no inline script or style


def test_language_switch_and_number_formats(client):
    ja = client.get(f"{client.url}/overview").text  # no Accept-Language: Japanese
    assert '<html lang="ja">' in ja and "億円" in ja and 'href="/overview?lang=en"' in ja
    en = client.get(f"{client.url}/overview", params={"lang": "en"}, headers=JA).text  # the switch beats the header
    assert '<html lang="en">' in en and "¥" in en and "億円" not in re.sub(r"<pre.*?</pre>", "", en, flags=re.S)
    assert client.get(f"{client.url}/", headers=EN).text.count("What this graph holds") == 1


def test_overview_is_first_in_navigation_and_search_box_on_every_page(client):
    for path in ("/", "/overview", "/id/municipality/131067", "/api/queries", "/ontology", "/search?q=x"):
        html = client.get(client.url + path, headers={"Accept": "text/html"}).text
        nav = re.search(r"<nav>(.*?)</nav>", html, re.S).group(1)
        assert re.findall(r'href="([^"]+)"', nav)[0].startswith("/overview"), path
        assert '<form class="site-search" action="/search" method="get" role="search">' in html, path


def test_landing_page_says_what_the_graph_holds_then_overviews_then_editor(client):
    html = client.get(f"{client.url}/", headers=EN).text
    counts = dict(re.findall(r'<dd data-class="([^"]+)">([\d,]+)</dd>', html))
    expected = {r["class"]: int(r["instances"]) for r in _answer(client, "graph-summary")}
    assert {k: int(v.replace(",", "")) for k, v in counts.items()} == expected
    documents = _answer(client, "source-documents")
    assert len(documents) == 5 and all(d["titleEn"] in html.replace("&#39;", "'") for d in documents)
    dates = sorted(d for r in _answer(client, "timeline") for d in (r["start"], r["end"], r["enacted"], r["changed"]) if d)
    assert dates[0] == "2007-06-29" and "29 Jun 2007" in html and "31 Mar 2026" in html
    first_law = min(r["enactedYear"] for r in _answer(client, "timeline") if r["enactedYear"])
    assert f"The acts it cites go back to {first_law}, by the years in their law numbers." in html
    assert html.index("What this graph holds") < html.index('href="/overview?lang=en#budgets"') < html.index('id="query"')


@pytest.mark.parametrize("text,target", [("たいとうく", "/id/municipality/131067"), ("ﾀｲﾄｳｸ", "/id/municipality/131067"),
                                         ("Taitō-ku", "/id/municipality/131067"), ("江戸 切子", "/id/regional-resource/edokiriko"),
                                         ("中小機構", "/id/organization/smrj"), ("kuni-biz", "/id/organization/kuni-biz"),
                                         ("本支援計画", "/id/plan/national-sme-support-plan-fy2009")])
def test_search_exact_hit_goes_to_the_entity(client, text, target):
    r = client.get(f"{client.url}/search", params={"q": text})
    assert r.status_code == 303 and r.headers["location"] == target
    chosen = client.get(f"{client.url}/search", params={"q": text, "lang": "en"})  # the language switch is kept
    assert chosen.status_code == 303 and chosen.headers["location"] == target + "?lang=en"


def test_search_results_by_kind_in_page_language(client):
    rows = _answer(client, "site-search", text="足立")
    ja = client.get(f"{client.url}/search", params={"q": "足立"}).text
    en = client.get(f"{client.url}/search", params={"q": "足立", "lang": "en"}).text
    for row in rows:
        assert row["classJa"] in ja and row["classEn"] in en
        assert f'href="/{row["entity"].split("/tokyo-sme-kg/", 1)[1]}"' in ja
    assert "<h2>特別区" in ja and "<h2>Special ward" in en and ">Adachi-ku</a>" in en and ">足立区</a>" in ja
    blank = client.get(f"{client.url}/search", params={"q": " 　"})  # nothing to look for: just the form
    assert blank.status_code == 200 and 'id="search-count"' not in blank.text
    none = client.get(f"{client.url}/search", params={"q": "存在しない語xyz"}).text
    assert 'id="search-count"' in none and "0 件" in none
    assert client.get(f"{client.url}/search", params={"q": "\"><script>x</script>"}).text.count("<script>x") == 0


def test_municipality_page_shows_resources_by_type_and_plans(client):
    html = client.get(f"{client.url}/id/municipality/131211", headers={"Accept": "text/html", **EN}).text  # 足立区
    svg = _svg(html, "chart-entity-resources")
    _accessible(svg)
    row = next(r for r in _answer(client, "resources-per-municipality") if r["code"] == "131211")
    drawn = {r["data-key"]: int(r["data-value"]) for r in _rects(svg)}
    assert drawn == {c: int(row[c]) for c in ("farmForestFishery", "miningManufacturing", "tourismResources") if int(row[c])}
    plans = [r for r in _answer(client, "timeline") if r["municipality"] and r["municipality"].endswith("/131211")]
    assert plans and all(p["labelEn"] in html for p in plans)
    assert "chart-entity-plans" in html
    island = client.get(f"{client.url}/id/municipality/134210", headers={"Accept": "text/html", **EN}).text  # 小笠原村
    assert "No plan in the data covers this municipality." in island


def test_law_page_shows_its_dates_on_the_timeline(client):
    html = client.get(f"{client.url}/id/law/419ac0000000039", headers={"Accept": "text/html", **EN}).text
    svg = _svg(html, "chart-entity-timeline")
    _accessible(svg)
    assert "repealed 1 Oct 2020" in " ".join(t.text or "" for t in svg.iter(f"{SVG}text"))


def test_plan_page_shows_period_and_tree(client):
    iri = "https://w3id.org/tokyo-sme-kg/id/plan/tokyo-industrial-promotion-guideline-fy2011"
    html = client.get(f"{client.url}/id/plan/tokyo-industrial-promotion-guideline-fy2011",
                     headers={"Accept": "text/html"}).text
    svg = _svg(html, "chart-entity-timeline")
    _accessible(svg)
    rows = _answer(client, "plan-programs", plan=iri)
    listed = [r for r in rows if r["program"]]
    tree = re.search(r'<ul class="tree">.*</ul>', html, re.S).group(0)
    for r in listed:
        assert r["programJa"] in tree
    assert tree.count("【再掲】") == sum(1 for r in listed if r["relisted"] == "再掲")
    assert tree.count("【別掲】") == sum(1 for r in listed if r["relisted"] == "別掲")


def test_every_label_fits_inside_its_chart(client, overview):
    """No text runs off the picture (widths estimated: one em per full-width character, 0.58 em otherwise)."""
    from kg.web.charts import text_width

    lang, html = overview
    for cid in ("chart-resources", "chart-budgets", "chart-timeline", "chart-strategy"):
        svg = _svg(html, cid)
        width = float(svg.get("width"))
        for t in svg.iter(f"{SVG}text"):
            x, w = float(t.get("x")), text_width(t.text or "", float(t.get("font-size") or 12))
            left, right = {"end": (x - w, x), "middle": (x - w / 2, x + w / 2)}.get(t.get("text-anchor"), (x, x + w))
            assert 0 <= left and right <= width, (cid, t.text)
