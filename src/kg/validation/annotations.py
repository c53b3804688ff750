"""CI reports of a validation: GitHub workflow-command annotations and SARIF 2.1.0.

Each result is located at the line (and column) where its focus node is first stated in the input
files, when the format has lines (Turtle, N-Triples, TriG, N-Quads): the files are scanned for the
node as written there — ``<full IRI>`` or a prefixed name declared in that file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..namespaces import curie
from .shacl import Report, Violation

LINE_FORMATS = {".ttl", ".turtle", ".nt", ".trig", ".nq"}
_PREFIX_DECL = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>]*)>", re.I | re.M)
_BEFORE = r"(?<![\w.:%\\-])"  # a prefixed name does not start inside another name
_AFTER = r"(?![\w:%\\-]|\.[\w])"  # ... nor go on (a final "." ends the statement)
_RESERVED = re.compile(r"([~.!$&'()*+,;=/?#@%])")  # PN_LOCAL characters written with a backslash
LEVELS = {"Violation": ("error", "error"), "Warning": ("warning", "warning"), "Info": ("notice", "note")}
TOOL_URI = "https://w3id.org/tokyo-sme-kg/shapes"


@dataclass(frozen=True)
class Location:
    """Where a focus node is stated: a file, and its line and column when the format has lines."""

    file: Path
    line: int | None = None
    column: int | None = None


class Locator:
    """Find the first statement of a node in the input files (first file that mentions it wins)."""

    def __init__(self, files: list[Path]):
        self.files = list(files)
        self._texts: dict[Path, tuple[list[str], dict[str, str]]] = {}

    def _read(self, path: Path) -> tuple[list[str], dict[str, str]]:
        if path not in self._texts:
            text = path.read_text(encoding="utf-8")
            self._texts[path] = (text.splitlines(), {m.group(1) or "": m.group(2) for m in _PREFIX_DECL.finditer(text)})
        return self._texts[path]

    def _patterns(self, iri: str, prefixes: dict[str, str]) -> list[re.Pattern[str]]:
        forms = [re.escape(f"<{iri}>")]
        for prefix, ns in prefixes.items():
            if not ns or not iri.startswith(ns):
                continue
            local = iri[len(ns) :]
            written = {_RESERVED.sub(r"\\\1", local), re.sub(r"\\\.(?=.)", ".", _RESERVED.sub(r"\\\1", local))}
            if re.fullmatch(r"[\w-]([\w.-]*[\w-])?|", local):
                written.add(local)
            for w in sorted(written):
                forms.append(f"{_BEFORE}{re.escape(prefix)}:{re.escape(w)}{_AFTER}")
        return [re.compile(f) for f in forms]

    def locate(self, iri: str) -> Location | None:
        """Return where ``iri`` is first stated (as a subject if it is one, else anywhere), or None."""
        if not iri or iri.startswith("_:") or "://" not in iri and not iri.startswith("urn:"):
            return None  # blank nodes have no name to look for
        for path in self.files:
            if path.suffix.lower() not in LINE_FORMATS:
                continue
            lines, prefixes = self._read(path)
            patterns = self._patterns(iri, prefixes)
            anywhere = None
            for number, line in enumerate(lines, 1):
                stripped = line.lstrip()
                if stripped.startswith("#"):
                    continue
                for pattern in patterns:
                    m = pattern.search(line)
                    if m is None:
                        continue
                    if m.start() == len(line) - len(stripped):  # the statement starts with the node
                        return Location(path, number, m.start() + 1)
                    anywhere = anywhere or Location(path, number, m.start() + 1)
            if anywhere:
                return anywhere
        for path in self.files:  # formats without lines: the file is all we can say
            if path.suffix.lower() not in LINE_FORMATS and iri in path.read_text(encoding="utf-8", errors="replace"):
                return Location(path)
        return None


def _rule_of(v: Violation) -> str:
    """The rule of a result: its source shape when that shape has an IRI, else its node shape."""
    return v.shape if v.shape.startswith(("http://", "https://", "urn:")) else v.node_shape


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _message(v: Violation) -> str:
    subject = f"{curie(v.focus)}" + (f" {curie(v.path)}" if v.path else "")
    value = f" (value: {v.value})" if v.value else ""
    return f"{subject}{value}: {v.message_en}\n{v.message_ja}"


def github(report: Report, files: list[Path], cwd: Path) -> str:
    """Return GitHub workflow commands (``::error file=…,line=…,title=…::message``), one per result."""
    locator = Locator(files)
    out = []
    for v in report.violations:
        level = LEVELS.get(v.severity, ("error", "error"))[0]
        props = []
        where = locator.locate(v.focus)
        if where:
            props.append(f"file={_escape_property(_relative(where.file, cwd))}")
            if where.line:
                props += [f"line={where.line}", f"col={where.column}"]
        props.append(f"title={_escape_property(f'{curie(_rule_of(v))} [{v.component}]')}")
        out.append(f"::{level} {','.join(props)}::{_escape_data(_message(v))}")
    summary = f"SHACL: {len(report.violations)} result(s); conforms: {str(report.conforms).lower()}"
    out.append(f"::{'notice' if report.conforms else 'error'} title=kg validate::{summary}")
    return "\n".join(out) + "\n"


def _text_of(values: list[str]) -> str:
    return " / ".join(v for v in values if v)


def sarif(report: Report, files: list[Path], tool_version: str, shapes_version: str, cwd: Path) -> str:
    """Return a SARIF 2.1.0 log: one rule per shape, one result per SHACL result, located in the files."""
    shapes = sorted({*report.rule_shapes, *(_rule_of(v) for v in report.violations)})
    index = {s: i for i, s in enumerate(shapes)}
    rules = []
    for s in shapes:
        label = report.shape_labels.get(s, [])
        rule: dict[str, object] = {"id": curie(s), "name": curie(s).replace(":", "_"), "helpUri": s}
        if label:
            rule["shortDescription"] = {"text": _text_of(label)}
        rules.append(rule)
    locator = Locator(files)
    results = []
    for v in report.violations:
        rule_id = _rule_of(v)
        result: dict[str, object] = {
            "ruleId": curie(rule_id),
            "ruleIndex": index[rule_id],
            "level": LEVELS.get(v.severity, ("error", "error"))[1],
            "message": {"text": _message(v)},
            "properties": {
                "focusNode": v.focus,
                "resultPath": v.path,
                "sourceShape": v.shape,
                "nodeShape": v.node_shape,
                "constraintComponent": v.component,
                "value": v.value,
            },
        }
        location: dict[str, object] = {"logicalLocations": [{"fullyQualifiedName": v.focus, "kind": "resource"}]}
        where = locator.locate(v.focus)
        if where:
            uri = _uri(where.file, cwd)
            artifact = {"uri": uri} if ":" in uri else {"uri": uri, "uriBaseId": "SRCROOT"}
            physical: dict[str, object] = {"artifactLocation": artifact}
            if where.line:
                physical["region"] = {"startLine": where.line, "startColumn": where.column}
            location["physicalLocation"] = physical
        result["locations"] = [location]
        results.append(result)
    log = {
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kg validate",
                        "fullName": "Tokyo SME Policy Knowledge Graph SHACL validator",
                        "version": tool_version,
                        "semanticVersion": tool_version,
                        "informationUri": TOOL_URI,
                        "properties": {"shapesVersion": shapes_version},
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": cwd.resolve().as_uri() + "/"}},
                "invocations": [{"executionSuccessful": True}],
                "results": results,
            }
        ],
    }
    return json.dumps(log, ensure_ascii=False, indent=2) + "\n"


def _relative(path: Path, cwd: Path) -> str:
    """A file's path relative to the working folder (the repository root in CI) when it lies inside it."""
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _uri(path: Path, cwd: Path) -> str:
    """A file's URI relative to the working folder when it lies inside it (as code scanning expects)."""
    try:
        return path.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()
