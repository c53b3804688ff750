"""Map checked records to RDF triples (the data graph): one function per table.

Each table's function is registered by table name with ``@maps("table")`` and called in
registration order (the order of the tables in ``data/``); all of them share the helpers of
``MappingContext`` (typed literals, labels, citations, lookups of agents, concepts and plans).

Only one direction of each inverse pair is asserted; OWL RL adds the other in the inferred graph.
No blank nodes are made, so every dump is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS, TIME, XSD
from rdflib.term import Identifier, Node

from ..dates import fiscal_year_bounds, law_number_year
from ..namespaces import EGOV_LAW, ESTAT_SAC, KGO, SCHEMA, entity
from ..text import match_key
from .tables import Citation, Records, Row

CONCEPT_KIND = {
    "resource-types": "resource-type",
    "viewpoints": "viewpoint",
    "topics": "topic",
    "levels": "level",
    "budget-kinds": "budget-kind",
    "statuses": "status",
}
SCHEME_LABELS = {
    "resource-types": ("地域産業資源の類型", "Types of regional industrial resources"),
    "viewpoints": ("基本構想の視点", "Viewpoints of the basic concept"),
    "topics": ("事業のテーマ", "Program topics"),
    "levels": ("事業の実施レベル", "Government levels of programs"),
    "budget-kinds": ("予算の種別", "Budget kinds"),
    "statuses": ("計画の状態", "Statuses of plans"),
}
MUNICIPALITY_CLASS = {"特別区": KGO.SpecialWard, "市": KGO.City, "町": KGO.Town, "村": KGO.Village}
PLAN_CLASS = {
    "revitalization-plan": KGO.RevitalizationPlan,
    "support-plan": KGO.SupportPlan,
    "basic-strategy": KGO.Strategy,
    "guideline": KGO.Guideline,
    "policy": KGO.Plan,
}
MEASURE_CLASS = {
    "category": KGO.Category,
    "pillar": KGO.Pillar,
    "measure-group": KGO.MeasureGroup,
    "measure": KGO.PriorityMeasure,
    "policy-area": KGO.PolicyArea,
    "sub-area": KGO.SubArea,
    "related-measure": KGO.RelatedMeasure,
    "action-heading": KGO.ActionHeading,
}
LINEAGE_PROPERTY = {"merger": KGO.mergedFrom, "expansion": KGO.expandedFrom}
LEGAL_BASIS_CLASS = {"act": KGO.Act, "provision": KGO.Provision, "bill": KGO.Bill}
REFERENCE_LIST = entity("source", "ref")
REFERENCE_FILE = "tokyo_municipalities.csv"  # the reference list is one file: it has no sections


def canonical_decimal(value: object) -> str:
    """Return the canonical xsd:decimal lexical form (always with a decimal point: 50000000.0)."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text if "." in text else text + ".0"


class TripleSink(Protocol):
    """Where the mapping puts triples: an rdflib ``Graph``, or a :class:`kg.pipeline.ntriples.LineSink` at scale."""

    def add(self, triple: tuple[Node, Node, Node], /) -> object: ...


@dataclass
class MappingContext:
    """The graph being built, the records, and the helpers every table's function shares."""

    records: Records
    g: TripleSink = field(default_factory=Graph)
    agent_tables: dict[str, str] = field(default_factory=dict)
    concept_kind: dict[str, str] = field(default_factory=dict)
    plan_kind: dict[str, str] = field(default_factory=dict)
    facility_keys: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        rows = self.records.rows
        self.agent_tables = {
            **{str(r["id"]): "organization" for r in rows("organizations")},
            **{str(r["code6"]): "municipality" for r in rows("municipalities")},
            **{str(r["code6"]): "prefecture" for r in rows("prefectures")},
        }
        self.concept_kind = {str(r["id"]): CONCEPT_KIND[str(r["scheme"])] for r in rows("concepts")}
        self.plan_kind = {str(r["id"]): "plan" for r in rows("plans")}
        self.plan_kind.update({str(r["id"]): "basic-concept" for r in rows("basic_concepts")})
        self.facility_keys = {str(r["id"]) for r in rows("facilities")}

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
        """Add ``rdfs:label`` in Japanese and English."""
        self.add(s, RDFS.label, ja, lang="ja")
        self.add(s, RDFS.label, en, lang="en")

    def alt_labels(self, s: URIRef, row: Row) -> None:
        """Add ``skos:altLabel`` @ja for every other name (short name, abbreviation) in alt_labels_ja."""
        for name in row.many("alt_labels_ja"):
            self.add(s, SKOS.altLabel, name, lang="ja")

    def named(self, s: URIRef, cls: URIRef, row: Row) -> URIRef:
        """Type ``s`` and give it the row's names (labels, other names) and description; return it."""
        self.g.add((s, RDF.type, cls))
        self.labels(s, row["name_ja"], row["name_en"])
        self.alt_labels(s, row)
        self.describe(s, row)
        return s

    def subject(self, key: object) -> URIRef:
        """Return the IRI of a program, plan, organization, facility or local government key."""
        key = str(key)
        if key in self.agent_tables:
            return self.agent(key)
        if key in self.plan_kind:
            return self.plan(key)
        if key in self.facility_keys:
            return entity("facility", key)
        return entity("program", key)

    def describe(self, s: URIRef, row: Row) -> None:
        """Add ``kgo:summary`` (our own wording, never the document's) from description_ja / description_en."""
        self.add(s, KGO.summary, row.get("description_ja"), lang="ja")
        self.add(s, KGO.summary, row.get("description_en"), lang="en")

    def cite(self, s: URIRef, citations: Iterable[Citation]) -> None:
        """Link an entity to its source documents, with one qualified derivation per document."""
        for doc, citation in self._citations(s, "source", citations):
            self.g.add((s, PROV.wasDerivedFrom, entity("source", doc)))
            self.g.add((s, PROV.qualifiedDerivation, citation))

    def cite_fact(self, s: URIRef, p: URIRef, name: str, citations: Iterable[Citation]) -> None:
        """Link ``s`` by ``p`` to citations of where one of its facts (``name``) is stated, one per document."""
        for _, citation in self._citations(s, f"{name}-source", citations):
            self.g.add((s, p, citation))

    def _citations(self, s: URIRef, name: str, citations: Iterable[Citation]) -> list[tuple[str, URIRef]]:
        """Make one ``kgo:SourceCitation`` node ``<s#name-DOC>`` per document, with its sections."""
        sections: dict[str, list[str]] = {}
        for c in citations:
            sections.setdefault(c.doc, []).append(c.section)
        out = []
        for doc, secs in sections.items():
            citation = URIRef(f"{s}#{name}-{doc}")
            self.g.add((citation, RDF.type, KGO.SourceCitation))
            self.g.add((citation, PROV.entity, entity("source", doc)))
            for sec in secs:
                if doc == "ref" and sec == REFERENCE_FILE:
                    continue  # a file name, not a section heading (the list carries kgo:fileName)
                self.g.add((citation, KGO.section, Literal(sec, lang="ja")))
            out.append((doc, citation))
        return out

    def links(self, s: URIRef, p: URIRef, targets: object, to: Callable[[object], URIRef]) -> None:
        """Add ``s p to(t)`` for every key in the list ``targets`` (a many-valued column)."""
        if not targets:
            return
        assert isinstance(targets, list), "a many-valued column reads as a list"
        for t in targets:
            self.g.add((s, p, to(t)))

    def agent(self, key: object) -> URIRef:
        """Return the IRI of an organization, municipality or prefecture key."""
        return entity(self.agent_tables[str(key)], str(key))

    def concept(self, key: object) -> URIRef:
        """Return the IRI of a concept key (its kind depends on the scheme)."""
        return entity(self.concept_kind[str(key)], str(key))

    def plan(self, key: object) -> URIRef:
        """Return the IRI of a plan or basic-concept key."""
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
        """Return (and describe) the OWL-Time instant of one day."""
        node = entity("instant", day.isoformat())
        self.g.add((node, RDF.type, TIME.Instant))
        self.g.add((node, TIME.inXSDDate, Literal(day.isoformat(), datatype=XSD.date)))
        return node


TableMapper = Callable[[MappingContext], None]
TABLE_MAPPERS: dict[str, TableMapper] = {}


def maps(table: str) -> Callable[[TableMapper], TableMapper]:
    """Register the decorated function as the mapping of ``table`` (one function per table)."""

    def register(fn: TableMapper) -> TableMapper:
        if table in TABLE_MAPPERS:
            raise ValueError(f"table {table!r} already has a mapping: {TABLE_MAPPERS[table].__name__}")
        TABLE_MAPPERS[table] = fn
        return fn

    return register


def law(key: object) -> URIRef:
    """Return the IRI of a legal_bases key."""
    return entity("law", str(key))


def municipality(key: object) -> URIRef:
    """Return the IRI of a municipality code."""
    return entity("municipality", str(key))


# ---------------------------------------------------------------------- one function per table
@maps("sources")
def map_sources(m: MappingContext) -> None:
    for r in m.records.rows("sources"):
        s = entity("source", str(r["id"]))
        m.g.add((s, RDF.type, KGO.SourceDocument))
        m.labels(s, r["title_ja"], r["title_en"])
        m.add(s, DCTERMS.title, r["title_ja"], lang="ja")
        m.add(s, DCTERMS.title, r["title_en"], lang="en")
        m.add(s, KGO.fileName, r["file"])
        m.add(s, KGO.publisherName, r.get("publisher_ja"), lang="ja")
        m.add(s, DCTERMS.issued, r.get("issued"), dtype=XSD.date)
        m.add(s, KGO.summary, r.get("description_en"), lang="en")
    m.g.add((REFERENCE_LIST, RDF.type, PROV.Entity))
    m.add(REFERENCE_LIST, KGO.fileName, REFERENCE_FILE)
    m.labels(REFERENCE_LIST, "東京都の区市町村一覧（参照表）", "Reference list of Tokyo's municipalities")
    m.add(
        REFERENCE_LIST,
        KGO.summary,
        "Codes, names and readings from the CC0 list code4fukui/localgovjp, check digits recomputed.",
        lang="en",
    )


def local_government(m: MappingContext, s: URIRef, r: Row) -> None:
    """Add what prefectures and municipalities share: names, reading, codes, statistical area."""
    m.labels(s, r["name_ja"], r["name_en"])
    m.add(s, SKOS.altLabel, r["kana"], lang="ja-Hira")
    m.add(s, KGO.localGovernmentCode, r["code6"])
    m.add(s, KGO.standardAreaCode, r["code5"])
    m.g.add((s, KGO.statisticalArea, URIRef(f"{ESTAT_SAC}{r['code5']}")))
    m.cite(s, r.citations("source"))


@maps("prefectures")
def map_prefectures(m: MappingContext) -> None:
    for r in m.records.rows("prefectures"):
        s = entity("prefecture", str(r["code6"]))
        m.g.add((s, RDF.type, KGO.Prefecture))
        local_government(m, s, r)


@maps("municipalities")
def map_municipalities(m: MappingContext) -> None:
    for r in m.records.rows("municipalities"):
        s = municipality(r["code6"])
        m.g.add((s, RDF.type, MUNICIPALITY_CLASS[str(r["kind"])]))
        local_government(m, s, r)
        m.g.add((s, KGO.prefecture, entity("prefecture", str(r["prefecture"]))))
        m.add(s, KGO.branchOffice, r.get("branch_office"), lang="ja")
        m.add(s, KGO.district, r.get("district"), lang="ja")


@maps("legal_bases")
def map_legal_bases(m: MappingContext) -> None:
    for r in m.records.rows("legal_bases"):
        s = law(r["id"])
        m.g.add((s, RDF.type, LEGAL_BASIS_CLASS[str(r["kind"])]))
        m.labels(s, r["name_ja"], r["name_en"])
        m.add(s, SKOS.altLabel, r.get("short_name_ja"), lang="ja")
        if r.get("law_number_ja"):  # the year of promulgation follows from the number (its day does not)
            m.add(s, KGO.lawNumber, r["law_number_ja"], lang="ja")
            m.add(s, KGO.promulgationYear, str(law_number_year(str(r["law_number_ja"]))), dtype=XSD.gYear)
            m.cite_fact(s, KGO.lawNumberCitation, "law-number", r.citations("law_number_source"))
        if r.get("egov_id"):
            m.add(s, KGO.eGovLawId, r["egov_id"])
            m.g.add((s, RDFS.seeAlso, URIRef(f"{EGOV_LAW}{r['egov_id']}")))
        m.add(s, KGO.promulgatedOn, r.get("promulgated"), dtype=XSD.date)
        m.add(s, KGO.inForceFrom, r.get("in_force"), dtype=XSD.date)
        m.add(s, KGO.repealedOn, r.get("repealed"), dtype=XSD.date)
        if r.get("repealed_by"):
            m.g.add((s, KGO.repealedBy, law(r["repealed_by"])))
        if r.get("parent"):
            m.g.add((s, KGO.partOfAct, law(r["parent"])))
        m.add(s, KGO.articleNumber, r.get("article"), dtype=XSD.integer)
        m.add(s, KGO.paragraphNumber, r.get("paragraph"), dtype=XSD.integer)
        m.cite(s, r.citations("source"))


@maps("concepts")
def map_concepts(m: MappingContext) -> None:
    for scheme, (ja, en) in SCHEME_LABELS.items():
        s = entity("scheme", scheme)
        m.g.add((s, RDF.type, SKOS.ConceptScheme))
        m.labels(s, ja, en)
    for r in m.records.rows("concepts"):
        s = m.concept(r["id"])
        scheme = entity("scheme", str(r["scheme"]))
        m.g.add((s, RDF.type, SKOS.Concept))
        if r["scheme"] == "resource-types":
            m.g.add((s, RDF.type, KGO.ResourceType))
        m.labels(s, r["label_ja"], r["label_en"])
        m.add(s, SKOS.prefLabel, r["label_ja"], lang="ja")
        m.add(s, SKOS.prefLabel, r["label_en"], lang="en")
        m.add(s, SKOS.definition, r["definition_ja"], lang="ja")
        m.add(s, SKOS.definition, r["definition_en"], lang="en")
        m.add(s, SKOS.notation, r.get("notation"))
        m.add(s, KGO.position, r["order"], dtype=XSD.integer)
        m.g.add((s, SKOS.inScheme, scheme))
        m.g.add((s, SKOS.topConceptOf, scheme))
        if r.get("source"):
            m.cite(s, r.citations("source"))


@maps("organizations")
def map_organizations(m: MappingContext) -> None:
    for r in m.records.rows("organizations"):
        s = m.named(entity("organization", str(r["id"])), KGO.Organization, r)
        if r.get("parent"):
            m.g.add((s, KGO.subOrganizationOf, m.agent(r["parent"])))
        m.cite(s, r.citations("source"))


def contact_point(r: Row) -> URIRef:
    """Return the IRI of the contact point of one contacts row (what it answers, and which office)."""
    return entity("contact-point", f"{r['role']}-{r['organization']}")


@maps("contacts")
def map_contacts(m: MappingContext) -> None:
    for r in m.records.rows("contacts"):
        m.add(m.agent(r["organization"]), KGO.telephone, r["phone"])
        s = contact_point(r)
        m.g.add((s, RDF.type, KGO.ContactPoint))
        m.labels(s, r["heading_ja"], r["heading_en"])
        m.add(s, KGO.contactType, r["heading_ja"], lang="ja")
        m.g.add((s, KGO.contactOrganization, m.agent(r["organization"])))
        m.add(s, KGO.contactTelephone, r["phone"])
        m.cite(s, r.citations("source"))


@maps("basic_concepts")
def map_basic_concepts(m: MappingContext) -> None:
    contacts = [m.agent(r["organization"]) for r in m.records.rows("contacts")]
    points = [contact_point(r) for r in m.records.rows("contacts")]
    for r in m.records.rows("basic_concepts"):
        s = entity("basic-concept", str(r["id"]))
        m.g.add((s, RDF.type, KGO.BasicConcept))
        m.labels(s, r["name_ja"], r["name_en"])
        m.alt_labels(s, r)
        m.g.add((s, KGO.author, entity("prefecture", str(r["prefecture"]))))
        m.g.add((s, KGO.legalBasis, law(r["legal_basis"])))
        m.add(s, KGO.dateDrafted, r.get("drafted"), dtype=XSD.gYearMonth)
        m.add(s, KGO.dateChanged, r.get("changed"), dtype=XSD.date)
        m.links(s, KGO.approvedBy, r.get("approved_by"), m.agent)
        m.add(s, KGO.approverNote, r.get("approver_note_ja"), lang="ja")
        m.links(s, KGO.viewpoint, r.get("viewpoints"), m.concept)
        for c in [m.agent(x) for x in r.many("contact")] + contacts:
            m.g.add((s, KGO.contactPoint, c))
        for point in points:
            m.g.add((s, KGO.hasContactPoint, point))
        m.cite(s, r.citations("source"))


@maps("regional_resources")
def map_regional_resources(m: MappingContext) -> None:
    for r in m.records.rows("regional_resources"):
        s = entity("regional-resource", str(r["id"]))
        m.g.add((s, RDF.type, KGO.RegionalResource))
        m.add(s, RDFS.label, r["name_ja"], lang="ja")
        m.g.add((s, KGO.resourceType, m.concept(r["type"])))
        m.g.add((s, KGO.designatedIn, entity("basic-concept", str(r["basic_concept"]))))
        m.links(s, KGO.area, r["municipalities"], municipality)
        m.add(s, KGO.note, r.get("note"), lang="en")
        m.cite(s, r.citations("source"))


@maps("plans")
def map_plans(m: MappingContext) -> None:
    for r in m.records.rows("plans"):
        s = m.named(entity("plan", str(r["id"])), PLAN_CLASS[str(r["kind"])], r)
        if r.get("status"):
            m.g.add((s, KGO.status, m.concept(r["status"])))
        m.links(s, KGO.follows, r.get("follows"), m.plan)
        m.add(s, KGO.draftedInFiscalYear, str(r["drafted_fy"]) if r.get("drafted_fy") else None, dtype=XSD.gYear)
        if r.get("parent"):
            m.g.add((s, KGO.partOfPlan, m.plan(r["parent"])))
        if r.get("municipality"):
            m.g.add((s, KGO.coversMunicipality, municipality(r["municipality"])))
        m.links(s, KGO.author, r.get("author"), m.agent)
        m.links(s, KGO.approvedBy, r.get("approved_by"), m.agent)
        m.links(s, KGO.legalBasis, r.get("legal_basis"), law)
        start, end = r.get("fy_start"), r.get("fy_end")
        if start and end:
            m.add(s, KGO.fiscalYearStart, str(start), dtype=XSD.gYear)
            m.add(s, KGO.fiscalYearEnd, str(end), dtype=XSD.gYear)
            m.g.add((s, KGO.period, m.period(int(str(start)), int(str(end)))))
        m.cite(s, r.citations("source"))


@maps("measures")
def map_measures(m: MappingContext) -> None:
    for r in m.records.rows("measures"):
        s = entity("measure", str(r["id"]))
        m.g.add((s, RDF.type, MEASURE_CLASS[str(r["kind"])]))
        m.labels(s, r["name_ja"], r["name_en"])
        m.describe(s, r)
        m.g.add((s, KGO.measureOf, m.plan(r["plan"])))
        if r.get("parent"):
            m.g.add((s, KGO.parentMeasure, entity("measure", str(r["parent"]))))
        m.add(s, SKOS.notation, r.get("notation"))
        m.add(s, KGO.position, r["order"], dtype=XSD.integer)
        m.cite(s, r.citations("source"))


@maps("programs")
def map_programs(m: MappingContext) -> None:
    for r in m.records.rows("programs"):
        s = entity("program", str(r["id"]))
        m.g.add((s, RDF.type, KGO.Program))
        m.labels(s, r["name_ja"], r["name_en"])
        m.alt_labels(s, r)
        m.describe(s, r)
        m.g.add((s, KGO.governmentLevel, m.concept(r["level"])))
        m.links(s, KGO.implementedBy, r.get("implementer"), m.agent)
        m.links(s, KGO.legalBasis, r.get("legal_basis"), law)
        m.links(s, KGO.topic, r.get("topics"), m.concept)
        m.cite(s, r.citations("source"))


@maps("program_measures")
def map_program_measures(m: MappingContext) -> None:
    for r in m.records.rows("program_measures"):
        program, measure = entity("program", str(r["program"])), entity("measure", str(r["measure"]))
        listing = entity("listing", f"{r['measure']}/{r['program']}")
        m.g.add((program, KGO.servesMeasure, measure))
        m.g.add((program, KGO.listing, listing))
        m.g.add((listing, RDF.type, KGO.ProgramListing))
        m.g.add((listing, KGO.listedProgram, program))
        m.g.add((listing, KGO.listedUnder, measure))
        m.add(listing, KGO.position, r["order"], dtype=XSD.integer)
        m.add(listing, KGO.relisted, r.get("relisted"), lang="ja")
        if r.get("heading"):
            m.g.add((listing, KGO.underHeading, entity("measure", str(r["heading"]))))
        m.cite(listing, r.citations("source"))


@maps("program_lineage")
def map_program_lineage(m: MappingContext) -> None:
    for r in m.records.rows("program_lineage"):
        later, earlier = entity("program", str(r["program"])), entity("program", str(r["replaces"]))
        m.g.add((later, LINEAGE_PROPERTY[str(r["kind"])], earlier))
        m.cite(later, r.citations("source"))


@maps("budgets")
def map_budgets(m: MappingContext) -> None:
    names = {str(r["id"]): (r["name_ja"], r["name_en"]) for r in m.records.rows("programs")}
    for r in m.records.rows("budgets"):
        s = entity("budget", str(r["id"]))
        ja, en = names[str(r["program"])]
        fy = int(str(r["fiscal_year"]))
        kind = "補正予算" if r["budget_kind"] == "supplementary" else "予算"
        m.g.add((s, RDF.type, KGO.BudgetAllocation))
        m.labels(s, f"{ja}（{fy}年度{kind}）", f"{en} (FY{fy} {r['budget_kind']} budget)")
        m.g.add((s, KGO.budgetOf, entity("program", str(r["program"]))))
        m.add(s, KGO.fiscalYear, str(fy), dtype=XSD.gYear)
        m.g.add((s, KGO.budgetKind, m.concept(r["budget_kind"])))
        m.add(s, KGO.supplementaryNumber, r.get("supplementary_no"), dtype=XSD.integer)
        m.add(s, KGO.amount, r["amount_yen"], dtype=XSD.decimal)
        m.add(s, SCHEMA.currency, "JPY")
        m.add(s, KGO.amountAsWritten, r["as_written"], lang="ja")
        for prop, col in ((KGO.isNew, "is_new"), (KGO.includesAgencyGrant, "includes_agency_grant")):
            if isinstance(r.values.get(col), bool):
                m.g.add((s, prop, Literal(r.values[col])))
        m.add(s, KGO.agencyGrantAmount, r.get("agency_grant_yen"), dtype=XSD.decimal)
        m.add(s, KGO.agencyGrantAsWritten, r.get("agency_grant_as_written"), lang="ja")
        m.add(s, KGO.note, r.get("note_en"), lang="en")
        m.cite(s, r.citations("source"))


@maps("facilities")
def map_facilities(m: MappingContext) -> None:
    for r in m.records.rows("facilities"):
        s = m.named(entity("facility", str(r["id"])), KGO.Facility, r)
        m.links(s, KGO.operatedBy, r.get("operator"), m.agent)
        if r.get("part_of"):
            m.g.add((s, KGO.partOfFacility, entity("facility", str(r["part_of"]))))
        if r.get("municipality"):
            m.g.add((s, KGO.facilityMunicipality, municipality(r["municipality"])))
        for program in r.many("programs"):
            m.g.add((entity("program", str(program)), KGO.usesFacility, s))
        m.cite(s, r.citations("source"))


@maps("figures")
def map_figures(m: MappingContext) -> None:
    for r in m.records.rows("figures"):
        s = entity("figure", str(r["id"]))
        m.g.add((s, RDF.type, KGO.StatedFigure))
        m.labels(s, r["label_ja"], r["label_en"])
        m.g.add((s, KGO.figureOf, m.subject(r["subject"])))
        m.add(s, KGO.figureValue, r["value"], dtype=XSD.decimal)
        m.add(s, KGO.unitText, r["unit_ja"], lang="ja")
        m.add(s, KGO.figureAsWritten, r["as_written"], lang="ja")
        m.add(s, KGO.referenceDate, r.get("reference_date"), dtype=XSD.date)
        for prop, col in ((KGO.referenceYear, "reference_year"), (KGO.referenceFiscalYear, "reference_fy")):
            m.add(s, prop, str(r[col]) if r.get(col) else None, dtype=XSD.gYear)
        m.add(s, KGO.referenceAsWritten, r.get("reference_as_written"), lang="ja")
        m.cite(s, r.citations("source"))


def search_keys(names: Mapping[Node, Iterable[str]]) -> Iterable[tuple[Node, Node, Node]]:
    """The ``kgo:searchKey`` triples of entities with the given names (labels and alternative labels:
    kana readings, short names), folded for matching."""
    for s, texts in names.items():
        keys = sorted({match_key(text) for text in texts})
        yield s, KGO.searchKey, Literal(" | ".join(keys))


def add_search_keys(g: Graph) -> None:
    """Give every labelled entity of ``g`` a ``kgo:searchKey`` (see :func:`search_keys`)."""
    labelled = sorted({s for s in g.subjects(RDFS.label) if isinstance(s, Identifier)})
    names: dict[Node, list[str]] = {
        s: [str(o) for p in (RDFS.label, SKOS.altLabel) for o in g.objects(s, p)] for s in labelled
    }
    for t in list(search_keys(names)):
        g.add(t)


def map_records(records: Records) -> Graph:
    """Return the data graph for ``records``: every registered table mapping, in registration order."""
    g = Graph()
    map_into(records, g)
    add_search_keys(g)
    return g


def map_into(records: Records, sink: TripleSink) -> None:
    """Put the triples of every registered table mapping into ``sink`` (search keys not included)."""
    context = MappingContext(records, sink)
    for map_table in TABLE_MAPPERS.values():
        map_table(context)
