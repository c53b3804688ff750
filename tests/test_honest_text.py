"""Text we wrote is told apart from text the documents contain; facts stay as 003 states them."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, Literal
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS

from kg.namespaces import ID, KGO, entity
from kg.pipeline.builder import Graphs

from .conftest import ROOT as PROJECT_ROOT
from .conftest import table_rows

_rows = table_rows


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


AUDIT = PROJECT_ROOT / "docs" / "audit-003.md"
SEED_003 = PROJECT_ROOT.parent / "shared" / "seeds" / "003_2e275dd67e327de3.txt"
KEY = re.compile(r"`([a-z0-9]+(?:-[a-z0-9]+)*)`")


def _audit() -> dict[str, dict[str, set[str]]]:
    """Program key -> {"bodies", "bases"}: the keys the audit of 003 (docs/audit-003.md) says must be linked."""
    text = AUDIT.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("| program |"))
    lines = []  # the program table only (the section-by-section walk below it is read by test_audits.py)
    for line in text[start:]:
        if not line.startswith("|"):
            break
        lines.append(line)
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    bodies, bases = header.index("linked bodies"), header.index("linked bases")
    table = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert len(cells) == len(header), f"docs/audit-003.md: a row with {len(cells)} cells: {line[:60]}"
        program = KEY.fullmatch(cells[0])
        assert program, f"docs/audit-003.md: first cell is not a program key: {cells[0]}"
        table[program.group(1)] = {"bodies": set(KEY.findall(cells[bodies])), "bases": set(KEY.findall(cells[bases]))}
    return table


def _keys(g: Graph, program: str, p) -> set[str]:
    return {str(o).rsplit("/", 1)[-1] for o in g.objects(entity("program", program), p)}


def test_audit_of_003_covers_every_program_citing_003():
    cited = {r["id"] for r in _rows("programs") if any(c.startswith("003:") for c in r["source"].split(";"))}
    assert cited, "programs cite 003"
    assert set(_audit()) == cited


def test_003_programs_name_every_body(graphs: Graphs):
    """Each program is run by exactly the bodies the audit of 003 found (read program by program)."""
    wrong = {program: (_keys(graphs.data, program, KGO.implementedBy), want["bodies"])
             for program, want in _audit().items() if _keys(graphs.data, program, KGO.implementedBy) != want["bodies"]}
    assert not wrong, f"(graph, audit) differ: {wrong}"


def test_003_bodies_given_jointly_are_all_linked(graphs: Graphs):
    """Spot checks restated from 003, independent of the audit file."""
    g = graphs.data
    # 第５ ⑧高度化事業: 都道府県及び中小機構が診断・助言 … 都道府県と中小機構が財源を出し合い
    assert _keys(g, "smrj-kodoka", KGO.implementedBy) == {"smrj", "prefectures-of-japan"}
    # 第３ (3)①ア: ４９．７億円＊（＊中小機構交付金４．３億円を含む。）, advice given in the councils
    assert {"govt-japan", "smrj", "revitalization-councils"} == _keys(g, "revitalization-support-council", KGO.implementedBy)
    # 「商工会・商工会議所」 names two kinds of body: both are linked, as two organizations
    for program in ("startup-talent-development", "japan-brand-strategy", "keiei-kaizen-fukyu"):
        assert {"shokokai", "shokokaigisho"} <= _keys(g, program, KGO.implementedBy), program
    # 第３ (2)④ 解説: 各都道府県からの補助の下、各都道府県中央会が実施 — a body for the 第４ program from 第３'s text
    assert _keys(g, "pref-cooperative-organizations", KGO.implementedBy) == {"prefectures-of-japan", "chuokai-prefectural"}
    citations = {str(s) for c in g.objects(entity("program", "pref-cooperative-organizations"), PROV.qualifiedDerivation)
                 for s in g.objects(c, KGO.section)}
    assert any(s.startswith("第３") for s in citations) and any(s.startswith("第４") for s in citations), citations


def test_003_every_law_or_bill_named_as_a_basis_is_linked(graphs: Graphs):
    """Each 「…に基づき」 of 003 that gives the basis of a program, as the audit of 003 lists it."""
    g = graphs.data
    wrong = {program: (_keys(g, program, KGO.legalBasis), want["bases"])
             for program, want in _audit().items() if _keys(g, program, KGO.legalBasis) != want["bases"]}
    assert not wrong, f"(graph, audit) differ: {wrong}"
    bill = next(g.objects(entity("program", "small-commerce-vitality"), KGO.legalBasis))
    assert (bill, RDF.type, KGO.Bill) in g and (bill, RDF.type, KGO.Act) not in g
    assert {str(o) for o in g.objects(bill, RDFS.label) if o.language == "ja"} == {
        "商店街の活性化のための地域住民の需要に応じた事業活動の促進に関する法律案（仮称）"}


def test_every_audited_body_is_an_organization_of_the_graph(graphs: Graphs):
    for program, want in _audit().items():
        for key in want["bodies"]:
            assert (entity("organization", key), RDF.type, KGO.Organization) in graphs.data, (program, key)


@pytest.mark.skipif(not SEED_003.exists(), reason=f"needs document 003 at {SEED_003} (the ../shared folder CI provides)")
def test_organizations_from_003_are_named_as_written():
    """Each body cited from 003 carries its name exactly as 003 writes it (line breaks of the extraction aside)."""
    text = re.sub(r"\s+", "", SEED_003.read_text(encoding="utf-8"))
    from_003 = [r for r in _rows("organizations") if any(c.startswith("003:") for c in r["source"].split(";"))]
    assert len(from_003) > 3
    missing = [r["name_ja"] for r in from_003 if r["name_ja"] not in text]
    assert not missing


def test_entity_page_shows_summary_as_ours(client):
    en = client.get(f"{client.url}/id/organization/tiri", headers={"Accept": "text/html", "Accept-Language": "en"})
    assert en.status_code == 200
    assert "summary written by this project" in en.text
    ja = client.get(f"{client.url}/id/organization/tiri", headers={"Accept": "text/html"})
    assert "本プロジェクトが書いた要約" in ja.text
    # the inferred dct:description copy of the summary is not shown a second time as if it were another text
    assert ja.text.count("都の試験研究機関。区部産業支援拠点として青海に新本部を整備") == 1
