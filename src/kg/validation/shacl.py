"""SHACL validation (pyshacl) of the project graph or of anyone's RDF files, with reports.

Exit codes used by the CLI: 0 conforms, 1 violations, 2 unusable input, 70 internal error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph
from pyshacl import validate as shacl_validate
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import RDF, RDFS, SH
from rdflib.term import Identifier, Node

from ..settings import REFERENCE_ENGINES_MAX_TRIPLES

FORMATS = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".trig": "trig",
    ".nq": "nquads",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
}
OX_FORMATS = {
    "turtle": pyoxigraph.RdfFormat.TURTLE,
    "nt": pyoxigraph.RdfFormat.N_TRIPLES,
    "trig": pyoxigraph.RdfFormat.TRIG,
    "nquads": pyoxigraph.RdfFormat.N_QUADS,
    "xml": pyoxigraph.RdfFormat.RDF_XML,
    "json-ld": pyoxigraph.RdfFormat.JSON_LD,
}


class InputError(Exception):
    """An input file that cannot be used; the message names file, line and column."""


@dataclass
class Violation:
    """One SHACL result."""

    focus: str
    path: str
    shape: str
    node_shape: str
    component: str
    severity: str
    message_ja: str
    message_en: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class Report:
    """Outcome of a validation run."""

    conforms: bool
    violations: list[Violation] = field(default_factory=list)
    node_shapes: list[str] = field(default_factory=list)
    results_graph: Graph | None = None
    rule_shapes: list[str] = field(default_factory=list)  # every shape with an IRI (a SARIF rule each)
    shape_labels: dict[str, list[str]] = field(default_factory=dict)  # shape -> [en, ja] name or message


def _shape_index(shapes: Graph) -> tuple[list[str], dict[str, list[str]]]:
    """Return the shapes that have IRIs and, for each, its label or message in English and Japanese."""
    named = {s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)}
    named |= {s for s in shapes.subjects(RDF.type, SH.PropertyShape) if isinstance(s, URIRef)}
    named |= {s for s in shapes.objects(None, SH.property) if isinstance(s, URIRef)}
    labels = {}
    for s in named:
        texts = {
            getattr(o, "language", None) or "": str(o)
            for p in (SH.message, SH.name, RDFS.label)
            for o in shapes.objects(s, p)
        }
        if texts:
            labels[str(s)] = [texts.get("en", texts.get("", "")), texts.get("ja", "")]
    return sorted(str(s) for s in named), labels


def _located(path: Path, exc: Exception) -> str:
    text = str(exc)
    m = re.search(r"line (\d+)(?:,? column (\d+))?", text) or re.search(r"(\d+):(\d+)", text)
    where = f"{path}:{m.group(1)}:{m.group(2) or 1}" if m else f"{path}"
    return f"{where}: cannot parse as {FORMATS.get(path.suffix.lower(), '?')}: {text.strip()}"


def load_rdf(paths: list[Path], max_bytes: int) -> Graph:
    """Parse RDF files (format from the extension) into one graph (named graphs merged).

    A file larger than ``max_bytes`` (KG_VALIDATE_MAX_MB) is refused before it is read, so memory
    stays bounded.
    Raises InputError naming file, line and column for unreadable or malformed input.
    """
    merged = Graph()
    for path in paths:
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise InputError(f"{path}: unknown RDF format (use one of {', '.join(sorted(FORMATS))})")
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{path}: {size} bytes is more than the {max_bytes} bytes accepted "
                f"(raise KG_VALIDATE_MAX_MB to validate larger files)"
            )
        data = path.read_bytes()
        if b"\x00" in data[:8192]:
            raise InputError(f"{path}:1:1: binary file, not RDF text")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise InputError(f"{path}:{line}:{col}: not valid UTF-8") from None
        try:  # pyoxigraph reports exact positions; rdflib then builds the graph for pyshacl
            for _ in pyoxigraph.parse(data, format=OX_FORMATS[fmt], base_iri=path.resolve().as_uri()):
                pass
        except SyntaxError as exc:
            raise InputError(_located(path, exc)) from None
        try:
            if fmt in ("trig", "nquads"):
                ds = Dataset()
                ds.parse(data=data, format=fmt, publicID=path.resolve().as_uri())
                for s, p, o, _g in ds.quads((None, None, None, None)):
                    merged.add((s, p, o))
            else:
                merged.parse(data=data, format=fmt, publicID=path.resolve().as_uri())
        except Exception as exc:  # noqa: BLE001 - any parser failure is an input problem
            raise InputError(_located(path, exc)) from None
    return merged


def _text(g: Graph, node: Node, pred: URIRef) -> str:
    value = g.value(node, pred)
    return "" if value is None else str(value)


def _messages(g: Graph, result: Node, shapes: Graph, source_shape: Node | None) -> tuple[str, str]:
    """Return the (ja, en) messages of a result, from the constraint, the shape or the result."""
    by_lang: dict[str, str] = {}
    constraint = g.value(result, SH.sourceConstraint)
    sources = [shapes.objects(constraint, SH.message)] if constraint is not None else []
    sources += [shapes.objects(source_shape, SH.message), g.objects(result, SH.resultMessage)]
    for src in sources:
        for m in src:
            by_lang.setdefault(getattr(m, "language", None) or "", str(m))
    fallback = by_lang.get("", "")
    return by_lang.get("ja", fallback), by_lang.get("en", fallback)


def _node_shape_of(shapes: Graph, shape: Node | None, focus: Node | None, data: Graph) -> str:
    """Return the node shape a result belongs to.

    A property shape shared by several node shapes is attributed to the one whose target
    class the focus node has (directly or through rdfs:subClassOf in the data graph); so is a
    property shape with targets of its own that no node shape refers to (kgs:ActShape for
    kgs:Act-lawNumberCitationRequired, which targets the subjects of kgo:lawNumber).
    """
    if (shape, RDF.type, SH.NodeShape) in shapes:
        return str(shape)
    parents = sorted(s for s in shapes.subjects(SH.property, shape) if isinstance(s, Identifier))
    if not parents and shapes.value(shape, SH.targetSubjectsOf) is not None:
        parents = sorted(
            s
            for s in shapes.subjects(SH.targetClass, None)
            if isinstance(s, Identifier) and (s, RDF.type, SH.NodeShape) in shapes
        )
    if len(parents) <= 1:
        return str(parents[0]) if parents else str(shape)
    types = set(data.objects(focus, RDF.type))
    for t in list(types):
        types |= {c for c in data.transitive_objects(t, RDFS.subClassOf) if c is not None}
    exact = [p for p in parents if shapes.value(p, SH.targetClass) in set(data.objects(focus, RDF.type))]
    matching = exact or [p for p in parents if shapes.value(p, SH.targetClass) in types]
    if not matching and not list(shapes.subjects(SH.property, shape)):
        return str(shape)
    return str((matching or parents)[0])


VALIDATORS = ("pyshacl", "shacl", "auto")
# ``auto``: pySHACL (the reference) up to this many triples, the Rust engine beyond (the build uses
# the same bound, kg.settings.REFERENCE_ENGINES_MAX_TRIPLES, counted on the data alone).
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _strip(term: str | None) -> str:
    return (term or "")[1:-1] if (term or "").startswith("<") else (term or "")


def _fast_validation(data: Graph, shapes: Graph, ontology: Graph | None, inference: str) -> Report:
    """Validate with the Rust ``shacl`` engine; results mapped to the same Report."""
    import shacl  # optional fast engine

    if inference == "owlrl":
        raise ValueError("the shacl engine supports inference none or rdfs only")
    compiled = shacl.Shapes.from_turtle(shapes.serialize(format="turtle"))
    merged = data + ontology if ontology is not None else data
    report = compiled.validate_text(merged.serialize(format="nt"), "nt", inference=inference)
    return _fast_report(report, shapes, lambda: merged)


def validate_ntriples_file(path: Path, shapes: Graph) -> Report:
    """Validate an N-Triples file (data + ontology) with the Rust ``shacl`` engine, without an rdflib graph.

    The engine reads the file itself (about 90 bytes a triple, seconds per million). The types of
    the focus nodes of results, which name the node shape a shared property shape reports for,
    are read from the file only when there are results.
    """
    import shacl  # optional fast engine

    compiled = shacl.Shapes.from_turtle(shapes.serialize(format="turtle"))
    report = compiled.validate_file(str(path))

    def focus_types() -> Graph:
        focus = {_strip(r.focus_node) for r in report.results}
        g = Graph()
        for q in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.N_TRIPLES):
            p = q.predicate.value
            if p == str(RDFS.subClassOf) or (p == str(RDF.type) and q.subject.value in focus):
                if isinstance(q.subject, pyoxigraph.NamedNode) and isinstance(q.object, pyoxigraph.NamedNode):
                    g.add((URIRef(q.subject.value), URIRef(p), URIRef(q.object.value)))
        return g

    return _fast_report(report, shapes, focus_types)


def _fast_report(report: Any, shapes: Graph, data: Callable[[], Graph]) -> Report:
    """The Report of a ``shacl`` engine report; ``data`` gives the types of focus nodes when needed."""
    merged = data() if report.results else Graph()
    violations = []
    for r in report.results:
        messages = list(r.messages)
        ja = next((m for m in messages if _CJK.search(m)), messages[0] if messages else "")
        en = next((m for m in messages if not _CJK.search(m)), messages[0] if messages else "")
        focus = _strip(r.focus_node)
        root = _strip(r.root_shape)
        violations.append(
            Violation(
                focus=focus,
                path=_strip(r.path),
                shape=_strip(r.source_shape),
                node_shape=_node_shape_of(shapes, URIRef(root), URIRef(focus), merged),
                component=r.component,
                severity=r.severity,
                message_ja=ja,
                message_en=en,
                value=r.value_plain or "",
            )
        )
    violations.sort(key=lambda v: (v.node_shape, v.focus, v.path, v.component, v.value))
    node_shapes = sorted(str(s) for s in shapes.subjects(RDF.type, SH.NodeShape))
    turtle = report.turtle() if callable(report.turtle) else report.turtle
    results = Graph().parse(data=turtle, format="turtle")
    return Report(bool(report.conforms), violations, node_shapes, results, *_shape_index(shapes))


def run_validation(
    data: Graph, shapes: Graph, ontology: Graph | None = None, inference: str = "none", engine: str = "pyshacl"
) -> Report:
    """Validate ``data`` against ``shapes`` and return a Report with every result.

    ``engine`` is ``pyshacl`` (reference), ``shacl`` (Rust, much faster) or ``auto`` (by size).
    """
    if engine == "auto":  # the Rust engine has no OWL RL inference: pySHACL does that at any size
        engine = "pyshacl" if len(data) <= REFERENCE_ENGINES_MAX_TRIPLES or inference == "owlrl" else "shacl"
    if engine == "shacl":
        return _fast_validation(data, shapes, ontology, inference)
    if engine != "pyshacl":
        raise ValueError(f"unknown validator {engine!r}; use one of {', '.join(VALIDATORS)}")
    conforms, results, _ = shacl_validate(
        data, shacl_graph=shapes, ont_graph=ontology, inference=inference, allow_warnings=True, abort_on_first=False
    )
    violations = []
    for r in results.subjects(RDF.type, SH.ValidationResult):
        source_shape = results.value(r, SH.sourceShape)
        focus = results.value(r, SH.focusNode)
        ja, en = _messages(results, r, shapes, source_shape)
        violations.append(
            Violation(
                focus=_text(results, r, SH.focusNode),
                path=_text(results, r, SH.resultPath),
                shape=str(source_shape),
                node_shape=_node_shape_of(shapes, source_shape, focus, data),
                component=_text(results, r, SH.sourceConstraintComponent).rsplit("#", 1)[-1],
                severity=_text(results, r, SH.resultSeverity).rsplit("#", 1)[-1],
                message_ja=ja,
                message_en=en,
                value=_text(results, r, SH.value),
            )
        )
    violations.sort(key=lambda v: (v.node_shape, v.focus, v.path, v.component, v.value))
    node_shapes = sorted(str(s) for s in shapes.subjects(RDF.type, SH.NodeShape))
    return Report(bool(conforms), violations, node_shapes, results, *_shape_index(shapes))


def format_report(report: Report, fmt: str) -> str:
    """Render a report as text, turtle, json or junit."""
    if fmt == "turtle":
        assert report.results_graph is not None
        return report.results_graph.serialize(format="turtle")
    if fmt == "json":
        return json.dumps(
            {
                "conforms": report.conforms,
                "violations": len(report.violations),
                "results": [v.as_dict() for v in report.violations],
            },
            ensure_ascii=False,
            indent=2,
        )
    if fmt == "junit":
        return _junit(report)
    lines = [f"Conforms: {report.conforms}   results: {len(report.violations)}"]
    for v in report.violations:
        shape = v.node_shape + ("" if v.shape == v.node_shape else f" ({v.shape})")
        lines.append(
            f"- [{v.severity}] {v.focus}\n    path: {v.path or '-'}  shape: {shape}  "
            f"[{v.component}]\n    value: {v.value or '-'}\n    {v.message_en}\n    {v.message_ja}"
        )
    return "\n".join(lines)


def _junit(report: Report) -> str:
    by_shape: dict[str, list[Violation]] = {s: [] for s in report.node_shapes}
    for v in report.violations:
        by_shape.setdefault(v.node_shape, []).append(v)
    failures = sum(1 for v in report.violations)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="shacl" tests="{len(by_shape)}" failures="{failures}">',
        f'<testsuite name="shacl" tests="{len(by_shape)}" failures="{failures}">',
    ]
    for shape, vs in sorted(by_shape.items()):
        out.append(f'<testcase classname="shacl" name={quoteattr(shape)}>')
        for v in vs:
            msg = f"{v.focus} {v.path} {v.component}: {v.message_en}"
            body = f"focus: {v.focus}\npath: {v.path}\nvalue: {v.value}\n{v.message_en}\n{v.message_ja}"
            out.append(f"<failure type={quoteattr(v.component)} message={quoteattr(msg)}>{escape(body)}</failure>")
        out.append("</testcase>")
    out += ["</testsuite>", "</testsuites>"]
    return "\n".join(out) + "\n"
