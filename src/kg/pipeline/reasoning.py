"""OWL RL reasoning (owlrl): the closure of ontology + data, minus what was asserted."""

from __future__ import annotations

from collections.abc import Iterable

import owlrl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from ..namespaces import ID

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


REASONERS = ("owlrl", "reasonable")


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

    ``engine`` is ``owlrl`` (reference) or ``reasonable``. Only triples whose subject is under
    the project base are kept; reflexive sameAs and owl:Thing / rdfs:Resource typing are dropped.
    """
    if engine not in REASONERS:
        raise ValueError(f"unknown reasoner {engine!r}; use one of {', '.join(REASONERS)}")
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
