"""The shapes as SHACL engines other than pySHACL need them: no ``owl:imports`` to resolve, the
ontology's subclass axioms included (engines such as ``shacl-engine`` read ``rdfs:subClassOf`` for
``sh:targetClass``/``sh:class`` from the shapes graph), and, for engines without SHACL-SPARQL, the
``sh:sparql`` constraints left out.

Shared by ``kg shapes --standalone [--core]`` (through :mod:`kg.validation`) and the server's
``/shapes?standalone=1[&core=1]``: a graph transformation, no SHACL engine.
"""

from __future__ import annotations

from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL, RDFS, SH
from rdflib.term import Node


def _drop(g: Graph, node: Node) -> None:
    """Remove ``node``'s triples and, recursively, those of the blank nodes it alone leads to."""
    for _, _, o in list(g.triples((node, None, None))):
        g.remove((node, None, o))
        if isinstance(o, BNode) and not any(g.triples((None, None, o))):
            _drop(g, o)


def standalone(shapes: Graph, ontology: Graph, core: bool = False) -> Graph:
    """Return the shapes for any SHACL engine: no owl:imports, the ontology's subclass axioms added.

    The subclass axioms are the ontology's ``rdfs:subClassOf`` triples between named classes. With
    ``core``, the SHACL-SPARQL constraints (``sh:sparql`` and what hangs from it) are left out:
    what an engine without SHACL-SPARQL then misses is listed in ``SPARQL_ONLY``.
    """
    g = Graph()
    for prefix, ns in shapes.namespaces():
        g.bind(prefix, ns, override=True)
    for triple in shapes:
        g.add(triple)
    g.remove((None, OWL.imports, None))
    for sub, sup in ontology.subject_objects(RDFS.subClassOf):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef):
            g.add((sub, RDFS.subClassOf, sup))
    if core:
        for shape, constraint in list(g.subject_objects(SH.sparql)):
            g.remove((shape, SH.sparql, constraint))
            _drop(g, constraint)
    return g
