"""The SHACL shapes document, its version, and the record that ties each version to its content.

``ontology/shapes.ttl`` states ``owl:versionInfo "X.Y.Z"`` and ``owl:versionIRI <…/shapes/X.Y.Z>``.
``ontology/shapes.version.json`` lists every released version with the SHA-256 of the canonical
shapes (blank nodes canonicalised, sorted N-Triples, the two version triples left out), so a
change to any shape without a new version is caught (``check`` / ``tests/test_shapes_version.py``).
``set_version`` (``kg shapes --set-version X.Y.Z``) writes a new version into both files.

``kg.standalone_shapes`` (``kg shapes --standalone [--core]``, ``/shapes?standalone=1``) gives the
shapes as engines other than pySHACL need them: no ``owl:imports`` to resolve, the ontology's
subclass axioms included (engines such as
shacl-engine read ``rdfs:subClassOf`` for ``sh:targetClass``/``sh:class`` from the shapes graph), and,
with ``core``, without the SHACL-SPARQL constraints listed in ``SPARQL_ONLY`` (for engines that have
no SHACL-SPARQL, e.g. rdf-validate-shacl, which stops at the first ``sh:sparql`` it meets).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import OWL

from ..namespaces import SHAPES_IRI

SHAPES_FILE = "shapes.ttl"
RECORD_FILE = "shapes.version.json"
_SEMVER = re.compile(r"\d+\.\d+\.\d+")
KGS = "https://w3id.org/tokyo-sme-kg/shapes#"

# The constraints that SHACL Core cannot state with the same focus node and result path, kept in
# SHACL-SPARQL (one sh:sparql per property shape), with the invalid fixture
# (tests/fixtures/invalid/<name>.ttl) whose intended violation only they catch, and what an engine
# without SHACL-SPARQL misses. The one list: README "Validate your own data" states it and
# tests/test_shacl_engines.py reads it (a SPARQL-less engine misses exactly these fixtures).
SPARQL_ONLY: dict[str, tuple[str, str]] = {
    KGS + "SourceCitation-sectionRequired": (
        "citation-without-section",
        "a citation of a source document (not the reference list) without a section heading",
    ),
    KGS + "Act-promulgationYearConsistent": (
        "promulgation-year-mismatch",
        "a promulgation year without a law number, unlike the promulgation date's year or after entry into force",
    ),
    KGS + "Act-repealedAfterInForce": ("repealed-before-in-force", "an act repealed before it entered into force"),
    KGS + "LocalGovernment-checkDigit": ("bad-check-digit", "a wrong check digit in a local government code"),
    KGS + "LocalGovernment-standardAreaCodeMatches": (
        "area-code-mismatch",
        "a standard area code that is not the first five digits of the local government code",
    ),
    KGS + "Plan-yearsInOrder": ("plan-years-reversed", "a plan whose first fiscal year is after its last"),
    KGS + "Interval-inOrder": ("interval-reversed", "an interval whose beginning is not before its end"),
    KGS + "BudgetAllocation-supplementaryNumberRequired": (
        "supplementary-without-number",
        "a supplementary budget without its supplementary number",
    ),
}


class ShapesVersionError(Exception):
    """The shapes document and its version record disagree; the message says how to fix it."""


def version_iri(version: str) -> URIRef:
    """Return the versionIRI of a shapes version: ``…/shapes/X.Y.Z``."""
    return URIRef(f"{SHAPES_IRI}/{version}")


def read_version(shapes: Graph) -> tuple[str, str]:
    """Return (owl:versionInfo, owl:versionIRI) of the shapes document ("" where absent)."""
    info = shapes.value(SHAPES_IRI, OWL.versionInfo)
    iri = shapes.value(SHAPES_IRI, OWL.versionIRI)
    return ("" if info is None else str(info), "" if iri is None else str(iri))


def digest(shapes: Graph) -> str:
    """Return the SHA-256 of the canonical shapes, without their version triples."""
    g = Graph()
    for triple in shapes:
        if triple[0] == SHAPES_IRI and triple[1] in (OWL.versionInfo, OWL.versionIRI):
            continue
        g.add(triple)
    canonical = to_canonical_graph(g)
    lines = sorted(line for line in canonical.serialize(format="nt").splitlines() if line.strip())
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def read_record(ontology_dir: Path) -> list[dict[str, str]]:
    """Return the recorded versions, oldest first: ``[{"version": …, "sha256": …}, …]``."""
    path = ontology_dir / RECORD_FILE
    return json.loads(path.read_text(encoding="utf-8"))["versions"]


def _fix(version: str) -> str:
    major, minor, patch = (int(x) for x in version.split(".")) if _SEMVER.fullmatch(version) else (1, 0, -1)
    return (
        f"give the shapes a new version: `make shapes-version VERSION={major}.{minor}.{patch + 1}` "
        f"(or `kg shapes --set-version {major}.{minor}.{patch + 1}`; a new minor/major version for shapes that "
        f"reject more data), which rewrites owl:versionInfo/owl:versionIRI in ontology/{SHAPES_FILE} "
        f"and appends the version to ontology/{RECORD_FILE}"
    )


def check(ontology_dir: Path) -> tuple[str, str]:
    """Return (version, versionIRI) when the shapes match their record; else raise ShapesVersionError."""
    shapes = Graph().parse(ontology_dir / SHAPES_FILE, format="turtle")
    version, iri = read_version(shapes)
    record = read_record(ontology_dir)
    if not _SEMVER.fullmatch(version):
        raise ShapesVersionError(f"ontology/{SHAPES_FILE}: owl:versionInfo {version!r} is not X.Y.Z; {_fix('1.0.-1')}")
    if iri != str(version_iri(version)):
        raise ShapesVersionError(f"ontology/{SHAPES_FILE}: owl:versionIRI {iri!r} should be <{version_iri(version)}>")
    latest = record[-1] if record else {"version": "", "sha256": ""}
    current = digest(shapes)
    if latest["version"] != version:
        raise ShapesVersionError(
            f"ontology/{SHAPES_FILE} says version {version} but ontology/{RECORD_FILE} last records "
            f"{latest['version'] or 'nothing'}; {_fix(latest['version'] or version)}"
        )
    if latest["sha256"] != current:
        raise ShapesVersionError(f"the shapes changed but their version ({version}) did not; {_fix(version)}")
    return version, iri


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


def set_version(ontology_dir: Path, version: str) -> None:
    """Write ``version`` into the shapes document and append it, with the shapes' digest, to the record.

    Raises ShapesVersionError for a version that is not X.Y.Z or not newer than the last one recorded.
    Both files are written to temporary files first, then renamed.
    """
    if not _SEMVER.fullmatch(version):
        raise ShapesVersionError(f"{version!r}: a version is X.Y.Z")
    path = ontology_dir / SHAPES_FILE
    record = read_record(ontology_dir) if (ontology_dir / RECORD_FILE).exists() else []
    if record and _key(version) <= _key(record[-1]["version"]):
        raise ShapesVersionError(f"{version} is not newer than the recorded {record[-1]['version']}")
    text = path.read_text(encoding="utf-8")
    info_line = f'owl:versionInfo "{version}"'
    iri_line = f"owl:versionIRI <{version_iri(version)}>"
    if re.search(r'owl:versionInfo\s+"[^"]*"', text):
        text = re.sub(r'owl:versionInfo\s+"[^"]*"', info_line, text, count=1)
        text = re.sub(r"owl:versionIRI\s+<[^>]*>", iri_line, text, count=1)
    else:  # first version: state both right after the document's type
        head = f"<{SHAPES_IRI}> a owl:Ontology ;\n"
        if head not in text:
            raise ShapesVersionError(f"{path}: cannot find the line {head.strip()!r}")
        text = text.replace(head, f"{head}    {info_line} ;\n    {iri_line} ;\n", 1)
    shapes = Graph().parse(data=text, format="turtle")
    if read_version(shapes) != (version, str(version_iri(version))) or shapes.value(
        SHAPES_IRI, OWL.versionInfo
    ) != Literal(version):
        raise ShapesVersionError(f"{path}: could not state version {version} in it")
    record.append({"version": version, "sha256": digest(shapes)})
    _write(path, text)
    _write(ontology_dir / RECORD_FILE, json.dumps({"versions": record}, indent=2) + "\n")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


