"""Text we wrote is told apart from text the documents contain; facts stay as 003 states them."""

from __future__ import annotations

import csv

import httpx
from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS

from kg.build import Graphs
from kg.namespaces import ID, KGO, entity

from .conftest import ROOT as PROJECT_ROOT

DATA = PROJECT_ROOT / "data"


def _rows(table: str) -> list[dict[str, str]]:
    with open(DATA / f"{table}.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_our_descriptions_are_kgo_summary_not_dct_description(graphs: Graphs):
    data = graphs.data
    described = {s for s in data.subjects(DCTERMS.description, None) if str(s).startswith(str(ID))}
    assert described == set(), f"dct:description asserted on {sorted(described)[:5]}"
    written = {(r["id"], lang, r[f"description_{lang}"]) for table in ("programs", "organizations", "plans", "measures")
               for r in _rows(table) for lang in ("ja", "en") if r.get(f"description_{lang}")}
    assert written, "the tables hold descriptions"
    found = {(str(s).rsplit("/", 1)[-1], o.language, str(o)) for s, o in data.subject_objects(KGO.summary)}
    assert written <= found


def test_summary_is_declared_as_project_wording(graphs: Graphs):
    onto = graphs.ontology
    assert (KGO.summary, RDFS.subPropertyOf, DCTERMS.description) in onto
    for p in (RDFS.label, SKOS.definition):
        assert {o.language for o in onto.objects(KGO.summary, p)} == {"ja", "en"}
    definition = str(onto.value(KGO.summary, SKOS.definition, any=True))
    en = next(str(o) for o in onto.objects(KGO.summary, SKOS.definition) if o.language == "en")
    assert "own words" in en and "not text quoted" in en, definition


def test_labels_stay_exactly_as_written(graphs: Graphs):
    for r in _rows("programs"):
        assert Literal(r["name_ja"], lang="ja") in set(graphs.data.objects(entity("program", r["id"]), RDFS.label))


def test_reference_list_citation_has_no_file_name_as_japanese_section(graphs: Graphs):
    data = graphs.data
    ref = entity("source", "ref")
    assert str(data.value(ref, KGO.fileName)) == "tokyo_municipalities.csv"
    for citation in data.subjects(RDF.type, KGO.SourceCitation):
        for section in data.objects(citation, KGO.section):
            assert not str(section).endswith(".csv"), (citation, section)


def _bodies(g: Graph, program: str) -> set[str]:
    return {str(o).rsplit("/", 1)[-1] for o in g.objects(entity("program", program), KGO.implementedBy)}


def test_003_programs_name_every_body(graphs: Graphs):
    """Read in 003 program by program; the bodies each text names as doing or funding the work."""
    # 第５ ⑧高度化事業: 都道府県及び中小機構が診断・助言 … 都道府県と中小機構が財源を出し合い
    assert _bodies(graphs.data, "smrj-kodoka") == {"smrj", "prefectures-of-japan"}
    # 第３ (3)①ア 中小企業再生支援協議会事業: ４９．７億円＊（＊中小機構交付金４．３億円を含む。）
    assert _bodies(graphs.data, "revitalization-support-council") == {"govt-japan", "smrj"}
    # the other national programs whose budget includes an agency grant (＊) already name both
    for program in ("market-oriented-hands-on-support", "chiikiryoku-renkei-kyoten", "shin-geneki-challenge"):
        assert _bodies(graphs.data, program) == {"govt-japan", "smrj"}, program


def _bases(g: Graph, program: str) -> set[str]:
    return {str(label) for o in g.objects(entity("program", program), KGO.legalBasis)
            for label in g.objects(o, RDFS.label) if label.language == "ja"}


def test_003_every_law_or_bill_named_as_a_basis_is_linked(graphs: Graphs):
    """Each 「…に基づき」 of 003 that gives the basis of a program (read by hand, section by section)."""
    g = graphs.data
    expected = {
        # 第３ (1)③ / 第５ ② 市場志向型ハンズオン支援事業: three acts under which plans are certified
        "market-oriented-hands-on-support": {"中小企業者と農林漁業者との連携による事業活動の促進に関する法律",
                                             "中小企業による地域産業資源を活用した事業活動の促進に関する法律",
                                             "中小企業の新たな事業活動の促進に関する法律"},
        "strategic-city-centre-commerce": {"中心市街地の活性化に関する法律"},  # 第３ ⑤ア
        "public-procurement-orders": {"官公需法"},  # 第３ ④ウ
        "strategic-core-technology": {"中小ものづくり高度化法"},  # 第３ ⑤ア (技術別指針, 認定)
        "transaction-promotion-association-subsidy": {"下請中小企業振興法"},  # 第３ ⑦ウ
        "revitalization-support-council": {"産業活力再生特別措置法"},  # 第３ (3)①ア
        "keiei-kakushin-shien": {"中小企業の新たな事業活動の促進に関する法律"},  # 第４ (1)①
        # 第３ ⑥ア: a bill not yet passed, named as such (法律案（仮称）)
        "small-commerce-vitality": {"商店街の活性化のための地域住民の需要に応じた事業活動の促進に関する法律案（仮称）"},
    }
    for program, laws in expected.items():
        assert _bases(g, program) == laws, program
    bill = next(g.objects(entity("program", "small-commerce-vitality"), KGO.legalBasis))
    assert (bill, RDF.type, KGO.Bill) in g and (bill, RDF.type, KGO.Act) not in g


def test_entity_page_shows_summary_as_ours(server):
    en = httpx.get(f"{server.url}/id/organization/tiri", headers={"Accept": "text/html", "Accept-Language": "en"})
    assert en.status_code == 200
    assert "summary written by this project" in en.text
    ja = httpx.get(f"{server.url}/id/organization/tiri", headers={"Accept": "text/html"})
    assert "本プロジェクトが書いた要約" in ja.text
    # the inferred dct:description copy of the summary is not shown a second time as if it were another text
    assert ja.text.count("都の試験研究機関。区部産業支援拠点として青海に新本部を整備") == 1
