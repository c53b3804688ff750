"""Triples as N-Triples lines: the build's compact form at any scale.

A triple is held as one ``str``, its N-Triples line without the newline (``<s> <p> "o"@ja .``),
written by pyoxigraph's own term syntax, so that a sorted list of lines is exactly the order
``sorted(triples, key=str)`` of pyoxigraph triples that the dumps have always used (a term ends
with ``>``, ``"``, a language tag or a datatype IRI, and ``" ."`` sorts before anything that
could continue it). Lines cost about a tenth of an rdflib triple in memory, sort at C speed, and
are parsed back by pyoxigraph (Rust) when a dump is written.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from itertools import groupby
from pathlib import Path
from typing import IO

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDFS, SKOS, TIME, XSD
from rdflib.term import Node

from ..namespaces import rebase

XSD_STRING = str(XSD.string)


class TermError(ValueError):
    """A term that cannot be written to a dump (a literal subject, a predicate that is no IRI)."""


class Terms:
    """Write rdflib terms as N-Triples terms, IRIs moved to ``base``; IRIs are cached (they repeat)."""

    def __init__(self, base: str):
        self.base = base
        self._iris: dict[str, str] = {}

    def iri(self, iri: str) -> str:
        text = self._iris.get(iri)
        if text is None:
            text = self._iris[iri] = str(ox.NamedNode(rebase(iri, self.base)))
        return text

    def term(self, x: Node) -> str:
        if isinstance(x, URIRef):
            return self.iri(str(x))
        if isinstance(x, Literal):
            if x.language:
                return str(ox.Literal(str(x), language=x.language))
            if x.datatype is not None and str(x.datatype) != XSD_STRING:
                return str(ox.Literal(str(x), datatype=ox.NamedNode(str(x.datatype))))
            return str(ox.Literal(str(x)))
        if isinstance(x, BNode):  # an OWL restriction of the ontology, canonically labelled
            return str(ox.BlankNode(str(x)))
        raise TermError(f"cannot write {x!r}: only IRIs, literals and restriction blank nodes are allowed in dumps")

    def line(self, s: Node, p: Node, o: Node) -> str:
        if isinstance(s, Literal) or not isinstance(p, URIRef):
            raise TermError(f"cannot write {s!r} {p!r}: a literal as subject or a predicate that is no IRI")
        return f"{self.term(s)} {self.iri(str(p))} {self.term(o)} ."


LABEL_PROPERTIES = (RDFS.label, SKOS.altLabel)


class LineSink:
    """Collects the data graph's triples as N-Triples lines while the tables are mapped.

    It keeps on the side what later steps need of the data without a graph: every subject's
    labels and alternative labels (for ``kgo:searchKey``) and the days of OWL-Time instants (the
    dataset's temporal coverage). ``add`` takes rdflib terms, as ``Graph.add`` does, so the
    mapping writes into either.
    """

    def __init__(self, base: str):
        self.terms = Terms(base)
        self.lines: list[str] = []
        self.names: dict[Node, list[str]] = {}
        self.labelled: set[Node] = set()
        self.days: list[str] = []
        self.has_blank_nodes = False

    def add(self, triple: tuple[Node, Node, Node]) -> None:
        s, p, o = triple
        if p in LABEL_PROPERTIES:
            self.names.setdefault(s, []).append(str(o))
            if p == RDFS.label:
                self.labelled.add(s)
        elif p == TIME.inXSDDate:
            self.days.append(str(o))
        if isinstance(s, BNode) or isinstance(o, BNode):
            self.has_blank_nodes = True
        self.lines.append(self.terms.line(s, p, o))

    def labelled_names(self) -> dict[Node, list[str]]:
        """Labels and alternative labels of every subject that has a label."""
        return {s: names for s, names in self.names.items() if s in self.labelled}


def sort_unique(lines: list[str]) -> list[str]:
    """Sort ``lines`` in place and return them without repeats."""
    lines.sort()
    return [line for line, _ in groupby(lines)]


def minus(lines: Iterable[str], *removed: Iterable[str]) -> Iterator[str]:
    """Yield the lines of the sorted ``lines`` that are in none of the sorted ``removed``."""
    others = heapq.merge(*removed)
    current = next(others, None)
    for line in lines:
        while current is not None and current < line:
            current = next(others, None)
        if current != line:
            yield line


def write_lines(lines: Iterable[str], target: Path | IO[bytes]) -> None:
    """Write lines (each with a newline) as UTF-8, in chunks."""
    handle = open(target, "wb") if isinstance(target, Path) else target  # noqa: SIM115
    try:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= 65536:
                handle.write(("\n".join(chunk) + "\n").encode())
                chunk.clear()
        if chunk:
            handle.write(("\n".join(chunk) + "\n").encode())
    finally:
        if isinstance(target, Path):
            handle.close()


def read_lines(path: Path) -> Iterator[str]:
    """Yield the lines of an N-Triples file written by :func:`write_lines`."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield line.rstrip("\n")


def parse_lines(path: Path) -> Iterator[ox.Quad]:
    """Yield the triples of an N-Triples file (as default-graph quads), in file order, blank node labels kept."""
    yield from ox.parse(path=str(path), format=ox.RdfFormat.N_TRIPLES)


def subject_of(line: str) -> str:
    """The subject term of a line (IRIs and blank nodes hold no space)."""
    return line[: line.index(" ")]


def merged(*sorted_lines: Iterable[str]) -> Iterator[str]:
    """The union of sorted, unique line sequences, sorted, without repeats."""
    for line, _ in groupby(heapq.merge(*sorted_lines)):
        yield line
