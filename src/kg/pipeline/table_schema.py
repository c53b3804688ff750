"""The schema of the curated tables, read from their CSV on the Web metadata document.

``data/tables-metadata.json`` (W3C CSVW, "Metadata Vocabulary for Tabular Data") is the single
declaration of every table's columns: name, titles in ja and en, description, datatype (with
``format``, ``minimum``, ``maximum``), ``required``, ``separator``, ``primaryKey`` and
``foreignKeys``. This module turns it into :class:`Table` and :class:`Column` objects; it knows
the CSVW terms it supports and the project's three extension properties (named by ``kgo:`` IRIs,
as CSVW asks of common properties), and nothing about any particular column. Anything it does
not support is an error naming the place in the document, never silently ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..namespaces import KGO

METADATA_FILE = "tables-metadata.json"
CSVW_CONTEXT = "http://www.w3.org/ns/csvw"
BASES = ("string", "integer", "decimal", "boolean", "date", "gYearMonth")
DATATYPE_KEYS = {"@id", "base", "format", "minimum", "maximum", "dc:description"}
# Project extensions (CSVW common properties); see "Checks beyond CSVW" in data/README.md.
# Their values are plain JSON-LD (table links, "column=value" strings), as CSVW requires.
REFERENCE_WHERE = str(KGO.referenceWhere)  # "column=value": the referenced row must hold it
REFERENCES_ONE_OF = str(KGO.referencesOneOf)  # [{"@id": "table.csv"}, …]: a primary key of any one of them
REQUIRED_WHEN = str(KGO.requiredWhen)  # "column=value": the cell is required when the row holds it
COLUMN_KEYS = {
    "name", "titles", "dc:description", "datatype", "required", "separator",
    REFERENCE_WHERE, REFERENCES_ONE_OF, REQUIRED_WHEN,
}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One located problem in a table (or in the metadata document)."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: field '{self.field}': {self.message}" if self.field else f"{where}: {self.message}"


class DataError(Exception):
    """Raised when tables are unusable; ``problems`` lists every located problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        super().__init__(f"{len(problems)} problem(s) in the data tables:\n{shown}{more}")


@dataclass(frozen=True)
class Datatype:
    """A CSVW datatype: a built-in base, optionally derived with a format or bounds, or named by ``@id``."""

    base: str = "string"
    format: str = ""
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    id: str = ""


@dataclass(frozen=True)
class Reference:
    """Values of a column are keys of ``table`` (in ``column``), of rows holding the values in ``where``."""

    table: str
    column: str
    where: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Column:
    """One column as declared in the metadata."""

    name: str
    titles: dict[str, str]
    description: str
    datatype: Datatype
    required: bool = False
    separator: str | None = None
    refs: tuple[Reference, ...] = ()
    required_when: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A table: its file, titles, description, primary key and columns."""

    file: str
    titles: dict[str, str]
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def name(self) -> str:
        """The table's name: its file name without ``.csv``."""
        return self.file.removesuffix(".csv")


@dataclass(frozen=True)
class Schema:
    """Every table of the metadata document, in document order, plus the document itself."""

    tables: tuple[Table, ...]
    document: dict[str, Any]

    def table(self, name: str) -> Table:
        """Return the table called ``name`` (KeyError if there is none)."""
        return {t.name: t for t in self.tables}[name]


class _Reader:
    """Reads one metadata document; every unsupported or malformed part becomes a located problem."""

    def __init__(self, file: str, keys: dict[str, str]):
        self.file = file
        self.keys = keys  # table name -> its (one-column) primary key
        self.problems: list[Problem] = []

    def conditions(self, where: str, value: object) -> tuple[tuple[str, str], ...]:
        items = value if isinstance(value, list) else [value] if value else []
        pairs = [str(x).partition("=") for x in items]
        if any(not sep or not k or not v for k, sep, v in pairs):
            self.problem(where, f"expected 'column=value' strings, not {value!r}")
        return tuple(sorted((k, v) for k, _, v in pairs))

    def one_of(self, where: str, value: object) -> list[Reference]:
        links = value if isinstance(value, list) and all(isinstance(x, dict) for x in value) else []
        tables = [str(x.get("@id", "")).removesuffix(".csv") for x in links]
        unknown = [t for t in tables if t not in self.keys]
        if not tables or unknown:
            self.problem(where, f"expected links to tables with a one-column primary key, not {value!r}")
        return [Reference(t, self.keys.get(t, "")) for t in tables]

    def problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(self.file, 0, where, message))

    def titles(self, where: str, value: object) -> dict[str, str]:
        items = [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []
        titles = {str(x.get("@language")): str(x.get("@value")) for x in items}
        if isinstance(value, dict):
            titles = {k: str(v) for k, v in value.items()}
        if set(titles) != {"ja", "en"}:
            self.problem(where, "needs a title in ja and one in en")
        return titles

    def datatype(self, where: str, value: object) -> Datatype:
        spec: dict[str, Any] = {}
        if isinstance(value, str):
            spec = {"base": value}
        elif isinstance(value, dict):
            spec = dict(value)
        elif value is not None:
            self.problem(where, f"a datatype is a name or an object, not {value!r}")
        for key in sorted(set(spec) - DATATYPE_KEYS):
            self.problem(where, f"datatype property {key!r} is not supported")
        base = spec.get("base", "string")
        if base not in BASES:
            self.problem(where, f"datatype base {base!r} is not supported (one of {', '.join(BASES)})")
        if "format" in spec and base not in ("string", "boolean"):
            self.problem(where, f"a format is supported only for string and boolean, not {base!r}")
        bounds = {k: Decimal(str(spec[k])) for k in ("minimum", "maximum") if k in spec}
        return Datatype(base, str(spec.get("format", "")), id=str(spec.get("@id", "")), **bounds)

    def column(self, where: str, spec: dict[str, Any], fks: dict[str, Reference]) -> Column:
        for key in sorted(set(spec) - COLUMN_KEYS):
            self.problem(where, f"column property {key!r} is not supported")
        name = str(spec.get("name", ""))
        refs = self.one_of(f"{where}.referencesOneOf", spec[REFERENCES_ONE_OF]) if REFERENCES_ONE_OF in spec else []
        if name in fks:
            condition = self.conditions(f"{where}.referenceWhere", spec.get(REFERENCE_WHERE))
            refs.append(Reference(fks[name].table, fks[name].column, condition))
        if not spec.get("dc:description"):
            self.problem(where, "needs a dc:description")
        return Column(
            name=name,
            titles=self.titles(f"{where}.titles", spec.get("titles")),
            description=str(spec.get("dc:description", "")),
            datatype=self.datatype(f"{where}.datatype", spec.get("datatype", "string")),
            required=bool(spec.get("required", False)),
            separator=spec.get("separator"),
            refs=tuple(refs),
            required_when=dict(self.conditions(f"{where}.requiredWhen", spec.get(REQUIRED_WHEN))),
        )

    def table(self, where: str, spec: dict[str, Any]) -> Table:
        schema = spec.get("tableSchema", {})
        fks: dict[str, Reference] = {}
        for n, fk in enumerate(schema.get("foreignKeys", [])):
            ref = fk.get("reference", {})
            if not isinstance(fk.get("columnReference"), str) or not isinstance(ref.get("columnReference"), str):
                self.problem(f"{where}.tableSchema.foreignKeys[{n}]", "only one-column foreign keys are supported")
            fks[str(fk.get("columnReference"))] = Reference(
                str(ref.get("resource", "")).removesuffix(".csv"), str(ref.get("columnReference"))
            )
        columns = tuple(
            self.column(f"{where}.tableSchema.columns[{i}]", c, fks) for i, c in enumerate(schema.get("columns", []))
        )
        key = schema.get("primaryKey", [])
        return Table(
            file=str(spec.get("url", "")),
            titles=self.titles(f"{where}.dc:title", spec.get("dc:title")),
            description=str(spec.get("dc:description", "")),
            key=(key,) if isinstance(key, str) else tuple(key),
            columns=columns,
        )


def _dangling(tables: tuple[Table, ...]) -> list[str]:
    """Return what the schema names but does not declare: key columns, referenced tables or columns."""
    columns = {t.name: {c.name for c in t.columns} for t in tables}
    out = [f"{t.file}: primary key {k!r} is not a column" for t in tables for k in t.key if k not in columns[t.name]]
    for t in tables:
        for c in t.columns:
            for r in c.refs:
                named = {r.column} | {k for k, _ in r.where}
                if not named <= columns.get(r.table, set()):
                    out.append(f"{t.file}: column {c.name!r} refers to {r.table}.csv {sorted(named)}, not all declared")
    return out


def read_schema(path: Path) -> Schema:
    """Return the schema declared by the CSVW metadata document at ``path``.

    Raises DataError naming the document and the place in it when the document is missing,
    is not JSON, or uses a CSVW term this checker does not implement.
    """
    file = f"data/{path.name}"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError([Problem(file, 0, "", "file is missing")]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError([Problem(file, getattr(exc, "lineno", 0), "", f"not valid JSON: {exc}")]) from None
    if not isinstance(document, dict) or not isinstance(document.get("tables"), list):
        raise DataError([Problem(file, 0, "", "expected a CSVW table group: an object with a list of tables")])
    specs = document["tables"]
    keys = {
        str(t.get("url", "")).removesuffix(".csv"): t.get("tableSchema", {}).get("primaryKey")
        for t in specs
        if isinstance(t.get("tableSchema", {}).get("primaryKey"), str)
    }
    reader = _Reader(file, keys)
    context = document.get("@context")
    if CSVW_CONTEXT not in (context if isinstance(context, list) else [context]):
        reader.problem("@context", f"must be {CSVW_CONTEXT!r} (a CSVW metadata document)")
    tables = tuple(reader.table(f"tables[{i}]", t) for i, t in enumerate(specs))
    for message in _dangling(tables):
        reader.problem("", message)
    if reader.problems:
        raise DataError(reader.problems)
    return Schema(tables, document)
