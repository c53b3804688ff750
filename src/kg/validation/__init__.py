"""Validation: SHACL runs with either engine, reports (text, JUnit, SARIF, GitHub annotations), and
the shapes document's version record."""

from ..standalone_shapes import standalone as standalone_shapes
from .annotations import github, sarif
from .shacl import (
    VALIDATORS,
    InputError,
    Report,
    Violation,
    format_report,
    load_rdf,
    run_validation,
    validate_ntriples_file,
)
from .shapes import SHAPES_FILE, SPARQL_ONLY, ShapesVersionError, read_version
from .shapes import check as check_shapes_record
from .shapes import set_version as set_shapes_version

__all__ = [
    "SHAPES_FILE",
    "SPARQL_ONLY",
    "VALIDATORS",
    "InputError",
    "Report",
    "ShapesVersionError",
    "Violation",
    "check_shapes_record",
    "format_report",
    "github",
    "load_rdf",
    "read_version",
    "run_validation",
    "sarif",
    "set_shapes_version",
    "standalone_shapes",
    "validate_ntriples_file",
]
