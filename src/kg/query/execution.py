"""Run one query on a pyoxigraph store and serialize the answer, cut at the row limit.

Media types are explicit tables (one per query form); the first acceptable type wins.

SELECT answers are written by pyoxigraph's own serializer (Rust, about four times faster than
Python over the same rows) into a writer that stops at a byte budget; the rows are then
counted exactly in the bytes. Only an answer with more rows than allowed (or over the budget)
is run again and cut row by row in Python, so the row limit is always signalled, never silent.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Mapping
from typing import IO, TypedDict, cast
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from ..namespaces import PREFIXES
from .binding import values_first
from .types import NotAcceptable, QueryRefused, QueryRequest, QueryResult

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

SOLUTION_TYPES = {  # media type → format key (SELECT and ASK)
    "application/sparql-results+json": "json",
    "application/json": "json",
    "application/sparql-results+xml": "xml",
    "application/xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_TYPES = {  # media type → pyoxigraph format (CONSTRUCT and DESCRIBE)
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
    "application/trig": ox.RdfFormat.TRIG,
    "text/n3": ox.RdfFormat.TURTLE,  # Turtle is N3: an N3 client reads it as it is
}
# A client asking a graph query for the results flavour of JSON or XML gets RDF in that syntax.
GRAPH_EQUIVALENTS = {
    "application/sparql-results+json": "application/ld+json",
    "application/json": "application/ld+json",
    "application/sparql-results+xml": "application/rdf+xml",
    "application/xml": "application/rdf+xml",
    # older or unregistered names of the same syntaxes (SPARQLWrapper sends them)
    "application/turtle": "text/turtle",
    "application/x-turtle": "text/turtle",
    "text/rdf+n3": "text/n3",
    "application/n3": "text/n3",
    "application/x-json+ld": "application/ld+json",
}
CANONICAL = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
ASK_FORMATS = ("json", "xml")
RUST_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
BYTES_PER_ROW_BUDGET = 4096  # an answer within the row limit rarely needs more per row


def _choose(accept: list[str], table: Mapping[str, object], default: str, allowed: tuple | None = None) -> str:
    for media in accept:
        if media == "*/*":
            return default
        if media.endswith("/*"):
            family = media[:-1]
            for candidate in table:
                if candidate.startswith(family) and (allowed is None or table[candidate] in allowed):
                    return candidate
            continue
        if media in table and (allowed is None or table[media] in allowed):
            return media
    raise NotAcceptable(
        "none of the requested media types ("
        + ", ".join(accept)
        + ") is available for this query form; available: "
        + ", ".join(t for t in table if allowed is None or table[t] in allowed)
    )


def term_from_tuple(t: tuple) -> ox.NamedNode | ox.Literal:
    """Rebuild a pyoxigraph term from (kind, value, datatype, language)."""
    kind, value, datatype, language = t
    if kind == "iri":
        return ox.NamedNode(value)
    if language:
        return ox.Literal(value, language=language)
    return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)


def term_to_tuple(term: ox.NamedNode | ox.Literal) -> tuple:
    """Return a picklable (kind, value, datatype, language) for a term."""
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value, None, None)
    return ("literal", term.value, term.datatype.value, term.language)


def _json_term(term: object) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    return {"type": "literal", "value": str(term)}


def _xml_term(term: object) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    return f"<literal>{escape(str(term))}</literal>"


def serialize_solutions(variables: list[str], rows: list[list[object]], fmt: str, truncated: bool) -> bytes:
    """Serialize SELECT solutions in a SPARQL 1.1 results format."""
    if fmt == "json":
        doc: dict[str, object] = {
            "head": {"vars": variables},
            "results": {
                "bindings": [
                    {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None} for row in rows
                ]
            },
        }
        if truncated:
            doc["truncated"] = True
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")
    if fmt == "xml":
        out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">\n<head>']
        out += [f"<variable name={quoteattr(v)}/>" for v in variables]
        out.append("</head>\n<results>")
        for row in rows:
            out.append(
                "<result>"
                + "".join(
                    f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>"
                    for v, t in zip(variables, row, strict=True)
                    if t is not None
                )
                + "</result>"
            )
        out.append("</results>\n</sparql>\n")
        return "\n".join(out).encode("utf-8")
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(variables)
        for row in rows:
            w.writerow(["" if t is None else getattr(t, "value", str(t)) for t in row])
        return buf.getvalue().encode("utf-8")
    lines = ["\t".join(f"?{v}" for v in variables)]
    for row in rows:
        lines.append("\t".join("" if t is None else str(t) for t in row))
    return ("\n".join(lines) + "\n").encode("utf-8")


def serialize_boolean(value: bool, fmt: str) -> bytes:
    """Serialize an ASK answer."""
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    return (
        '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
        f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n"
    ).encode()


_GRAPHS: dict[int, set[str]] = {}


def _named_graphs(store: ox.Store) -> set[str]:
    """Return the named graphs of a (read-only) store, computed once per store."""
    key = id(store)
    if key not in _GRAPHS:
        _GRAPHS[key] = {g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)}
    return _GRAPHS[key]


class _OverBudget(Exception):
    pass


class _BudgetWriter:
    """A binary sink for pyoxigraph's serializer that stops it past ``budget`` bytes."""

    def __init__(self, budget: int):
        self.budget = budget
        self.size = 0
        self.parts: list[bytes] = []

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.budget:
            raise _OverBudget()
        self.parts.append(bytes(chunk))
        return len(chunk)

    def flush(self) -> None:
        pass


def count_rows(body: bytes, fmt: str) -> int:
    """Return the number of solutions in a SPARQL results document written by pyoxigraph.

    Exact, without parsing, because of how each format escapes: in JSON every ``"`` inside a
    string is escaped, so a row boundary ``},{"`` followed by a variable name cannot come from a
    value (a value ending in ``},{`` is followed by ``,`` or ``}``); XML escapes ``<``; TSV
    escapes line breaks. Documents where that does not decide (empty rows ``{}`` in JSON,
    quoted CSV) are parsed.
    """
    if fmt == "json":
        if b'"bindings":[]' in body:
            return 0
        if b"{}" in body:
            return len(json.loads(body)["results"]["bindings"])
        return 1 + body.count(b'},{"') - body.count(b'},{",') - body.count(b'},{"}')
    if fmt == "xml":
        return body.count(b"<result>")
    if fmt == "tsv":
        return body.count(b"\n") - 1
    if b'"' in body:
        return sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8")))) - 1
    return body.count(b"\r\n") - 1


class _QueryArguments(TypedDict, total=False):
    """The keyword arguments of ``Store.query`` that a request sets."""

    default_graph: ox.DefaultGraph | list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph]
    named_graphs: list[ox.NamedNode | ox.BlankNode] | None
    use_default_graph_as_union: bool
    base_iri: str
    substitutions: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple]


def _dataset_arguments(store: ox.Store, request: QueryRequest) -> _QueryArguments:
    """Return the keyword arguments of ``Store.query`` for the request's dataset and bindings."""
    kwargs: _QueryArguments = {}
    graphs = _named_graphs(store)
    outside = [g for g in request.default_graphs + request.named_graphs if g not in graphs]
    if outside:
        raise QueryRefused(
            f"graph(s) not in this dataset: {', '.join(outside)}; available: {', '.join(sorted(graphs))}"
        )
    if request.default_graphs or request.named_graphs:
        defaults: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [
            ox.NamedNode(g) for g in request.default_graphs
        ]
        named: list[ox.NamedNode | ox.BlankNode] = [ox.NamedNode(g) for g in request.named_graphs]
        kwargs["default_graph"] = defaults or ox.DefaultGraph()
        kwargs["named_graphs"] = named or None
    else:
        kwargs["use_default_graph_as_union"] = True
    if request.base_iri:
        kwargs["base_iri"] = request.base_iri
    if request.bindings:
        kwargs["substitutions"] = {ox.Variable(k): term_from_tuple(v) for k, v in request.bindings.items()}
    return kwargs


def _solutions_fast(answer: ox.QuerySolutions, fmt: str, limit: int) -> tuple[bytes, int] | None:
    """Serialize all solutions in Rust; None when they are more than ``limit`` or over the byte budget."""
    sink = _BudgetWriter(max(1 << 20, limit * BYTES_PER_ROW_BUDGET))
    try:
        # the stub asks for IO[bytes]; pyoxigraph calls only write() and flush(), which the sink has
        answer.serialize(cast(IO[bytes], sink), format=RUST_FORMATS[fmt])
    except _OverBudget:
        return None
    body = b"".join(sink.parts)
    rows = count_rows(body, fmt)
    return (body, rows) if rows <= limit else None


def _solutions_cut(answer: ox.QuerySolutions, fmt: str, limit: int) -> tuple[bytes, int, bool]:
    """Serialize at most ``limit`` solutions in Python; flag whether more were left."""
    variables = [v.value for v in answer.variables]
    rows: list[list[object]] = []
    truncated = False
    for solution in answer:
        if len(rows) == limit:
            truncated = True
            break
        rows.append([solution[v] for v in variables])
    return serialize_solutions(variables, rows, fmt, truncated), len(rows), truncated


def chosen_solution_type(accept: list[str]) -> str:
    """The media type a SELECT answer is written in for ``accept``."""
    return CANONICAL[SOLUTION_TYPES[_choose(accept, SOLUTION_TYPES, CANONICAL["json"])]]


def select_result(
    answer: ox.QuerySolutions,
    again: Callable[[], ox.QuerySolutions],
    accept: list[str],
    limit: int,
    start: float,
) -> QueryResult:
    """Serialize SELECT solutions in the first acceptable type, cut at ``limit`` (``again`` gives them anew)."""
    fmt = SOLUTION_TYPES[_choose(accept, SOLUTION_TYPES, CANONICAL["json"])]
    fast = _solutions_fast(answer, fmt, limit)
    if fast is not None:
        body, rows = fast
        truncated = False
    else:  # more than the limit: run again and cut (the deadline covers both runs)
        body, rows, truncated = _solutions_cut(again(), fmt, limit)
    return QueryResult("select", CANONICAL[fmt], body, rows, truncated, time.perf_counter() - start)


def execute(store: ox.Store, request: QueryRequest) -> QueryResult:
    """Run ``request`` on ``store`` and return its serialized result, cut at ``request.max_rows``."""
    start = time.perf_counter()
    kwargs = _dataset_arguments(store, request)
    # parameters also as a leading VALUES row, so the planner binds them first (see kg.query.binding)
    query = values_first(request.query, {k: term_from_tuple(v) for k, v in request.bindings.items()})
    answer = store.query(query, **kwargs)
    limit = request.max_rows
    if isinstance(answer, ox.QuerySolutions):

        def again() -> ox.QuerySolutions:  # the same query: the same form
            solutions = store.query(query, **kwargs)
            assert isinstance(solutions, ox.QuerySolutions)
            return solutions

        return select_result(answer, again, request.accept, limit, start)
    if isinstance(answer, ox.QueryBoolean):
        fmt = SOLUTION_TYPES[_choose(request.accept, SOLUTION_TYPES, CANONICAL["json"], ASK_FORMATS)]
        return QueryResult(
            "ask", CANONICAL[fmt], serialize_boolean(bool(answer), fmt), 1, False, time.perf_counter() - start
        )
    media = _choose([GRAPH_EQUIVALENTS.get(m, m) for m in request.accept], GRAPH_TYPES, "text/turtle")
    triples: list[ox.Triple] = []
    truncated = False
    for triple in answer:
        if len(triples) == limit:
            truncated = True
            break
        triples.append(triple)
    syntax = GRAPH_TYPES[media]
    quads = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    prefixes = (
        {p: str(ns) for p, ns in PREFIXES.items()} if syntax in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG) else None
    )
    if syntax == ox.RdfFormat.TRIG:
        graph_body = ox.serialize(quads, format=syntax, prefixes=prefixes)
    else:
        graph_body = ox.serialize(triples, format=syntax, prefixes=prefixes)
    return QueryResult("graph", media, graph_body or b"", len(triples), truncated, time.perf_counter() - start)
