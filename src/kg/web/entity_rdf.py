"""The RDF of one dereferenced entity, written the way linked-data browsers show it.

LodView, Pubby and DBpedia give the entity first, then the nodes that hang off it, each subject's
triples together and grouped by predicate. The same order here, for Turtle, TriG and JSON-LD:
the entity; its own fragments (``…#source-000`` citations); then every other subject in IRI order.
Within a subject ``rdf:type`` comes first, then predicates and objects in sorted order. Only the
prefixes used are declared, IRIs that cannot be written as a plain prefixed name are written whole
(never with ``\\/``-style escapes), and the output depends only on the triples, so it is deterministic.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from functools import lru_cache

import pyoxigraph as ox

from ..namespaces import PREFIXES

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_LOCAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MEDIA = ("text/turtle", "application/trig", "application/ld+json", "application/n-triples")

Term = ox.NamedNode | ox.BlankNode | ox.Literal


def triples(body: bytes) -> list[tuple[Term, ox.NamedNode, Term]]:
    """Parse the N-Triples a CONSTRUCT returned into (subject, predicate, object) tuples."""
    return sorted({(q.subject, q.predicate, q.object) for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)},
                  key=lambda t: (str(t[0]), str(t[1]), str(t[2])))


def _subject_order(entity: str, subjects: set[str]) -> list[str]:
    own = sorted(s for s in subjects if s.startswith(entity + "#"))
    rest = sorted(s for s in subjects if s != entity and not s.startswith(entity + "#"))
    return ([entity] if entity in subjects else []) + own + rest


def _grouped(entity: str, rows: list) -> list[tuple[Term, list[tuple[str, list[Term]]]]]:
    """Return [(subject, [(predicate, [objects])])] in the page order."""
    by_subject: dict[str, dict[str, list[Term]]] = defaultdict(lambda: defaultdict(list))
    terms: dict[str, Term] = {}
    for s, p, o in rows:
        key = s.value if isinstance(s, ox.NamedNode) else str(s)
        terms[key] = s
        by_subject[key][p.value].append(o)
    out = []
    for key in _subject_order(entity, set(by_subject)):
        preds = by_subject[key]
        order = sorted(preds, key=lambda p: (p != RDF_TYPE, p))
        out.append((terms[key], [(p, sorted(preds[p], key=str)) for p in order]))
    return out


_BY_LENGTH = sorted(((p, str(ns)) for p, ns in PREFIXES.items()), key=lambda kv: -len(kv[1]))


@lru_cache(maxsize=65536)
def _compact(iri: str) -> tuple[str, str, str] | None:
    """(prefix, namespace, prefixed name) of an IRI with the longest matching prefix, or None."""
    for prefix, ns in _BY_LENGTH:
        if iri.startswith(ns) and _LOCAL.match(iri[len(ns) :]):
            return prefix, ns, f"{prefix}:{iri[len(ns) :]}"
    return None


class _Names:
    """Compact IRIs with the project's prefixes, remembering which were used."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}

    def curie(self, iri: str) -> str | None:
        found = _compact(iri)
        if found is None:
            return None
        self.used[found[0]] = found[1]
        return found[2]

    def turtle(self, term: Term, predicate: bool = False) -> str:
        if isinstance(term, ox.NamedNode):
            if predicate and term.value == RDF_TYPE:
                return "a"
            return self.curie(term.value) or str(term)
        if isinstance(term, ox.Literal):
            if term.language or term.datatype.value == XSD_STRING:
                return str(term)
            lexical = str(ox.Literal(term.value))
            return f"{lexical}^^{self.curie(term.datatype.value) or str(term.datatype)}"
        return str(term)


def turtle(entity: str, rows: list) -> str:
    """Turtle (also valid TriG: triples of the default graph) in the page order."""
    names = _Names()
    blocks = []
    for subject, preds in _grouped(entity, rows):
        lines = [
            f"    {names.turtle(p_term, predicate=True)} " + " ,\n        ".join(names.turtle(o) for o in objects)
            for p, objects in preds
            for p_term in [ox.NamedNode(p)]
        ]
        blocks.append(names.turtle(subject) + "\n" + " ;\n".join(lines) + " .\n")
    head = "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in sorted(names.used.items()))
    return head + ("\n" if head else "") + "\n".join(blocks)


def trig(entity: str, rows: list) -> str:
    """TriG: the triples of the description, in the default graph, in the page order."""
    return turtle(entity, rows)


def jsonld(entity: str, rows: list) -> str:
    """JSON-LD: a context with the used prefixes and one node object per subject, entity first."""
    names = _Names()

    def iri(value: str) -> str:
        return names.curie(value) or value

    def value(o: Term) -> dict[str, str]:
        if isinstance(o, ox.NamedNode):
            return {"@id": iri(o.value)}
        if isinstance(o, ox.BlankNode):
            return {"@id": f"_:{o.value}"}
        if o.language:
            return {"@value": o.value, "@language": o.language}
        if o.datatype.value == XSD_STRING:
            return {"@value": o.value}
        return {"@value": o.value, "@type": iri(o.datatype.value)}

    nodes = []
    for subject, preds in _grouped(entity, rows):
        node: dict[str, object] = {"@id": iri(subject.value) if isinstance(subject, ox.NamedNode) else str(subject)}
        for p, objects in preds:
            if p == RDF_TYPE and all(isinstance(o, ox.NamedNode) for o in objects):
                node["@type"] = [iri(o.value) for o in objects]
            else:
                node[iri(p)] = [value(o) for o in objects]
        nodes.append(node)
    doc = {"@context": dict(sorted(names.used.items())), "@graph": nodes}
    return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"


def ntriples(entity: str, rows: list) -> str:
    """N-Triples, one line per triple, in the page order."""
    return "".join(f"{s} <{p}> {o} .\n" for s, preds in _grouped(entity, rows) for p, objs in preds for o in objs)


WRITERS = {"text/turtle": turtle, "application/trig": trig, "application/ld+json": jsonld,
           "application/n-triples": ntriples}
