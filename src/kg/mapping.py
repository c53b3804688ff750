"""Map checked records to RDF triples (the data graph).

Only one direction of each inverse pair is asserted; OWL RL adds the other in the inferred graph.
No blank nodes are made, so every dump is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, TIME, XSD

from .dates import fiscal_year_bounds
from .namespaces import EGOV_LAW, ESTAT_SAC, KGO, SCHEMA, entity
from .sources import Citation, Records, Row
from .text import match_key

CONCEPT_KIND = {
    "resource-types": "resource-type",
    "viewpoints": "viewpoint",
    "topics": "topic",
    "levels": "level",
    "budget-kinds": "budget-kind",
}
SCHEME_LABELS = {
    "resource-types": ("地域産業資源の類型", "Types of regional industrial resources"),
    "viewpoints": ("基本構想の視点", "Viewpoints of the basic concept"),
    "topics": ("事業のテーマ", "Program topics"),
    "levels": ("事業の実施レベル", "Government levels of programs"),
    "budget-kinds": ("予算の種別", "Budget kinds"),
}
MUNICIPALITY_CLASS = {"特別区": KGO.SpecialWard, "市": KGO.City, "町": KGO.Town, "村": KGO.Village}
PLAN_CLASS = {
    "revitalization-plan": KGO.RevitalizationPlan,
    "support-plan": KGO.SupportPlan,
    "basic-strategy": KGO.Strategy,
    "guideline": KGO.Guideline,
}
MEASURE_CLASS = {
    "category": KGO.Category,
    "pillar": KGO.Pillar,
    "measure-group": KGO.MeasureGroup,
    "measure": KGO.PriorityMeasure,
    "policy-area": KGO.PolicyArea,
    "sub-area": KGO.SubArea,
    "related-measure": KGO.RelatedMeasure,
}
REFERENCE_LIST = entity("source", "ref")


def canonical_decimal(value: object) -> str:
    """Return the canonical xsd:decimal lexical form (always with a decimal point: 50000000.0)."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text if "." in text else text + ".0"


class Mapper:
    """Builds the data graph from records; one method per table."""

    def __init__(self, records: Records):
        self.records = records
        self.g = Graph()
        self.agent_tables = {
            **{str(r["id"]): "organization" for r in records.rows("organizations")},
            **{str(r["code6"]): "municipality" for r in records.rows("municipalities")},
            **{str(r["code6"]): "prefecture" for r in records.rows("prefectures")},
        }
        self.concept_kind = {str(r["id"]): CONCEPT_KIND[str(r["scheme"])] for r in records.rows("concepts")}
        self.plan_kind = {str(r["id"]): "plan" for r in records.rows("plans")}
        self.plan_kind.update({str(r["id"]): "basic-concept" for r in records.rows("basic_concepts")})

    # ------------------------------------------------------------------ helpers
    def add(self, s: URIRef, p: URIRef, o: object, lang: str | None = None, dtype: URIRef | None = None) -> None:
        """Add one triple; empty values are skipped, Python values become typed literals."""
        if o in (None, "", []):
            return
        if isinstance(o, URIRef):
            self.g.add((s, p, o))
        elif dtype == XSD.decimal:
            self.g.add((s, p, Literal(canonical_decimal(o), datatype=XSD.decimal)))
        elif lang:
            self.g.add((s, p, Literal(str(o), lang=lang)))
        else:
            self.g.add((s, p, Literal(o, datatype=dtype) if dtype else Literal(o)))

    def labels(self, s: URIRef, ja: object, en: object) -> None:
        self.add(s, RDFS.label, ja, lang="ja")
        self.add(s, RDFS.label, en, lang="en")

    def describe(self, s: URIRef, row: Row, ja: str = "description_ja", en: str = "description_en") -> None:
        self.add(s, DCTERMS.description, row.get(ja), lang="ja")
        self.add(s, DCTERMS.description, row.get(en), lang="en")

    def cite(self, s: URIRef, citations: Iterable[Citation]) -> None:
        """Link an entity to its source documents, with one qualified derivation per document."""
        sections: dict[str, list[str]] = {}
        for c in citations:
            sections.setdefault(c.doc, []).append(c.section)
        for doc, secs in sections.items():
            source = entity("source", doc)
            self.g.add((s, PROV.wasDerivedFrom, source))
            citation = URIRef(f"{s}#source-{doc}")
            self.g.add((s, PROV.qualifiedDerivation, citation))
            self.g.add((citation, RDF.type, KGO.SourceCitation))
            self.g.add((citation, PROV.entity, source))
            for sec in secs:
                self.g.add((citation, KGO.section, Literal(sec, lang="ja")))

    def agent(self, key: object) -> URIRef:
        return entity(self.agent_tables[str(key)], str(key))

    def concept(self, key: object) -> URIRef:
        return entity(self.concept_kind[str(key)], str(key))

    def plan(self, key: object) -> URIRef:
        return entity(self.plan_kind[str(key)], str(key))

    def period(self, start: int, end: int) -> URIRef:
        """Return (and describe) the OWL-Time interval from FY start to FY end."""
        interval = entity("period", f"fy{start}-fy{end}")
        first, _ = fiscal_year_bounds(start)
        _, last = fiscal_year_bounds(end)
        self.g.add((interval, RDF.type, TIME.ProperInterval))
        self.labels(interval, f"{start}年度～{end}年度", f"FY{start}–FY{end}")
        self.g.add((interval, TIME.hasBeginning, self.instant(first)))
        self.g.add((interval, TIME.hasEnd, self.instant(last)))
        return interval

    def instant(self, day: date) -> URIRef:
        node = entity("instant", day.isoformat())
        self.g.add((node, RDF.type, TIME.Instant))
        self.g.add((node, TIME.inXSDDate, Literal(day.isoformat(), datatype=XSD.date)))
        return node

    # ------------------------------------------------------------------ tables
    def sources(self) -> None:
        for r in self.records.rows("sources"):
            s = entity("source", str(r["id"]))
            self.g.add((s, RDF.type, KGO.SourceDocument))
            self.labels(s, r["title_ja"], r["title_en"])
            self.add(s, DCTERMS.title, r["title_ja"], lang="ja")
            self.add(s, DCTERMS.title, r["title_en"], lang="en")
            self.add(s, KGO.fileName, r["file"])
            self.add(s, KGO.publisherName, r.get("publisher_ja"), lang="ja")
            self.add(s, DCTERMS.issued, r.get("issued"), dtype=XSD.date)
            self.add(s, DCTERMS.description, r.get("description_en"), lang="en")
        self.g.add((REFERENCE_LIST, RDF.type, PROV.Entity))
        self.labels(REFERENCE_LIST, "東京都の区市町村一覧（参照表）", "Reference list of Tokyo's municipalities")
        self.add(
            REFERENCE_LIST,
            DCTERMS.description,
            "Codes, names and readings from the CC0 list code4fukui/localgovjp, check digits recomputed.",
            lang="en",
        )

    def local_government(self, s: URIRef, r: Row) -> None:
        self.labels(s, r["name_ja"], r["name_en"])
        self.add(s, SKOS.altLabel, r["kana"], lang="ja-Hira")
        self.add(s, KGO.localGovernmentCode, r["code6"])
        self.add(s, KGO.standardAreaCode, r["code5"])
        self.g.add((s, KGO.statisticalArea, URIRef(f"{ESTAT_SAC}{r['code5']}")))
        self.cite(s, r["source"])  # type: ignore[arg-type]

    def municipalities(self) -> None:
        for r in self.records.rows("prefectures"):
            s = entity("prefecture", str(r["code6"]))
            self.g.add((s, RDF.type, KGO.Prefecture))
            self.local_government(s, r)
        for r in self.records.rows("municipalities"):
            s = entity("municipality", str(r["code6"]))
            self.g.add((s, RDF.type, MUNICIPALITY_CLASS[str(r["kind"])]))
            self.local_government(s, r)
            self.g.add((s, KGO.prefecture, entity("prefecture", str(r["prefecture"]))))
            self.add(s, KGO.branchOffice, r.get("branch_office"), lang="ja")
            self.add(s, KGO.district, r.get("district"), lang="ja")

    def legal_bases(self) -> None:
        for r in self.records.rows("legal_bases"):
            s = entity("law", str(r["id"]))
            is_act = r["kind"] == "act"
            self.g.add((s, RDF.type, KGO.Act if is_act else KGO.Provision))
            self.labels(s, r["name_ja"], r["name_en"])
            self.add(s, SKOS.altLabel, r.get("short_name_ja"), lang="ja")
            self.add(s, KGO.lawNumber, r.get("law_number_ja"), lang="ja")
            if r.get("egov_id"):
                self.add(s, KGO.eGovLawId, r["egov_id"])
                self.g.add((s, RDFS.seeAlso, URIRef(f"{EGOV_LAW}{r['egov_id']}")))
            self.add(s, KGO.promulgatedOn, r.get("promulgated"), dtype=XSD.date)
            self.add(s, KGO.inForceFrom, r.get("in_force"), dtype=XSD.date)
            self.add(s, KGO.repealedOn, r.get("repealed"), dtype=XSD.date)
            if r.get("repealed_by"):
                self.g.add((s, KGO.repealedBy, entity("law", str(r["repealed_by"]))))
            if r.get("parent"):
                self.g.add((s, KGO.partOfAct, entity("law", str(r["parent"]))))
            self.add(s, KGO.articleNumber, r.get("article"), dtype=XSD.integer)
            self.add(s, KGO.paragraphNumber, r.get("paragraph"), dtype=XSD.integer)
            self.cite(s, r["source"])  # type: ignore[arg-type]

    def concepts(self) -> None:
        for scheme, (ja, en) in SCHEME_LABELS.items():
            s = entity("scheme", scheme)
            self.g.add((s, RDF.type, SKOS.ConceptScheme))
            self.labels(s, ja, en)
        for r in self.records.rows("concepts"):
            s = self.concept(r["id"])
            scheme = entity("scheme", str(r["scheme"]))
            self.g.add((s, RDF.type, SKOS.Concept))
            if r["scheme"] == "resource-types":
                self.g.add((s, RDF.type, KGO.ResourceType))
            self.labels(s, r["label_ja"], r["label_en"])
            self.add(s, SKOS.prefLabel, r["label_ja"], lang="ja")
            self.add(s, SKOS.prefLabel, r["label_en"], lang="en")
            self.add(s, SKOS.definition, r["definition_ja"], lang="ja")
            self.add(s, SKOS.definition, r["definition_en"], lang="en")
            self.add(s, SKOS.notation, r.get("notation"))
            self.add(s, KGO.position, r["order"], dtype=XSD.integer)
            self.g.add((s, SKOS.inScheme, scheme))
            self.g.add((s, SKOS.topConceptOf, scheme))
            if r.get("source"):
                self.cite(s, r["source"])  # type: ignore[arg-type]

    def organizations(self) -> None:
        for r in self.records.rows("organizations"):
            s = entity("organization", str(r["id"]))
            self.g.add((s, RDF.type, KGO.Organization))
            self.labels(s, r["name_ja"], r["name_en"])
            self.describe(s, r)
            if r.get("parent"):
                self.g.add((s, KGO.subOrganizationOf, self.agent(r["parent"])))
            self.cite(s, r["source"])  # type: ignore[arg-type]
        for r in self.records.rows("contacts"):
            self.add(self.agent(r["organization"]), KGO.telephone, r["phone"])

    def basic_concepts(self) -> None:
        contacts = [self.agent(r["organization"]) for r in self.records.rows("contacts")]
        for r in self.records.rows("basic_concepts"):
            s = entity("basic-concept", str(r["id"]))
            self.g.add((s, RDF.type, KGO.BasicConcept))
            self.labels(s, r["name_ja"], r["name_en"])
            self.g.add((s, KGO.author, entity("prefecture", str(r["prefecture"]))))
            self.g.add((s, KGO.legalBasis, entity("law", str(r["legal_basis"]))))
            self.add(s, KGO.dateDrafted, r.get("drafted"), dtype=XSD.gYearMonth)
            self.add(s, KGO.dateChanged, r.get("changed"), dtype=XSD.date)
            for a in r.get("approved_by", []):  # type: ignore[union-attr]
                self.g.add((s, KGO.approvedBy, self.agent(a)))
            self.add(s, KGO.approverNote, r.get("approver_note_ja"), lang="ja")
            for v in r.get("viewpoints", []):  # type: ignore[union-attr]
                self.g.add((s, KGO.viewpoint, self.concept(v)))
            for c in [self.agent(x) for x in r.get("contact", [])] + contacts:  # type: ignore[union-attr]
                self.g.add((s, KGO.contactPoint, c))
            self.cite(s, r["source"])  # type: ignore[arg-type]

    def regional_resources(self) -> None:
        for r in self.records.rows("regional_resources"):
            s = entity("regional-resource", str(r["id"]))
            self.g.add((s, RDF.type, KGO.RegionalResource))
            self.add(s, RDFS.label, r["name_ja"], lang="ja")
            self.g.add((s, KGO.resourceType, self.concept(r["type"])))
            self.g.add((s, KGO.designatedIn, entity("basic-concept", str(r["basic_concept"]))))
            for m in r["municipalities"]:  # type: ignore[union-attr]
                self.g.add((s, KGO.area, entity("municipality", str(m))))
            self.add(s, KGO.note, r.get("note"), lang="en")
            self.cite(s, r["source"])  # type: ignore[arg-type]

    def plans(self) -> None:
        for r in self.records.rows("plans"):
            s = entity("plan", str(r["id"]))
            self.g.add((s, RDF.type, PLAN_CLASS[str(r["kind"])]))
            self.labels(s, r["name_ja"], r["name_en"])
            self.describe(s, r)
            if r.get("parent"):
                self.g.add((s, KGO.partOfPlan, self.plan(r["parent"])))
            if r.get("municipality"):
                self.g.add((s, KGO.coversMunicipality, entity("municipality", str(r["municipality"]))))
            for a in r.get("author", []):  # type: ignore[union-attr]
                self.g.add((s, KGO.author, self.agent(a)))
            for a in r.get("approved_by", []):  # type: ignore[union-attr]
                self.g.add((s, KGO.approvedBy, self.agent(a)))
            for law in r.get("legal_basis", []):  # type: ignore[union-attr]
                self.g.add((s, KGO.legalBasis, entity("law", str(law))))
            start, end = r.get("fy_start"), r.get("fy_end")
            if start and end:
                self.add(s, KGO.fiscalYearStart, str(start), dtype=XSD.gYear)
                self.add(s, KGO.fiscalYearEnd, str(end), dtype=XSD.gYear)
                self.g.add((s, KGO.period, self.period(int(start), int(end))))  # type: ignore[arg-type]
            self.cite(s, r["source"])  # type: ignore[arg-type]

    def measures(self) -> None:
        for r in self.records.rows("measures"):
            s = entity("measure", str(r["id"]))
            self.g.add((s, RDF.type, MEASURE_CLASS[str(r["kind"])]))
            self.labels(s, r["name_ja"], r["name_en"])
            self.describe(s, r)
            self.g.add((s, KGO.measureOf, self.plan(r["plan"])))
            if r.get("parent"):
                self.g.add((s, KGO.parentMeasure, entity("measure", str(r["parent"]))))
            self.add(s, SKOS.notation, r.get("notation"))
            self.add(s, KGO.position, r["order"], dtype=XSD.integer)
            self.cite(s, r["source"])  # type: ignore[arg-type]

    def programs(self) -> None:
        for r in self.records.rows("programs"):
            s = entity("program", str(r["id"]))
            self.g.add((s, RDF.type, KGO.Program))
            self.labels(s, r["name_ja"], r["name_en"])
            self.describe(s, r)
            self.g.add((s, KGO.governmentLevel, self.concept(r["level"])))
            for a in r.get("implementer", []):  # type: ignore[union-attr]
                self.g.add((s, KGO.implementedBy, self.agent(a)))
            for law in r.get("legal_basis", []):  # type: ignore[union-attr]
                self.g.add((s, KGO.legalBasis, entity("law", str(law))))
            for t in r.get("topics", []):  # type: ignore[union-attr]
                self.g.add((s, KGO.topic, self.concept(t)))
            self.cite(s, r["source"])  # type: ignore[arg-type]
        for r in self.records.rows("program_measures"):
            program, measure = entity("program", str(r["program"])), entity("measure", str(r["measure"]))
            listing = entity("listing", f"{r['measure']}/{r['program']}")
            self.g.add((program, KGO.servesMeasure, measure))
            self.g.add((program, KGO.listing, listing))
            self.g.add((listing, RDF.type, KGO.ProgramListing))
            self.g.add((listing, KGO.listedProgram, program))
            self.g.add((listing, KGO.listedUnder, measure))
            self.add(listing, KGO.position, r["order"], dtype=XSD.integer)
            self.add(listing, KGO.relisted, r.get("relisted"), lang="ja")
            self.cite(listing, r["source"])  # type: ignore[arg-type]

    def budgets(self) -> None:
        names = {str(r["id"]): (r["name_ja"], r["name_en"]) for r in self.records.rows("programs")}
        for r in self.records.rows("budgets"):
            s = entity("budget", str(r["id"]))
            ja, en = names[str(r["program"])]
            fy = int(r["fiscal_year"])  # type: ignore[arg-type]
            kind = "補正予算" if r["budget_kind"] == "supplementary" else "予算"
            self.g.add((s, RDF.type, KGO.BudgetAllocation))
            self.labels(s, f"{ja}（{fy}年度{kind}）", f"{en} (FY{fy} {r['budget_kind']} budget)")
            self.g.add((s, KGO.budgetOf, entity("program", str(r["program"]))))
            self.add(s, KGO.fiscalYear, str(fy), dtype=XSD.gYear)
            self.g.add((s, KGO.budgetKind, self.concept(r["budget_kind"])))
            self.add(s, KGO.supplementaryNumber, r.get("supplementary_no"), dtype=XSD.integer)
            self.add(s, KGO.amount, r["amount_yen"], dtype=XSD.decimal)
            self.add(s, SCHEMA.currency, "JPY")
            self.add(s, KGO.amountAsWritten, r["as_written"], lang="ja")
            for prop, col in ((KGO.isNew, "is_new"), (KGO.includesAgencyGrant, "includes_agency_grant")):
                if isinstance(r.values.get(col), bool):
                    self.g.add((s, prop, Literal(r.values[col])))
            self.add(s, KGO.agencyGrantAmount, r.get("agency_grant_yen"), dtype=XSD.decimal)
            self.add(s, KGO.agencyGrantAsWritten, r.get("agency_grant_as_written"), lang="ja")
            self.add(s, KGO.note, r.get("note_en"), lang="en")
            self.cite(s, r["source"])  # type: ignore[arg-type]


def add_search_keys(g: Graph) -> None:
    """Give every labelled entity a ``kgo:searchKey``: its labels and alternative labels (kana
    readings, short names) folded for matching."""
    for s in sorted(set(g.subjects(RDFS.label))):
        names = [*g.objects(s, RDFS.label), *g.objects(s, SKOS.altLabel)]
        keys = sorted({match_key(str(label)) for label in names})
        g.add((s, KGO.searchKey, Literal(" | ".join(keys))))


def map_records(records: Records) -> Graph:
    """Return the data graph for ``records``."""
    m = Mapper(records)
    for step in (
        m.sources,
        m.municipalities,
        m.legal_bases,
        m.concepts,
        m.organizations,
        m.basic_concepts,
        m.regional_resources,
        m.plans,
        m.measures,
        m.programs,
        m.budgets,
    ):
        step()
    add_search_keys(m.g)
    return m.g
