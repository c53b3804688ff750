"""Read and check the curated tables in ``data/`` against their CSVW metadata.

What each table holds (columns, datatypes, required cells, list separators, closed lists, keys and
references) is declared once, in ``data/tables-metadata.json`` (see :mod:`kg.pipeline.table_schema`); this module
applies those declarations. Every problem is reported with file, line and field; a build never
starts from bad tables.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from ..dates import is_valid_code6
from ..namespaces import KGO
from .table_schema import METADATA_FILE, Column, DataError, Datatype, Problem, Reference, Schema, Table, read_schema

__all__ = ["Citation", "DataError", "Problem", "Records", "Row", "load_records", "read_table"]


@dataclass
class Row:
    """A checked row: typed values by column name, plus where it came from."""

    table: str
    line: int
    values: dict[str, object]

    def __getitem__(self, key: str) -> object:
        return self.values[key]

    def get(self, key: str, default: object = None) -> object:
        value = self.values.get(key)
        return default if value in (None, "", []) else value

    def many(self, key: str) -> list[object]:
        """The values of a many-valued column (a list; empty when the cell is)."""
        value = self.get(key, [])
        assert isinstance(value, list), f"{self.table}.{key} is not a many-valued column"
        return value

    def citations(self, key: str) -> list[Citation]:
        """The citations of a citation column (empty when the cell is)."""
        values = self.many(key)
        citations = [c for c in values if isinstance(c, Citation)]
        assert len(citations) == len(values), f"{self.table}.{key} is not a citation column"
        return citations


@dataclass(frozen=True)
class Citation:
    """A source entry: document key and section."""

    doc: str
    section: str


@dataclass
class Records:
    """All checked rows by table name, in file order, and the schema they were checked against."""

    schema: Schema | None = None
    tables: dict[str, list[Row]] = field(default_factory=dict)

    def rows(self, table: str) -> list[Row]:
        return self.tables.get(table, [])


# ---------------------------------------------------------------- CSVW datatypes, one cell at a time
XSD_INTEGER = re.compile(r"[+-]?\d+")
XSD_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
XSD_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
XSD_YEAR_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
LITERAL_CHOICES = re.compile(r"[\w-]+(\|[\w-]+)*")


def _boolean(raw: str, dt: Datatype) -> bool:
    true, false = dt.format.split("|") if dt.format else ("true", "false")
    if raw not in (true, false, *(() if dt.format else ("1", "0"))):
        raise ValueError(f"{raw!r} is not {true} or {false}")
    return raw in (true, "1")


def _parse(pattern: re.Pattern[str], what: str, convert: Callable[[str], object]) -> Callable[[str, Datatype], object]:
    def parse(raw: str, dt: Datatype) -> object:
        if not pattern.fullmatch(raw):
            raise ValueError(f"{raw!r} is not {what}")
        try:
            return convert(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not {what}") from None

    return parse


BASES: dict[str, Callable[[str, Datatype], object]] = {
    "string": lambda raw, dt: raw,
    "integer": _parse(XSD_INTEGER, "an integer", int),
    "decimal": _parse(XSD_DECIMAL, "a decimal number", Decimal),
    "boolean": _boolean,
    "date": _parse(XSD_DATE, "a date YYYY-MM-DD", date.fromisoformat),
    "gYearMonth": _parse(XSD_YEAR_MONTH, "a year-month YYYY-MM", str),
}


def _local_government_code(value: object) -> object:
    if not is_valid_code6(str(value)):
        raise ValueError(f"{value!r} is not a 6-digit local government code with a valid check digit")
    return value


def _citation(value: object) -> Citation:
    doc, _, section = str(value).partition(":")
    return Citation(doc, section)


# Datatypes the metadata names by @id: checks and conversions beyond what CSVW can declare.
NAMED_DATATYPES: dict[str, Callable[[object], object]] = {
    str(KGO.localGovernmentCode): _local_government_code,
    str(KGO.citation): _citation,
}


def _format_error(raw: str, fmt: str) -> str:
    if LITERAL_CHOICES.fullmatch(fmt):
        return f"{raw!r} is not one of: {', '.join(fmt.split('|'))}"
    return f"{raw!r} does not match the pattern {fmt}"


def convert(col: Column, raw: str) -> object:
    """Return the typed value of one non-empty cell (or list item) of ``col``; raise ValueError if invalid."""
    dt = col.datatype
    if dt.base == "string" and dt.format and not re.fullmatch(dt.format, raw):
        raise ValueError(_format_error(raw, dt.format))
    value = BASES[dt.base](raw, dt)
    if dt.minimum is not None or dt.maximum is not None:
        if not isinstance(value, int | Decimal):  # bounds are Decimals: only numbers compare with them
            raise ValueError(f"{raw!r}: bounds on a column of type {dt.base}")
        if dt.minimum is not None and value < dt.minimum:
            raise ValueError(f"{raw!r} is less than the minimum {dt.minimum}")
        if dt.maximum is not None and value > dt.maximum:
            raise ValueError(f"{raw!r} is more than the maximum {dt.maximum}")
    named = NAMED_DATATYPES.get(dt.id)
    return named(value) if named else value


def _cell(col: Column, raw: str) -> tuple[object, list[str]]:
    """Return the value of a non-empty cell and the problems found in it (list cells item by item)."""
    if col.separator is None:
        return convert(col, raw), []
    items = raw.split(col.separator)
    problems = []
    if any(item != item.strip() or not item for item in items):
        problems.append(f"has an empty list item or spaces around {col.separator!r}")
    if len(set(items)) != len(items):
        problems.append("lists a value twice")
    return [convert(col, item.strip()) for item in items if item.strip()], problems


def _decode(path: Path, data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            [Problem(f"data/{path.name}", line, "", f"not valid UTF-8 (byte {exc.start}): save the table as UTF-8")]
        ) from None


def _header_problem(header: list[str], expected: list[str]) -> str:
    missing = [c for c in expected if c not in header]
    extra = [c for c in header if c not in expected]
    detail = "; ".join(
        x
        for x in (
            missing and f"missing column(s) {', '.join(missing)}",
            extra and f"unknown column(s) {', '.join(extra)}",
        )
        if x
    )
    return f"header must be {','.join(expected)}" + (f" ({detail})" if detail else " (columns out of order)")


def _row_values(table: Table, cells: list[str]) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """Return the typed values of one row and its problems as (field, message) pairs."""
    values: dict[str, object] = {}
    problems: list[tuple[str, str]] = []
    for col, cell in zip(table.columns, cells, strict=True):
        raw = cell.strip()
        if raw != cell:
            problems.append((col.name, "has surrounding spaces"))
        values[col.name] = [] if col.separator is not None else ""
        if not raw:
            if col.required:
                problems.append((col.name, "is required but empty"))
            continue
        try:
            values[col.name], found = _cell(col, raw)
            problems.extend((col.name, p) for p in found)
        except ValueError as exc:
            problems.append((col.name, str(exc)))
    for col in table.columns:
        when = col.required_when
        if when and values[col.name] in ("", []) and all(str(values.get(k)) == v for k, v in when.items()):
            condition = " and ".join(f"{k} is {v}" for k, v in when.items())
            problems.append((col.name, f"is required when {condition}"))
    return values, problems


def read_table(path: Path, table: Table) -> tuple[list[Row], list[Problem]]:
    """Read one table file; return its rows and the problems found in it (not references)."""
    name = f"data/{path.name}"
    reader = csv.reader(io.StringIO(_decode(path, path.read_bytes()), newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return [], [Problem(name, 1, "", "file is empty (a header row is required)")]
    except csv.Error as exc:
        return [], [Problem(name, 1, "", f"CSV error: {exc}")]
    expected = [c.name for c in table.columns]
    if header != expected:
        return [], [Problem(name, 1, "", _header_problem(header, expected))]
    rows: list[Row] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(name, reader.line_num, "", f"CSV error: {exc}"))
            break
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(expected):
            problems.append(Problem(name, line, "", f"has {len(cells)} cells, the header has {len(expected)}"))
            continue
        values, found = _row_values(table, cells)
        problems.extend(Problem(name, line, f, message) for f, message in found)
        key = "|".join(str(values.get(k, "")) for k in table.key)
        if key in seen:
            problems.append(Problem(name, line, table.key[0], f"duplicate key {key!r} (first on line {seen[key]})"))
        else:
            seen[key] = line
        rows.append(Row(table.name, line, values))
    return rows, problems


def _key_sets(records: Records, refs: Iterable[Reference]) -> dict[Reference, set[str]]:
    """Return, for every reference, the keys it may point to."""
    out = {}
    for ref in set(refs):
        rows = [r for r in records.rows(ref.table) if all(str(r.values.get(k)) == v for k, v in ref.where)]
        out[ref] = {str(r.values.get(ref.column)) for r in rows}
    return out


def _expected(refs: tuple[Reference, ...]) -> str:
    def one(ref: Reference) -> str:
        where = " and ".join(f"{k} {v}" for k, v in ref.where)
        return f"{ref.column} of {ref.table}.csv" + (f" with {where}" if where else "")

    return " or ".join(one(r) for r in refs)


def check_references(records: Records, schema: Schema) -> list[Problem]:
    """Return a problem for every foreign key value that does not resolve."""
    keys = _key_sets(records, (r for t in schema.tables for c in t.columns for r in c.refs))
    problems = []
    for table in schema.tables:
        for col in (c for c in table.columns if c.refs):
            for row in records.rows(table.name):
                value = row.values.get(col.name)
                for v in value if isinstance(value, list) else [value]:
                    if v not in ("", None) and not any(str(v) in keys[r] for r in col.refs):
                        message = f"unknown reference {v!r} (expected a {_expected(col.refs)})"
                        problems.append(Problem(f"data/{table.file}", row.line, col.name, message))
    return sorted(problems, key=lambda p: (p.file, p.line))


def load_records(data_dir: Path) -> Records:
    """Read, check and return every table in ``data_dir`` described by its ``tables-metadata.json``.

    Raises DataError listing every problem with file, line and field.
    """
    schema = read_schema(data_dir / METADATA_FILE)
    records = Records(schema)
    problems: list[Problem] = []
    for table in schema.tables:
        path = data_dir / table.file
        if not path.exists():
            problems.append(Problem(f"data/{table.file}", 0, "", "file is missing"))
            continue
        rows, found = read_table(path, table)
        records.tables[table.name] = rows
        problems.extend(found)
    if not problems:
        problems.extend(check_references(records, schema))
    if problems:
        raise DataError(problems)
    return records
