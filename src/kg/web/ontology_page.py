"""The ontology's own page: its metadata, its terms and every kind of axiom it states, in ja or en.

Class expressions are spelled out ("resource type = tourism"), never shown by a node's name, so
the page reads the same whether a restriction is a blank node (as OWL 2 needs) or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DC, DCTERMS, OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from ..namespaces import KGO, SCHEMA, curie

# Header properties shown under "about", in this order: (property, ja, en).
METADATA = (
    (OWL.versionInfo, "版", "version"),
    (OWL.versionIRI, "版 IRI", "version IRI"),
    (DCTERMS.license, "ライセンス", "licence"),
    (DC.creator, "作成者", "creator"),
    (DCTERMS.creator, "作成者", "creator"),
    (DCTERMS.publisher, "公開者", "publisher"),
    (SCHEMA.dateCreated, "作成日", "created"),
    (SCHEMA.dateModified, "更新日", "modified"),
    (DCTERMS.issued, "公開日", "issued"),
)
KINDS = (
    (OWL.Class, "クラス", "class"),
    (OWL.ObjectProperty, "オブジェクトプロパティ", "object property"),
    (OWL.DatatypeProperty, "データプロパティ", "datatype property"),
    (OWL.AnnotationProperty, "注釈プロパティ", "annotation property"),
)
CHARACTERISTICS = (
    OWL.FunctionalProperty,
    OWL.InverseFunctionalProperty,
    OWL.TransitiveProperty,
    OWL.SymmetricProperty,
    OWL.AsymmetricProperty,
    OWL.ReflexiveProperty,
    OWL.IrreflexiveProperty,
)
RESTRICTIONS = (  # restriction property → how it is written between the property and the filler
    (OWL.hasValue, "="),
    (OWL.someValuesFrom, "some"),
    (OWL.allValuesFrom, "only"),
    (OWL.minCardinality, "min"),
    (OWL.maxCardinality, "max"),
    (OWL.cardinality, "exactly"),
    (OWL.minQualifiedCardinality, "min"),
    (OWL.maxQualifiedCardinality, "max"),
    (OWL.qualifiedCardinality, "exactly"),
)


@dataclass
class Ref:
    """A term or value as the page names it: its text, where it links, and a note (a label)."""

    text: str
    href: str | None = None
    note: str = ""


Row = tuple[list[Ref], list[Ref]]  # left side, right side


@dataclass
class Section:
    """One kind of axiom: its name, the word between the two sides, and its rows."""

    name: str
    connector: str
    rows: list[Row]


@dataclass
class OntologyView:
    """All the page shows."""

    title: str
    description: str
    metadata: list[tuple[str, list[Ref]]]
    terms: list[dict[str, str]]
    axioms: list[Section] = field(default_factory=list)
    external: list[Ref] = field(default_factory=list)


def pick(values: Iterable[object], lang: str) -> str:
    """Return the literal in ``lang``, else ja, else en, else untagged, else ''."""
    by_lang = {getattr(v, "language", None): str(v) for v in values}
    return by_lang.get(lang) or by_lang.get("ja") or by_lang.get("en") or by_lang.get(None) or ""


def restriction_values(g: Graph) -> list[str]:
    """Return the individuals named by ``owl:hasValue`` (their labels live in the data, not here)."""
    return sorted({str(v) for v in g.objects(None, OWL.hasValue) if isinstance(v, URIRef)})


def describe(g: Graph, lang: str, value_labels: Mapping[str, str]) -> OntologyView:
    """Return the page's content for ontology graph ``g`` in ``lang`` (``ja`` or ``en``).

    ``value_labels`` gives labels (in ``lang``) of individuals that restrictions name.
    """
    en = lang == "en"

    def ref(node: Node) -> Ref:
        if isinstance(node, Literal):
            return Ref(str(node))
        iri = str(node)
        label = pick(g.objects(node, RDFS.label), lang) or value_labels.get(iri, "")
        if iri.startswith(str(KGO)):
            return Ref(curie(iri), "#" + iri[len(str(KGO)) :], label)
        if iri in value_labels:  # an individual of our data: its key, with its label beside it
            return Ref(iri.rstrip("/").rsplit("/", 1)[-1], iri, label)
        return Ref(curie(iri), iri if iri.startswith("http") else None)

    def expression(node: Node) -> list[Ref]:
        if not isinstance(node, BNode) and (node, RDF.type, OWL.Restriction) not in g:
            return [ref(node)]
        prop = g.value(node, OWL.onProperty)
        for predicate, word in RESTRICTIONS:
            filler = g.value(node, predicate)
            if filler is not None and prop is not None:  # a restriction names its property
                name = pick(g.objects(prop, RDFS.label), lang) or curie(str(prop))
                return [Ref(name, ref(prop).href), Ref(word), *expression(filler)]
        for predicate, word in ((OWL.intersectionOf, "and"), (OWL.unionOf, "or")):
            members = g.value(node, predicate)
            if members is not None:
                out: list[Ref] = []
                for i, member in enumerate(Collection(g, members)):
                    out += ([Ref(word)] if i else []) + expression(member)
                return out
        return [Ref("(…)")]

    def pairs(predicate: URIRef, symmetric: bool = False) -> list[Row]:
        seen: set[frozenset[str]] = set()
        out = []
        for s, o in sorted(g.subject_objects(predicate), key=lambda so: (str(so[0]), str(so[1]))):
            if not isinstance(s, URIRef) or (symmetric and frozenset((str(s), str(o))) in seen):
                continue
            seen.add(frozenset((str(s), str(o))))
            out.append(([ref(s)], expression(o)))
        return out

    def t(ja: str, en_text: str) -> str:
        return en_text if en else ja

    disjoint = pairs(OWL.disjointWith, symmetric=True)
    for group in g.subjects(RDF.type, OWL.AllDisjointClasses):
        members = [ref(m) for m in Collection(g, g.value(group, OWL.members) or RDF.nil)]
        disjoint.append((members[:1], [r for m in members[1:] for r in (Ref(","), m)][1:]))
    characteristics = [
        ([ref(p)], [Ref(curie(str(c)))]) for c in CHARACTERISTICS for p in sorted(g.subjects(RDF.type, c), key=str)
    ]
    sections = [
        Section(t("同値クラス", "Equivalent classes"), "≡", pairs(OWL.equivalentClass)),
        Section(t("下位クラス", "Subclasses"), "⊑", pairs(RDFS.subClassOf)),
        Section(t("互いに素なクラス", "Disjoint classes"), t("と素", "disjoint with"), disjoint),
        Section(t("逆プロパティ", "Inverse properties"), t("の逆", "inverse of"), pairs(OWL.inverseOf, symmetric=True)),
        Section(t("下位プロパティ", "Subproperties"), "⊑", pairs(RDFS.subPropertyOf)),
        Section(t("プロパティの性質", "Property characteristics"), ":", characteristics),
        Section(t("定義域", "Domains"), t("の定義域", "domain"), pairs(RDFS.domain)),
        Section(t("値域", "Ranges"), t("の値域", "range"), pairs(RDFS.range)),
    ]

    header = next(g.subjects(RDF.type, OWL.Ontology))
    metadata = [
        (t(ja_name, en_name), [ref(v) for v in sorted(g.objects(header, p), key=str)])
        for p, ja_name, en_name in METADATA
    ]
    terms = []
    external = []
    for cls, ja_kind, en_kind in KINDS:
        for s in sorted({s for s in g.subjects(RDF.type, cls) if isinstance(s, URIRef)}, key=str):
            if not str(s).startswith(str(KGO)):
                external.append(ref(s))
                continue
            terms.append(
                {
                    "iri": str(s),
                    "anchor": str(s)[len(str(KGO)) :],
                    "kind": t(ja_kind, en_kind),
                    "label": pick(g.objects(s, RDFS.label), lang),
                    "definition": pick(g.objects(s, SKOS.definition), lang),
                }
            )
    return OntologyView(
        title=pick(g.objects(header, DCTERMS.title), lang),
        description=pick(g.objects(header, DCTERMS.description), lang),
        metadata=[(name, refs) for name, refs in metadata if refs],
        terms=terms,
        axioms=[section for section in sections if section.rows],
        external=sorted(external, key=lambda r: r.text),
    )
