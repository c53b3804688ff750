"""Saved queries: metadata, parameters bound as terms, and answers worked out from the documents.

Expected values were computed from the source text (e.g. by counting the lines of the resource
tables of 000 that name a municipality), not by running the queries.
"""

from __future__ import annotations

import httpx
import pytest

from kg.query.saved import ParameterError, load_saved_queries
from kg.query.store import run_query

from .conftest import table_rows as _table


@pytest.fixture(scope="module")
def saved(settings):
    return load_saved_queries(settings.queries_dir)


@pytest.fixture(scope="module", params=["embedded", pytest.param("virtuoso", marks=pytest.mark.slow)])
def backend(request, store):
    """Where saved queries run: the embedded pyoxigraph store, or our server over a real Virtuoso."""
    if request.param == "embedded":
        return store
    return request.getfixturevalue("virtuoso_server").url


def _rows(backend, saved, name, **params):
    params = {k: str(v) for k, v in params.items()}
    if isinstance(backend, str):  # our server answering from Virtuoso (KG_BACKEND)
        r = httpx.get(f"{backend}/api/queries/{name}", params=params, timeout=60)
        r.raise_for_status()
        doc = r.json()
        return [{v: b[v]["value"] if v in b else None for v in doc["head"]["vars"]}
                for b in doc["results"]["bindings"]]
    q = saved[name]
    result = run_query(backend, q.text, q.bindings(params))
    variables = [v.value for v in result.variables]
    return [{v: (None if row[v] is None else row[v].value) for v in variables} for row in result]


def test_every_saved_query_has_metadata(saved):
    assert len(saved) >= 6
    for q in saved.values():
        assert q.title["ja"] and q.title["en"] and q.description and q.tags


def test_resources_per_municipality(backend, saved):
    rows = {r["name"]: r for r in _rows(backend, saved, "resources-per-municipality")}
    assert len(rows) == 62
    assert rows["台東区"]["total"] == "36"
    assert rows["練馬区"]["farmForestFishery"] == "2"  # 練馬大根, 高尾(ぶどう)
    assert rows["檜原村"]["total"] == "3"  # 多摩産材, 払沢の滝, 都民の森
    assert rows["千代田区"]["tourismResources"] == "6" and rows["千代田区"]["total"] == "7"


def test_resources_per_municipality_counts_each_type(backend, saved):
    """Each of the three counts (Virtuoso 7.2 counted the second of three `OPTIONAL { … BIND }` as 0)."""
    rows = {r["name"]: r for r in _rows(backend, saved, "resources-per-municipality")}
    assert (rows["台東区"]["farmForestFishery"], rows["台東区"]["miningManufacturing"],
            rows["台東区"]["tourismResources"]) == ("0", "34", "2")


def test_ranking(backend, saved):
    rows = _rows(backend, saved, "municipalities-by-resource-count")
    top = [(r["name"], r["resources"]) for r in rows[:4]]
    assert top == [("台東区", "36"), ("葛飾区", "29"), ("墨田区", "26"), ("八丈町", "23")]


def test_shared_resources(backend, saved):
    assert len(_rows(backend, saved, "shared-resources")) == 69
    widest = _rows(backend, saved, "shared-resources", min=9)
    assert {(r["name"], r["municipalities"]) for r in widest} == {
        ("東京地酒(清酒)", "10"), ("計測・分析機器", "9"), ("てんぐさ", "9")}


def test_shared_resources_names_are_joined_with_the_japanese_comma(backend, saved):
    """The names joined with 、 (Virtuoso 7.2 wrote a non-ASCII GROUP_CONCAT separator as "?")."""
    widest = _rows(backend, saved, "shared-resources", min=9)
    names = {r["name"]: r["municipalityNames"].split("、") for r in widest}
    assert len(set(names["東京地酒(清酒)"])) == 10 and "青梅市" in names["東京地酒(清酒)"]


def test_municipality_pairs(backend, saved):
    rows = _rows(backend, saved, "municipality-pairs")
    assert [(r["aName"], r["bName"], r["shared"]) for r in rows[:2]] == [
        ("台東区", "荒川区", "17"), ("台東区", "葛飾区", "17")]


def test_island_resources(backend, saved):
    rows = _rows(backend, saved, "island-resources")
    per_office = {}
    for r in rows:
        per_office[r["branchOffice"]] = per_office.get(r["branchOffice"], 0) + 1
    # 大島町13 利島村8 新島村12 神津島村12 | 三宅村7 御蔵島村5 | 八丈町23 青ヶ島村5 | 小笠原村5
    assert per_office == {"大島支庁": 45, "三宅支庁": 12, "八丈支庁": 28, "小笠原支庁": 5}


def test_label_search_ignores_width_case_and_spaces(backend, saved):
    hits = {r["label"] for r in _rows(backend, saved, "label-search", text="ｔｏｋｙｏ x")}
    assert "TOKYOX" in hits
    hits = {r["label"] for r in _rows(backend, saved, "label-search", text="江戸 切子")}
    assert "江戸切子" in hits


@pytest.mark.parametrize("value", ['x" } ; DROP ALL ; #', "> <http://evil> {", "}}}", "' OR 1=1"])
def test_parameters_cannot_change_the_query(backend, saved, value):
    rows = _rows(backend, saved, "label-search", text=value)
    assert rows == []


def test_typed_parameter_errors(saved):
    with pytest.raises(ParameterError, match="min"):
        saved["shared-resources"].bindings({"min": "two"})
    with pytest.raises(ParameterError, match="unknown"):
        saved["shared-resources"].bindings({"nope": "1"})


# ---------------------------------------------------------------- policy side (001–004)
# Figures below were added up by hand from 003 第３ (億円 → yen).

def test_budgets_fy2009(backend, saved):
    rows = {r["name"]: r for r in _rows(backend, saved, "budgets-fy2009")}
    assert len(rows) == 32  # 33 national programs; 人材確保・育成 has only the FY2008 supplementary figure
    core = rows["戦略的基盤技術高度化支援事業"]  # 54.4億円 (68.0億円)
    assert (int(float(core["budget"])), int(float(core["prior"])), int(float(core["change"]))) == (
        5_440_000_000, 6_800_000_000, -1_360_000_000)
    assert float(core["changePercent"]) == -20.0
    commerce = rows["中小商業活力向上事業"]  # 42.0億円 (29.7億円): +41.4 %
    assert float(commerce["changePercent"]) == 41.4
    first = next(iter(_rows(backend, saved, "budgets-fy2009")))
    assert first["name"] == "地域イノベーション創出研究開発事業" and first["asWritten"] == "６５．１億円"
    assert rows["新事業活動促進支援事業"]["prior"] is None and rows["新事業活動促進支援事業"]["isNew"] == "true"


def test_new_programs_fy2009(backend, saved):
    names = {r["name"] for r in _rows(backend, saved, "new-programs-fy2009")}
    assert names == {"新事業活動促進支援事業", "地域イノベーション創出研究開発事業", "ＪＡＰＡＮブランド戦略展開支援事業",
                     "地域中小企業知的財産戦略支援事業", "外国人研修・技能実習制度適正化指導事業",
                     "地域経済情報化基盤整備事業", "中小企業等排出削減計画支援事業"}


def test_budget_totals_by_area_keep_supplementary_apart(backend, saved):
    rows = [(r["areaName"], r["fiscalYear"], r["kind"], round(float(r["total"]) / 1e8, 2))
            for r in _rows(backend, saved, "budget-totals-by-area")]
    fy2009 = {(a, t) for a, y, k, t in rows if y == "2009" and k == "Initial budget"}
    assert ("中小企業の経営の革新及び創業の促進", 247.7) in fy2009
    assert ("中小企業の経営基盤の強化", 273.45) in fy2009
    assert ("中小企業の経済的社会的環境の変化への適応の円滑化", 49.7) in fy2009
    assert ("中小企業の経営基盤の強化", "2008", "Supplementary budget", 140.0) in rows


def test_budget_totals_by_body(backend, saved):
    rows = {(r["bodyName"], r["fiscalYear"], r["kind"]): round(float(r["total"]) / 1e8, 2)
            for r in _rows(backend, saved, "budget-totals-by-body")}
    assert rows[("国", "2009", "Initial budget")] == 570.85
    # 003 第３: the four national programs whose FY2009 budget includes an SMRJ grant (＊中小機構交付金), each
    # counted whole for every body that runs it: ③ハンズオン 24.0 + 地域力連携拠点 57.9 + 新現役 19.4
    # + 中小企業再生支援協議会事業 49.7 = 151.0 億円
    assert rows[("独立行政法人中小企業基盤整備機構", "2009", "Initial budget")] == 151.0


def test_rests_on_law_and_status(backend, saved):
    things = {r["label"] for r in _rows(backend, saved, "rests-on-law", law="411ac0000000018")}
    assert things == {"市場志向型ハンズオン支援事業", "経営革新支援事業"}
    act = {r["label"] for r in _rows(backend, saved, "rests-on-law", law="419ac0000000039")}
    assert "地域産業資源活用事業の促進に関する基本的な構想" in act and "市場志向型ハンズオン支援事業" in act
    status = {r["name"]: r["status"] for r in _rows(backend, saved, "law-status")}
    assert status["中小企業による地域産業資源を活用した事業活動の促進に関する法律"] == "repealed"
    assert status["中心市街地の活性化に関する法律"] == "in force"


# 2009: the FY2009 support plan (003) and Tokyo's industrial promotion guideline for FY2008–FY2010 (000 1 (1))
@pytest.mark.parametrize("year,count", [(2009, 2), (2011, 1), (2021, 4), (2022, 4), (2023, 10), (2024, 6), (2026, 0)])
def test_plans_in_force(backend, saved, year, count):
    assert len(_rows(backend, saved, "plans-in-force", year=year)) == count


def test_plans_in_force_have_exact_periods(backend, saved):
    rows = {r["municipalityName"]: r for r in _rows(backend, saved, "plans-in-force", year=2022)}
    assert set(rows) == {"足立区", "世田谷区", "町田市", "羽村市"}
    assert (rows["町田市"]["firstDay"], rows["町田市"]["lastDay"]) == ("2021-04-01", "2024-03-31")


def test_municipality_profile(backend, saved):
    rows = _rows(backend, saved, "municipality-profile", code="131091")  # 品川区
    kinds = {}
    for r in rows:
        kinds.setdefault(r["kind"], set()).add(r["label"])
    assert kinds["regional resource"] == {"東京桐箆笥"}
    assert kinds["plan"] == {"品川区地域産業活性化計画"}
    assert len(kinds["program"]) == 11 and "パピリオン共同出展事業" in kinds["program"]


def test_strategy_programs(backend, saved):
    rows = _rows(backend, saved, "strategy-programs")
    assert len(rows) == 33  # 17 bold + 16 plain main programs over 2-1 … 2-10
    assert rows[0]["notation"] == "2-1" and rows[-1]["notation"] == "2-10"
    assert {r["relisted"] for r in rows} == {None, "再掲", "別掲"}


def test_programs_listed_several(backend, saved):
    rows = {r["name"]: (int(r["measures"]), int(r["documents"])) for r in _rows(backend, saved, "programs-listed-several")}
    assert rows["産業支援拠点の再整備"] == (3, 2)  # 002 2-1, 2-8 (再掲) and 000 ①
    assert rows["市場志向型ハンズオン支援事業"] == (2, 1)  # 003 national ③ and agency ②
    assert rows["新・元気を出せ！商店街事業"][1] == 2


@pytest.mark.parametrize("keyword,expected", [
    ("dx", {"DX伴走支援事業", "ＩＴ経営実践促進事業", "中小企業等デジタル化推進支援事業"}),
    ("succession", {"事業承継支援事業", "事業承継・再生支援事業", "中小企業事業承継円滑化支援事業"}),
    ("startup", {"TOKYO起業塾", "創業支援補助金", "インキュベーション事業"}),
    ("創業", {"創業支援事業", "創業人材育成事業"}),
])
def test_programs_by_topic(backend, saved, keyword, expected):
    names = {r["name"] for r in _rows(backend, saved, "programs-by-topic", keyword=keyword)}
    assert expected <= names


# ---------------------------------------------------------------- overviews (issue 12)
# Expected answers below are worked out from the curated tables in data/ with the csv module
# (each table row is a fact of a document), independently of the query engine.

def test_graph_summary_counts_per_class(backend, saved):
    rows = {r["classEn"]: int(r["instances"]) for r in _rows(backend, saved, "graph-summary")}
    laws = _table("legal_bases")
    expected = {
        "Source document": len(_table("sources")),
        "Legal basis": len(laws),
        "Act": sum(1 for r in laws if r["kind"] == "act"),
        "Plan": len(_table("plans")) + len(_table("basic_concepts")),  # a basic concept is a plan
        "Basic concept": len(_table("basic_concepts")),
        "Measure": len(_table("measures")),
        "Program": len(_table("programs")),
        "Budget allocation": len(_table("budgets")),
        "Regional industrial resource": len(_table("regional_resources")),
        "Regional resource type": sum(1 for r in _table("concepts") if r["scheme"] == "resource-types"),
        "Municipality": len(_table("municipalities")),
        "Prefecture": len(_table("prefectures")),
        # bodies of the organizations table, and every municipality and prefecture (they are organizations too)
        "Organization": len(_table("organizations")) + len(_table("municipalities")) + len(_table("prefectures")),
    }
    assert rows == expected


def test_source_documents(backend, saved):
    rows = _rows(backend, saved, "source-documents")
    table = _table("sources")
    assert [(r["document"].rsplit("/", 1)[-1], r["titleJa"], r["titleEn"]) for r in rows] == [
        (t["id"], t["title_ja"], t["title_en"]) for t in table]
    assert [r["issued"] for r in rows] == [t["issued"] or None for t in table]


def test_budgets_by_area_fy2009(backend, saved):
    # From budgets.csv, programs.csv (level) and program_measures.csv (measure → policy area by parent);
    # the state's areas are sp2009-a1 … a3 (the agency's sp2009-smrj-* repeat three programs).
    programs = {p["id"]: p for p in _table("programs")}
    parent = {m["id"]: m["parent"] for m in _table("measures")}

    def area_of(measure):
        while parent.get(measure):
            measure = parent[measure]
        return measure

    areas = {}
    for pm in _table("program_measures"):
        if programs[pm["program"]]["level"] == "national" and not area_of(pm["measure"]).startswith("sp2009-smrj"):
            areas.setdefault(pm["program"], set()).add(area_of(pm["measure"]))
    expected = {}
    for b in _table("budgets"):
        kind = {("2009", "initial"): "initial", ("2008", "supplementary"): "supplementary"}.get(
            (b["fiscal_year"], b["budget_kind"]))
        for area in areas.get(b["program"], ()) if kind else ():
            key = (area, kind, b["is_new"] == "true")
            total, progs = expected.get(key, (0, set()))
            expected[key] = (total + int(b["amount_yen"]), progs | {b["program"]})
    got = {(r["area"].rsplit("/", 1)[-1], r["kind"], r["isNew"] == "true"): (int(float(r["total"])), int(r["programs"]))
           for r in _rows(backend, saved, "budgets-by-area-fy2009")}
    assert got == {k: (t, len(p)) for k, (t, p) in expected.items()}
    # the FY2009 initial figures add up to the state's total of 003 (570.85億円, see budget-totals-by-body)
    assert sum(t for (a, k, n), (t, p) in got.items() if k == "initial") == 57_085_000_000
    assert got[("sp2009-a2", "supplementary", False)] == (14_000_000_000, 1)  # 人材確保・育成 140億円 (FY2008 2nd suppl.)


def test_timeline(backend, saved):
    from kg.dates import law_number_year

    rows = _rows(backend, saved, "timeline")
    laws = [r for r in rows if r["kind"] in ("act", "bill")]
    # every act and bill is on the timeline, dated or not; the year of promulgation comes from the law number
    expected = {law["id"]: (law["kind"], law["promulgated"] or None, law["in_force"] or None, law["repealed"] or None,
                            str(law_number_year(law["law_number_ja"])) if law["law_number_ja"] else None,
                            law["law_number_ja"] or None)
                for law in _table("legal_bases") if law["kind"] in ("act", "bill")}
    assert {r["item"].rsplit("/", 1)[-1]: (r["kind"], r["enacted"], r["start"], r["end"], r["enactedYear"], r["lawNumber"])
            for r in laws} == expected
    assert len(laws) == len(expected)  # one row each
    acts = [r for r in laws if r["kind"] == "act"]
    assert len(acts) == 10 and sum(1 for r in laws if r["kind"] == "bill") == 1
    first = next(r for r in acts if r["item"].endswith("/419ac0000000039"))
    assert (first["enactedYear"], first["start"], first["end"]) == ("2007", "2007-06-29", "2020-10-01")
    keys = [r["enactedYear"] or (r["start"] or "")[:4] for r in laws]
    dated = [k for k in keys if k]
    assert dated == sorted(dated) and keys[: len(dated)] == dated  # dated by year first, then the undated
    concept = next(r for r in rows if r["kind"] == "basic-concept")
    assert (concept["start"], concept["changed"]) == ("2008-07", "2011-01-21")
    plans = {r["item"].rsplit("/", 1)[-1]: r for r in rows if r["kind"] == "plan"}
    expected = {p["id"]: (f"{p['fy_start']}-04-01", f"{int(p['fy_end']) + 1}-03-31", p["municipality"] or None)
                for p in _table("plans") if p["fy_start"]}
    assert {k: (r["start"], r["end"], r["municipality"] and r["municipality"].rsplit("/", 1)[-1])
            for k, r in plans.items()} == expected


def test_plan_programs(backend, saved):
    plan = "adachi-ku-revitalization-plan-fy2021"
    rows = _rows(backend, saved, "plan-programs", plan=f"https://w3id.org/tokyo-sme-kg/id/plan/{plan}")
    measures = {m["id"] for m in _table("measures") if m["plan"] == plan}
    listings = {(pm["measure"], pm["program"], pm["relisted"] or None) for pm in _table("program_measures")
                if pm["measure"] in measures}
    assert {r["measure"].rsplit("/", 1)[-1] for r in rows} == measures
    assert {(r["measure"].rsplit("/", 1)[-1], r["program"].rsplit("/", 1)[-1], r["relisted"])
            for r in rows if r["program"]} == listings
    guideline = _rows(backend, saved, "plan-programs",
                      plan="https://w3id.org/tokyo-sme-kg/id/plan/tokyo-industrial-promotion-guideline-fy2011")
    assert {r["relisted"] for r in guideline} == {None, "再掲", "別掲"}


@pytest.mark.parametrize("text,label", [
    ("たいとうく", "台東区"),    # kana reading, exact
    ("タイトウク", "台東区"),    # the reading in katakana
    ("ﾀｲﾄｳｸ", "台東区"),        # half-width katakana
    ("taito-ku", "台東区"),      # romanised name
    ("TAITŌ-KU", "台東区"),      # with a macron, upper case
    ("江戸 切子", "江戸切子"),    # spaces ignored
    ("中小企業地域資源活用促進法", "中小企業による地域産業資源を活用した事業活動の促進に関する法律"),  # short name
])
def test_site_search_exact_hits(backend, saved, text, label):
    rows = _rows(backend, saved, "site-search", text=text)
    exact = {r["labelJa"] for r in rows if r["match"] == "exact"}
    assert exact == {label}


def test_site_search_partial_hits_have_kinds(backend, saved):
    rows = _rows(backend, saved, "site-search", text="たいとう")  # part of a reading: no exact hit
    assert {r["labelJa"] for r in rows} >= {"台東区"} and all(r["match"] == "partial" for r in rows)
    kinds = {r["classEn"] for r in _rows(backend, saved, "site-search", text="足立")}
    assert {"Special ward", "Program", "Regional industry revitalization plan"} <= kinds


# Issue 22: saved queries over what the documents say about things. Expected values read from the
# documents (003 第３ (1)①② and (2)①ア ＊ notes; 002 2-4 and 2-10 「4 重点的取組と主な事業」; 000's
# contact offices; 003 第３ (1)① 解説 and 第３ (3)① 解説; 003 第２ and its title).
def test_program_lineage(backend, saved):
    rows = _rows(backend, saved, "program-lineage")
    links = {(r["programJa"], r["relation"], r["predecessorJa"]) for r in rows}
    assert links == {
        ("新事業活動促進支援事業", "merged", "地域資源活用新事業展開対策支援事業"),
        ("新事業活動促進支援事業", "merged", "新連携対策支援事業"),
        ("地域イノベーション創出研究開発事業", "merged", "地域イノベーション創出研究開発事業"),  # the FY2008 one
        ("地域イノベーション創出研究開発事業", "merged", "地域資源活用型研究開発事業"),
        ("ＪＡＰＡＮブランド戦略展開支援事業", "expanded", "ＪＡＰＡＮブランド育成支援事業"),
    }
    same_name = [r for r in rows if r["programJa"] == r["predecessorJa"]]
    assert len(same_name) == 1 and same_name[0]["program"] != same_name[0]["predecessor"]


def test_strategy_structure_in_document_order(backend, saved):
    rows = _rows(backend, saved, "strategy-structure")
    m24 = [(r["headingJa"], r["programJa"]) for r in rows if r["notation"] == "2-4"]
    assert m24 == [
        ("地域資源の活用による地域密着型イノベーションの創出", "東京都地域中小企業応援ファンド"),
        ("地域を担う社会的企業家の育成", "TOKYO起業塾 社会的企業家コース"),
        ("地域を担う社会的企業家の育成", "「社会的事業」のための専用相談窓口事業"),
    ]
    headings_210 = list(dict.fromkeys(r["headingJa"] for r in rows if r["notation"] == "2-10"))
    assert headings_210 == ["中小企業の経営安定と技術水準向上を総合的・継続的に支援", "中小企業の資金調達を支援",
                            "地域商業の活性化を支援"]
    notations = list(dict.fromkeys(r["notation"] for r in rows))
    assert notations == [f"2-{n}" for n in range(1, 11)]  # ten measures, in the order of the guideline
    assert [r["groupJa"] for r in rows][-1] == "技術・経営基盤の強化"
    assert {r["relisted"] for r in rows if r["programJa"] == "新・元気を出せ！商店街事業"} == {"別掲"}


def test_basic_concept_contacts(backend, saved):
    rows = _rows(backend, saved, "basic-concept-contacts")
    got = {(r["about"], r["officeJa"], r["telephone"]) for r in rows}
    assert got == {
        ("基本構想に関する問合せ先", "東京都産業労働局商工部地域産業振興課", "03-5320-4747"),
        ("制度全般に関する問合せ先", "関東経済産業局産業部経営支援課", "048-600-0332"),
        ("中小企業者の具体的な事業計画に関する相談・問合せ先", "独立行政法人中小企業基盤整備機構関東支部（関東地域支援事務局）", "03-5470-1640"),
        ("中小企業者の具体的な事業計画に関する相談・問合せ先", "財団法人東京都中小企業振興公社総合支援部総合支援課", "03-3251-7881"),
    }
    assert {r["parentJa"] for r in rows if r["telephone"] == "03-5320-4747"} == {"東京都産業労働局商工部"}


def test_stated_figures_with_unit_and_reference(backend, saved):
    rows = {r["asWritten"]: r for r in _rows(backend, saved, "stated-figures")}
    for written, value in (("１１９件", "119"), ("５２９件", "529"), ("５４４件", "544")):  # 「２１年１月９日現在」
        r = rows[written]
        assert float(r["value"]) == float(value) and r["unit"] == "件" and r["referenceDate"] == "2009-01-09"
        assert r["subjectJa"] == "新事業活動促進支援事業" and r["referenceAsWritten"] == "２１年１月９日現在"
    jobs = rows["１２２，７１８人"]
    assert float(jobs["value"]) == 122718 and jobs["unit"] == "人" and jobs["referenceDate"] == "2008-12-31"
    assert rows["２６２ヶ所"]["referenceFiscalYear"] == "2008" and rows["１，６７６件"]["referenceFiscalYear"] == "2007"
    visitors = rows["4.3億人"]
    assert float(visitors["value"]) == 4.3 and visitors["unit"] == "億人" and visitors["referenceYear"] == "2008"


def test_plan_context(backend, saved):
    rows = {r["planJa"]: r for r in _rows(backend, saved, "plan-context")}
    national = rows["平成２１年度 中小企業支援計画"]
    assert national["statusJa"] == "案" and national["followsJa"] == "新経済成長戦略" and "本支援計画" in national["otherNames"]
    strategy = rows["産業振興基本戦略"]
    assert strategy["followsJa"] == "10年後の東京" and strategy["draftedInFiscalYear"] == "2006"
    assert rows["東京都産業振興指針"]["draftedInFiscalYear"] == "2007"


@pytest.mark.parametrize("text,label", [
    ("中小機構", "独立行政法人中小企業基盤整備機構"),            # 003 第２ 「（以下「中小機構」という。）」
    ("産技研", "地方独立行政法人東京都立産業技術研究センター"),    # 002 2-8
    ("Kuni-Biz", "くにたちビジネスサポートセンター"),               # 001 国立市
    ("ニッチトップ育成支援事業", "知財戦略導入支援事業(ニッチトップ育成支援事業)"),  # 002 2-5
    ("本支援計画", "平成２１年度 中小企業支援計画"),                # 003 第２
    ("TLIC", "東京ライフサイエンスインキュベーションセンター"),      # 002 2-2 (a facility)
    ("ＢＩ施設", "ビジネスインキュベーション（ＢＩ）施設"),          # 003 第５ (1)⑤ 解説 (a facility)
    ("人材対策事業", "中小企業の人材確保・育成支援事業"),            # 003 第３ (2)②エ
])
def test_other_names_find_their_thing(backend, saved, text, label):
    assert label in {r["label"] for r in _rows(backend, saved, "label-search", text=text)}
    exact = {r["labelJa"] for r in _rows(backend, saved, "site-search", text=text) if r["match"] == "exact"}
    assert exact == {label}


def test_facilities_with_operator_programs_and_place(backend, saved):
    rows = {r["labelJa"]: r for r in _rows(backend, saved, "facilities")}
    # 002 2-2 2: Tokyo runs TLIC and TCIC, where incubation managers support the tenants
    for name, short in (("東京ライフサイエンスインキュベーションセンター", "TLIC"),
                        ("東京コンテンツインキュベーションセンター", "TCIC")):
        assert rows[name]["otherNames"] == short and rows[name]["operatedBy"] == "東京都"
        assert rows[name]["programs"] == "インキュベーション施設の運営"
    # 002 2-1 4: the hub is set up inside the ward-area base, TIRI's new headquarters at Aomi, Koto
    hub, base = rows["東京イノベーションハブ"], rows["区部産業支援拠点"]
    assert hub["insideJa"] == "区部産業支援拠点" and hub["programs"] == "産業支援拠点の再整備"
    assert base["municipalityJa"] == "江東区" and base["operatedBy"] == "地方独立行政法人東京都立産業技術研究センター"
    assert rows["産業サポートスクエア・TAMA"]["municipalityJa"] == "昭島市"  # 002 2-8 2
    # 003 第５: SMRJ runs the 中小企業大学校 (both trainings of ⑦) and the BI facilities (⑤)
    schools = rows["中小企業大学校"]
    assert schools["operatedBy"] == "独立行政法人中小企業基盤整備機構"
    assert set(schools["programs"].split(" / ")) == {"中小企業者向け研修", "中小企業支援人材に対する研修"}
    assert rows["ビジネスインキュベーション（ＢＩ）施設"]["otherNames"] == "ＢＩ施設"
    assert rows["町田新産業創造センター"]["programs"] == "創業支援事業"  # 004 町田市 1
    assert "下請かけこみ寺" in rows and not rows["下請かけこみ寺"]["operatedBy"]  # 003 names no body that runs them

