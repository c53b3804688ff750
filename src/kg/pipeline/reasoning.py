"""OWL RL reasoning (owlrl): the closure of ontology + data, minus what was asserted."""

from __future__ import annotations

from collections.abc import Iterable

import owlrl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from ..namespaces import DEFAULT_BASE, ID
from ..settings import REFERENCE_ENGINES_MAX_TRIPLES
from .ntriples import Terms, merged, minus, sort_unique

_NOISE_TYPES = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}


def _worth_keeping(s: object, p: object, o: object) -> bool:
    """Keep inferred triples about our instances (…/id/…); drop tautologies and ontology-level entailments."""
    if not isinstance(s, URIRef) or not str(s).startswith(str(ID)):
        return False
    if p == OWL.sameAs and s == o:
        return False
    if p == RDF.type and o in _NOISE_TYPES:
        return False
    return not (p in (RDFS.subClassOf, OWL.equivalentClass, RDFS.subPropertyOf, OWL.equivalentProperty) and s == o)


REASONERS = ("owlrl", "reasonable", "compiled", "auto")


def _closure(ontology: Graph, data: Graph, engine: str) -> Iterable[tuple[Node, Node, Node]]:
    """Yield the triples of the OWL RL closure of ontology + data (asserted ones included)."""
    if engine == "owlrl":
        closure = Graph()
        for g in (ontology, data):
            for t in g:
                closure.add(t)
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(closure)
        yield from closure
    else:  # "reasonable"; infer() has checked the name
        import reasonable  # optional fast engine (Rust)

        reasoner = reasonable.PyReasoner()
        reasoner.from_graph(ontology)  # appends: the two graphs go in one after the other
        reasoner.from_graph(data)
        for s, p, o in reasoner.reason():
            if isinstance(o, Literal) and o.datatype == XSD.string:  # same term as a simple literal
                o = Literal(str(o))
            yield s, p, o


def infer(ontology: Graph, data: Graph, engine: str = "owlrl") -> Graph:
    """Return the triples OWL RL entails from ontology + data that neither graph states.

    ``engine`` is ``owlrl`` (reference), ``reasonable``, ``compiled`` (owlrl's rules compiled from
    the ontology, :class:`CompiledReasoner`) or ``auto`` (by size). Only triples whose subject is
    under the project base are kept; reflexive sameAs and owl:Thing / rdfs:Resource typing are dropped.
    """
    if engine not in REASONERS:
        raise ValueError(f"unknown reasoner {engine!r}; use one of {', '.join(REASONERS)}")
    if engine == "auto":
        engine = "owlrl" if len(data) <= REFERENCE_ENGINES_MAX_TRIPLES else "compiled"
    if engine == "compiled":
        terms = Terms(DEFAULT_BASE)
        data_lines = sort_unique([terms.line(*t) for t in data])
        onto_lines = sort_unique([terms.line(*t) for t in ontology])
        lines = minus(CompiledReasoner(ontology, DEFAULT_BASE).infer(data_lines), onto_lines)
        return Graph().parse(data="\n".join(lines), format="nt")
    asserted = set(ontology)
    asserted.update(data)
    restrictions = set(ontology.subjects(RDF.type, OWL.Restriction))
    inferred = Graph()
    for t in _closure(ontology, data, engine):
        if t in asserted or not _worth_keeping(*t):
            continue
        if t[1] == RDF.type and t[2] in restrictions:  # typing by an anonymous-style restriction class
            continue
        inferred.add(t)
    return inferred


# ----------------------------------------------------------------- the compiled reasoner (scale)
#
# The ontology is fixed while the data grows. Where every OWL RL rule that can fire on the data
# has a single data triple among its premises (the rest is ontology), the closure of ontology +
# data is the ontology's closure joined with the closure of each data triple alone, and that
# depends only on the triple's predicate (and on its subject or object where the ontology names
# them: a class in rdf:type, a value of an owl:hasValue restriction). So owlrl itself is run once,
# on the ontology plus one triple of fresh symbols per such key found in the data, and what it
# derives from each symbol triple becomes a template applied to every data triple of that key in
# one pass over N-Triples lines. Rules that join two data triples (transitive, functional and
# inverse-functional properties, property chains, keys, someValuesFrom / allValuesFrom /
# intersectionOf / complementOf class expressions, cardinalities, owl:sameAs in the data) cannot be
# compiled so: an ontology or data that uses them is refused with a message naming what was found
# (build with the owlrl reasoner instead). tests/test_build_scale.py checks the result against
# owlrl on our data and every fixture.

SYMBOL = "urn:x-kg-compiled-reasoner:"
_OWL, _RDFS, _RDF = str(OWL), str(RDFS), str(RDF)
# OWL terms whose rules take at most one data triple (or none): everything else is refused.
_OWL_PREDICATES_OK = {
    OWL.equivalentClass, OWL.equivalentProperty, OWL.inverseOf, OWL.onProperty, OWL.hasValue, OWL.unionOf,
    OWL.disjointWith, OWL.versionInfo, OWL.versionIRI, OWL.imports, OWL.priorVersion, OWL.deprecated,
    OWL.backwardCompatibleWith, OWL.incompatibleWith, OWL.sameAs,
}  # fmt: skip
_OWL_TYPES_OK = {
    OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.Ontology, OWL.Restriction,
    OWL.SymmetricProperty, OWL.Thing, OWL.Nothing, OWL.NamedIndividual, OWL.OntologyProperty,
    OWL.DeprecatedClass, OWL.DeprecatedProperty,
}  # fmt: skip
# What data may state in the RDF, RDFS and OWL vocabularies: anything else would change the ontology.
_DATA_PREDICATES_OK = {RDF.type, RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy}
_NOISE_NT = {f"<{t}>" for t in _NOISE_TYPES}


class Unsupported(ValueError):
    """The ontology or the data uses OWL RL rules the compiled reasoner does not cover (the message says which)."""


def _schema_term(x: object) -> bool:
    return isinstance(x, URIRef) and str(x).startswith((_OWL, _RDFS, _RDF))


Key = tuple[str, str | None, str | None]  # predicate; subject and object where they matter (N-Triples)
Template = tuple[int | str, str, int | str]  # subject, predicate, object: 0 the subject, 1 the object, or a term


class CompiledReasoner:
    """OWL RL as owlrl computes it, compiled from the ontology, applied to N-Triples lines.

    ``ontology`` is the ontology graph with its default IRIs; ``base`` the base the lines are
    written with (the lines' IRIs and the ontology's are moved to it alike).
    """

    def __init__(self, ontology: Graph, base: str):
        self.ontology = ontology
        self.terms = Terms(base)
        self.id_prefix = self.terms.iri(str(ID))[:-1]  # "<…/id/"
        self.restrictions = {self.terms.term(r) for r in ontology.subjects(RDF.type, OWL.Restriction)}
        self.specials: dict[str, Node] = {}  # every IRI and literal of the ontology, by its N-Triples term
        for t in ontology:
            for x in t:
                if not isinstance(x, BNode):
                    self.specials[self.terms.term(x)] = x
        self.type = self.terms.iri(str(RDF.type))
        self.same_as = self.terms.iri(str(OWL.sameAs))
        self.reflexive = {self.terms.iri(str(p)) for p in (RDFS.subClassOf, OWL.equivalentClass, RDFS.subPropertyOf,
                                                         OWL.equivalentProperty)}  # fmt: skip

    def key(self, line: str) -> Key:
        s, p, rest = line.split(" ", 2)
        o = rest[:-2]
        specials = self.specials
        return p, s if s in specials else None, o if p == self.type or o in specials else None

    def compile(self, keys: Iterable[Key]) -> tuple[dict[Key, list[Template]], list[str]]:
        """Return the templates of every key and the lines entailed whatever the data's own terms."""
        keys = sorted(set(keys), key=lambda k: (k[0], k[1] or "", k[2] or ""))
        graph = Graph()
        for t in self.ontology:
            graph.add(t)
        symbols: dict[Node, int] = {}  # fresh symbol → index of its key
        concrete: list[tuple[Node, Node]] = []
        for i, (p, s, o) in enumerate(keys):
            predicate = self._node(p)
            if _schema_term(predicate) and predicate not in _DATA_PREDICATES_OK:
                raise Unsupported(f"the data states {p}, which changes the ontology; use the owlrl reasoner")
            subject = self._node(s) if s is not None else URIRef(f"{SYMBOL}s{i}")
            if o is not None and (o in self.specials or o.startswith("<")):
                obj = self._node(o)
            else:  # a literal object outside the ontology behaves as any other term would
                obj = URIRef(f"{SYMBOL}o{i}")
            if p == self.type and _schema_term(obj) and obj not in _NOISE_TYPES:
                raise Unsupported(f"the data types a node {o}, which changes the ontology; use the owlrl reasoner")
            for x in (subject, obj):
                if str(x).startswith(SYMBOL):
                    symbols[x] = i
            concrete.append((subject, obj))
            graph.add((subject, predicate, obj))
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(graph)
        for s_, p_, o_ in graph:
            for x in (p_, o_) if p_ == RDF.type else (p_,):
                if isinstance(x, URIRef) and str(x).startswith(_OWL) and x not in _OWL_PREDICATES_OK | _OWL_TYPES_OK:
                    raise Unsupported(f"the ontology uses {x.n3()}, whose OWL RL rules join data triples; "
                                      "use the owlrl reasoner")  # fmt: skip
            if p_ == OWL.sameAs and s_ != o_:
                raise Unsupported("owl:sameAs between different nodes is entailed; use the owlrl reasoner")
        templates: dict[Key, list[Template]] = {k: [] for k in keys}
        constant: list[str] = []
        for s_, p_, o_ in graph:
            at = {symbols[x] for x in (s_, o_) if x in symbols}
            if len(at) > 1:
                raise Unsupported(f"a rule joins two data triples ({p_.n3()}); use the owlrl reasoner")
            if not at:  # no symbol: entailed by the ontology and the keys present, whatever the data's terms
                if not isinstance(s_, BNode) and _worth_keeping(s_, p_, o_):
                    if not (p_ == RDF.type and (o_, RDF.type, OWL.Restriction) in self.ontology):
                        constant.append(self.terms.line(s_, p_, o_))
                continue
            i = at.pop()
            if _schema_term(p_) and p_ not in _DATA_PREDICATES_OK and not (p_ == OWL.sameAs and s_ == o_):
                raise Unsupported(f"the data entails {p_.n3()} statements, which change the ontology; "
                                  "use the owlrl reasoner")  # fmt: skip
            place = [self._place(x, concrete[i], symbols) for x in (s_, o_)]
            templates[keys[i]].append((place[0], self.terms.iri(str(p_)), place[1]))
        return {k: self._useful(k, v) for k, v in templates.items()}, constant

    def _place(self, x: Node, key_terms: tuple[Node, Node], symbols: dict[Node, int]) -> int | str:
        """0 for the key's subject, 1 for its object, else the N-Triples term of ``x`` (never another key's symbol)."""
        if x == key_terms[0]:
            return 0
        if x == key_terms[1]:
            return 1
        if x in symbols:
            raise Unsupported("a rule joins two data triples; use the owlrl reasoner")
        return self.terms.term(x)

    def _useful(self, key: Key, templates: list[Template]) -> list[Template]:
        """Drop templates whose triples the inferred graph never keeps (see ``_worth_keeping``)."""
        out = []
        for a, q, b in templates:
            if isinstance(a, str) and not a.startswith(self.id_prefix):
                continue
            if q == self.type and (b in _NOISE_NT or b in self.restrictions):
                continue
            if (q == self.same_as or q in self.reflexive) and a == b:
                continue
            out.append((a, q, b))
        return sorted(set(out), key=str)

    def _node(self, term: str) -> Node:
        if term in self.specials:
            return self.specials[term]
        if term.startswith("<"):
            return URIRef(term[1:-1])
        raise Unsupported(f"cannot compile rules for the term {term}")

    def infer(self, lines: list[str]) -> list[str]:
        """Return the sorted, unique inferred lines for the sorted, unique data ``lines``,
        without the data's own lines (the ontology's are removed by the caller)."""
        keys = {self.key(line) for line in lines}
        templates, constant = self.compile(keys)
        prefix, same_as, reflexive = self.id_prefix, self.same_as, self.reflexive
        key = self.key
        # Triples about the data triple's own subject come out in subject order: each subject's are
        # sorted and unique once its lines are done. The others (about the object) are sorted at the end.
        own: list[str] = []
        other: list[str] = []
        group: set[str] = set()
        current = None
        for line in lines:
            rules = templates[key(line)]
            if not rules:
                continue
            s, _p, rest = line.split(" ", 2)
            if s != current:
                own.extend(sorted(group))
                group.clear()
                current = s
            terms = (s, rest[:-2])
            for a, q, b in rules:
                subject = terms[a] if isinstance(a, int) else a
                if not subject.startswith(prefix):
                    continue
                obj = terms[b] if isinstance(b, int) else b
                if subject == obj and (q == same_as or q in reflexive):
                    continue
                if a == 0:
                    group.add(f"{subject} {q} {obj} .")
                else:
                    other.append(f"{subject} {q} {obj} .")
        own.extend(sorted(group))
        other = sort_unique(other)
        return list(minus(merged(own, other, sort_unique(constant)), lines))
