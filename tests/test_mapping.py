"""Facts of document 000 checked by hand against the text, and the shape of the data graph."""

from __future__ import annotations

from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from kg.namespaces import KGO, entity

from .conftest import table_rows as _table_rows


def _codes(g, resource: URIRef) -> set[str]:
    return {str(m).rsplit("/", 1)[-1] for m in g.objects(resource, KGO.area)}


def _by_label(g, label: str) -> list[URIRef]:
    return sorted(g.subjects(RDFS.label, Literal(label, lang="ja")))


# Municipality codes (from the reference list) for readability.
NERIMA, HINO, INAGI = "131202", "132128", "132250"
CHIYODA, TAITO, KOTO, OTA = "131016", "131067", "131083", "131113"
ISLANDS = ["133612", "133621", "133639", "133647", "133817", "133825", "134015", "134023"]


def test_resource_counts_per_type(graphs):
    g = graphs.inferred + graphs.data + graphs.ontology
    counts = {cls: len(set(g.subjects(RDF.type, cls))) for cls in
              (KGO.FarmForestFisheryResource, KGO.MiningManufacturingResource, KGO.TourismResource)}
    # Rows of tables (1), (2), (3) in 000 section 2, counted by hand: 35, 68, 186.
    assert counts == {KGO.FarmForestFisheryResource: 35, KGO.MiningManufacturingResource: 68,
                      KGO.TourismResource: 186}
    assert len(set(graphs.data.subjects(RDF.type, KGO.RegionalResource))) == 289


def test_single_municipality_resource(graphs):
    (r,) = _by_label(graphs.data, "練馬大根")
    assert _codes(graphs.data, r) == {NERIMA}


def test_continued_municipality_lists(graphs):
    g = graphs.data
    (takao,) = _by_label(g, "高尾(ぶどう)")  # 練馬区 / tab-continued 日野市、稲城市
    assert _codes(g, takao) == {NERIMA, HINO, INAGI}
    (hyogu,) = _by_label(g, "江戸表具")  # continued over a page break on two tab lines
    assert _codes(g, hyogu) == {CHIYODA, TAITO, KOTO, OTA}
    (jizake,) = _by_label(g, "東京地酒(清酒)")
    assert _codes(g, jizake) == {"131172", "132012", "132021", "132055", "132187", "132233", "132284",
                                 "132063", "132136", "132195"}


def test_nine_municipalities(graphs):
    g = graphs.data
    (keisoku,) = _by_label(g, "計測・分析機器")
    assert _codes(g, keisoku) == {"132012", "132055", "132071", "132187", "132276", "132284",
                                  "133035", "133051", "133086"}
    (tengusa,) = _by_label(g, "てんぐさ")
    assert _codes(g, tengusa) == {"131032", *ISLANDS}


def test_split_municipality_name_rejoined(graphs):
    (shimazake,) = _by_label(graphs.data, "島酒(焼酎)")  # 御 / 蔵島村 split over two lines
    assert _codes(graphs.data, shimazake) == set(ISLANDS)


def test_split_resource_name_rejoined(graphs):
    label = "飛鳥山 3つの博物館 (紙の博物館、北区飛鳥山博物館、渋沢史料館)"
    (asukayama,) = _by_label(graphs.data, label)
    assert _codes(graphs.data, asukayama) == {"131172"}
    assert not _by_label(graphs.data, "物館、渋沢史料館)")


def test_names_with_comma_kept_whole(graphs):
    (imo,) = _by_label(graphs.data, "アメリカ芋、ムラサキ芋")
    assert _codes(graphs.data, imo) == {"133639"}
    assert _by_label(graphs.data, "お鷹の道、真姿の池湧水群")


def test_same_name_two_resources(graphs):
    mihara = _by_label(graphs.data, "三原山")
    assert len(mihara) == 2
    assert {frozenset(_codes(graphs.data, r)) for r in mihara} == {frozenset({"133612"}), frozenset({"134015"})}


def test_every_resource_traces_to_section(graphs):
    from rdflib.namespace import PROV
    g = graphs.data
    for r in g.subjects(RDF.type, KGO.RegionalResource):
        assert (r, PROV.wasDerivedFrom, entity("source", "000")) in g
        citation = g.value(r, PROV.qualifiedDerivation)
        assert str(g.value(citation, KGO.section)).startswith("2 (")



def test_legal_basis(graphs):
    g = graphs.data
    act = entity("law", "419ac0000000039")
    assert (act, KGO.eGovLawId, Literal("419AC0000000039")) in g
    assert (act, KGO.lawNumber, Literal("平成19年法律第39号", lang="ja")) in g
    assert g.value(act, KGO.inForceFrom) == Literal("2007-06-29", datatype=XSD.date)
    assert g.value(act, KGO.repealedOn) == Literal("2020-10-01", datatype=XSD.date)
    assert g.value(act, KGO.repealedBy) == entity("law", "502ac0000000058")
    provision = entity("law", "419ac0000000039-a5-p1")
    assert g.value(provision, KGO.partOfAct) == act
    assert (g.value(provision, KGO.articleNumber), g.value(provision, KGO.paragraphNumber)) == (
        Literal(5), Literal(1))


def test_promulgation_year_derived_from_the_law_number_with_its_source(graphs):
    from rdflib.namespace import PROV

    from kg.dates import law_number_year

    g = graphs.data
    laws = _table_rows("legal_bases")
    numbered = [r for r in laws if r["law_number_ja"]]
    assert len(numbered) >= 5
    for r in laws:
        s = entity("law", r["id"])
        if not r["law_number_ja"]:
            assert g.value(s, KGO.promulgationYear) is None and g.value(s, KGO.lawNumberCitation) is None
            continue
        year = g.value(s, KGO.promulgationYear)
        assert year == Literal(str(law_number_year(r["law_number_ja"])), datatype=XSD.gYear)
        cited = set()
        for c in g.objects(s, KGO.lawNumberCitation):
            assert (c, RDF.type, KGO.SourceCitation) in g
            doc = str(g.value(c, PROV.entity)).rsplit("/", 1)[-1]
            cited |= {(doc, str(sec)) for sec in g.objects(c, KGO.section)}
        expected = {tuple(c.split(":", 1)) for c in r["law_number_source"].split(";")}
        assert cited == expected, r["id"]
    act = entity("law", "419ac0000000039")
    assert g.value(act, KGO.promulgationYear) == Literal("2007", datatype=XSD.gYear)
    assert ("000", "中小企業地域資源活用促進法における基本構想の変更について") in {
        (str(g.value(c, PROV.entity)).rsplit("/", 1)[-1], str(sec))
        for c in g.objects(act, KGO.lawNumberCitation) for sec in g.objects(c, KGO.section)}


def test_basic_concept(graphs):
    g = graphs.data
    bc = entity("basic-concept", "tokyo-basic-concept-regional-resources")
    assert g.value(bc, KGO.dateDrafted) == Literal("2008-07", datatype=XSD.gYearMonth)
    assert g.value(bc, KGO.dateChanged) == Literal("2011-01-21", datatype=XSD.date)
    assert g.value(bc, KGO.legalBasis) == entity("law", "419ac0000000039-a5-p1")
    assert g.value(bc, KGO.author) == entity("prefecture", "130001")
    assert {str(v).rsplit("/", 1)[-1] for v in g.objects(bc, KGO.viewpoint)} == {
        "diversity", "advancement", "internationality"}
    assert (bc, KGO.approverNote, Literal("経済産業大臣ほか主務大臣", lang="ja")) in g


def test_inverse_links_are_inferred(graphs):
    nerima = entity("municipality", NERIMA)
    assert (nerima, KGO.hasRegionalResource, _by_label(graphs.data, "練馬大根")[0]) in graphs.inferred
    assert not any(graphs.data.triples((None, KGO.hasRegionalResource, None)))


def test_every_class_has_instances(union):
    classes = [c for c in union.subjects(RDF.type, OWL.Class)
               if isinstance(c, URIRef) and str(c).startswith(str(KGO))]
    assert len(classes) > 30
    empty = sorted(str(c) for c in classes if not any(union.triples((None, RDF.type, c))))
    assert not empty, f"classes without instances: {empty}"


def test_no_blank_nodes(graphs):
    """Data and inferred graph have none; the ontology's only ones are its OWL restrictions (OWL 2 needs them so)."""
    from rdflib import BNode
    for g in (graphs.data, graphs.inferred):
        assert not any(isinstance(x, BNode) for t in g for x in t)
    blank = {x for t in graphs.ontology for x in t if isinstance(x, BNode)}
    assert blank == set(graphs.ontology.subjects(RDF.type, OWL.Restriction)) and len(blank) == 3


def test_revitalization_plans(graphs):
    """The ten plans of 001 and 004: municipality, approver, periods with exact dates."""
    g = graphs.data
    plans = set(g.subjects(RDF.type, KGO.RevitalizationPlan))
    assert len(plans) == 10
    shinagawa = entity("plan", "shinagawa-ku-revitalization-plan-fy2023")
    assert g.value(shinagawa, KGO.coversMunicipality) == entity("municipality", "131091")
    assert g.value(shinagawa, KGO.approvedBy) == entity("prefecture", "130001")
    assert (str(g.value(shinagawa, KGO.fiscalYearStart)), str(g.value(shinagawa, KGO.fiscalYearEnd))) == ("2023", "2025")
    from rdflib.namespace import TIME
    period = g.value(shinagawa, KGO.period)
    first = g.value(g.value(period, TIME.hasBeginning), TIME.inXSDDate)
    last = g.value(g.value(period, TIME.hasEnd), TIME.inXSDDate)
    assert (str(first), str(last)) == ("2023-04-01", "2026-03-31")  # 令和5年度～令和7年度
    adachi = entity("plan", "adachi-ku-revitalization-plan-fy2021")
    assert (str(g.value(adachi, KGO.fiscalYearStart)), str(g.value(adachi, KGO.fiscalYearEnd))) == ("2021", "2023")


def test_plan_measures_and_programs_in_order(graphs):
    g = graphs.data
    # 品川区 (3): 事業PR販売促進助成, エンジニア確保支援事業, スタートアップとの連携強化, 創業支援施設事業充実
    measure = entity("measure", "shinagawa-ku-rp2023-c3")
    listed = sorted((int(g.value(lst, KGO.position)), str(g.value(g.value(lst, KGO.listedProgram), RDFS.label)))
                    for lst in g.subjects(KGO.listedUnder, measure))
    labels = [label for _, label in listed]
    assert len(labels) == 4
    names = {str(o) for p in g.subjects(KGO.servesMeasure, measure) for o in g.objects(p, RDFS.label)}
    assert {"事業PR販売促進助成", "エンジニア確保支援事業", "スタートアップとの連携強化", "創業支援施設事業充実"} <= names
    # 羽村市 pillar 2 lists four programs; 国立市 (3) splits 創業塾・開業資金融資あっせん事業 and 創業支援補助金事業
    assert len(list(g.subjects(KGO.servesMeasure, entity("measure", "hamura-shi-rp2021-p2")))) == 4
    assert len(list(g.subjects(KGO.servesMeasure, entity("measure", "kunitachi-shi-rp2023-c3")))) == 2


def test_same_generic_name_in_two_municipalities_is_two_programs(graphs):
    found = _by_label(graphs.data, "創業支援事業")
    bodies = {graphs.data.value(p, KGO.implementedBy) for p in found}
    assert len(found) == 2 and bodies == {entity("municipality", "132098"), entity("municipality", "132276")}


def test_strategy_measures_and_relisting(graphs):
    g = graphs.data
    measures = [m for m in g.subjects(RDF.type, KGO.PriorityMeasure)]
    assert len(measures) == 10
    hub = entity("program", "industrial-support-base-redevelopment")
    under = {str(m).rsplit("/", 1)[-1] for m in g.objects(hub, KGO.servesMeasure)}
    assert {"sfy2011-m2-1", "sfy2011-m2-8", "bc-m2-1"} <= under
    relisted = {str(g.value(lst, KGO.relisted)) for lst in g.objects(hub, KGO.listing) if g.value(lst, KGO.relisted)}
    assert relisted == {"再掲"}


def test_related_measures_of_the_basic_concept(graphs):
    g = graphs.data
    bc = entity("basic-concept", "tokyo-basic-concept-regional-resources")
    related = [m for m in g.subjects(KGO.measureOf, bc) if g.value(m, KGO.parentMeasure) == entity("measure", "bc-m2")]
    assert len(related) == 9  # ① … ⑨
    startup = {str(o) for p in g.subjects(KGO.servesMeasure, entity("measure", "bc-m2-6")) for o in g.objects(p, RDFS.label)}
    assert {"TOKYO起業塾", "学生起業家育成支援事業", "社会的企業家育成支援事業"} <= startup


def test_contacts(graphs):
    g = graphs.data
    office = entity("organization", "tmg-bila-regional-industry")
    assert str(g.value(office, KGO.telephone)) == "03-5320-4747"
    chain = [office]
    while g.value(chain[-1], KGO.subOrganizationOf) is not None:
        chain.append(g.value(chain[-1], KGO.subOrganizationOf))
    assert chain[-1] == entity("prefecture", "130001") and len(chain) == 4
