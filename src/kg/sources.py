"""Read and check the curated tables in ``data/``.

Every problem is reported with file, line and field; a build never starts from bad tables.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .dates import is_valid_code6

ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SOURCE_DOCS = ("000", "001", "002", "003", "004")
REFERENCE_KEY = "ref"
# Tables whose keys name bodies that can implement, approve or author.
AGENTS = ("organizations", "municipalities", "prefectures")


@dataclass(frozen=True)
class Column:
    """One column of a table: its checks and what it refers to."""

    name: str
    required: bool = False
    kind: str = "text"  # text | id | code6 | code5 | date | gyearmonth | year | int | decimal | bool | source
    choices: tuple[str, ...] = ()
    many: bool = False
    refs: tuple[str, ...] = ()  # table names, optionally "table@scheme" for concepts


@dataclass(frozen=True)
class Table:
    """A curated table: file name, key columns and columns."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def file(self) -> str:
        return f"{self.name}.csv"


def _c(name: str, **kw: object) -> Column:
    return Column(name, **kw)  # type: ignore[arg-type]


SRC = _c("source", required=True, kind="source")
ORG_KINDS = (
    "government",
    "ministry",
    "agency",
    "bureau",
    "division",
    "office",
    "corporation",
    "institute",
    "university",
    "chamber",
    "association",
    "fund",
    "other",
)

TABLES: tuple[Table, ...] = (
    Table(
        "sources",
        ("id",),
        (
            _c("id", required=True, choices=SOURCE_DOCS),
            _c("file", required=True),
            _c("title_ja", required=True),
            _c("title_en", required=True),
            _c("publisher_ja"),
            _c("issued", kind="date"),
            _c("description_en"),
        ),
    ),
    Table(
        "prefectures",
        ("code6",),
        (
            _c("code6", required=True, kind="code6"),
            _c("code5", required=True, kind="code5"),
            _c("name_ja", required=True),
            _c("kana", required=True),
            _c("name_en", required=True),
            SRC,
        ),
    ),
    Table(
        "municipalities",
        ("code6",),
        (
            _c("code6", required=True, kind="code6"),
            _c("code5", required=True, kind="code5"),
            _c("name_ja", required=True),
            _c("kana", required=True),
            _c("name_en", required=True),
            _c("kind", required=True, choices=("特別区", "市", "町", "村")),
            _c("branch_office", choices=("大島支庁", "三宅支庁", "八丈支庁", "小笠原支庁")),
            _c("district"),
            _c("prefecture", required=True, refs=("prefectures",)),
            SRC,
        ),
    ),
    Table(
        "legal_bases",
        ("id",),
        (
            _c("id", required=True, kind="id"),
            _c("kind", required=True, choices=("act", "provision", "bill")),
            _c("parent", refs=("legal_bases",)),
            _c("name_ja", required=True),
            _c("short_name_ja"),
            _c("name_en", required=True),
            _c("law_number_ja"),
            _c("egov_id"),
            _c("promulgated", kind="date"),
            _c("in_force", kind="date"),
            _c("repealed", kind="date"),
            _c("repealed_by", refs=("legal_bases",)),
            _c("article", kind="int"),
            _c("paragraph", kind="int"),
            SRC,
        ),
    ),
    Table(
        "concepts",
        ("id",),
        (
            _c("id", required=True, kind="id"),
            _c("scheme", required=True, choices=("resource-types", "viewpoints", "topics", "levels", "budget-kinds")),
            _c("notation"),
            _c("order", required=True, kind="int"),
            _c("label_ja", required=True),
            _c("label_en", required=True),
            _c("definition_ja", required=True),
            _c("definition_en", required=True),
            _c("source", kind="source"),
        ),
    ),
    Table(
        "organizations",
        ("id",),
        (
            _c("id", required=True, kind="id"),
            _c("name_ja", required=True),
            _c("name_en", required=True),
            _c("kind", required=True, choices=ORG_KINDS),
            _c("parent", refs=AGENTS),
            _c("description_ja"),
            _c("description_en"),
            SRC,
        ),
    ),
    Table(
        "contacts",
        ("organization", "role"),
        (
            _c("organization", required=True, refs=AGENTS),
            _c("phone", required=True),
            _c("role", required=True, choices=("basic-concept", "system", "business-plan")),
            SRC,
        ),
    ),
    Table(
        "basic_concepts",
        ("id",),
        (
            _c("id", required=True, kind="id"),
            _c("name_ja", required=True),
            _c("name_en", required=True),
            _c("prefecture", required=True, refs=("prefectures",)),
            _c("legal_basis", required=True, refs=("legal_bases",)),
            _c("drafted", kind="gyearmonth"),
            _c("changed", kind="date"),
            _c("approved_by", many=True, refs=AGENTS),
            _c("approver_note_ja"),
            _c("viewpoints", many=True, refs=("concepts@viewpoints",)),
            _c("contact", many=True, refs=AGENTS),
            SRC,
        ),
    ),
    Table(
        "regional_resources",
        ("id",),
        (
            _c("id", required=True, kind="id"),
            _c("name_ja", required=True),
            _c("type", required=True, refs=("concepts@resource-types",)),
            _c("basic_concept", required=True, refs=("basic_concepts",)),
            _c("municipalities", required=True, many=True, refs=("municipalities",)),
            _c("note"),
            SRC,
        ),
    ),
    Table(
        "plans",
        ("id",),
        (
            _c("id", required=True, kind="id"),
            _c("kind", required=True, choices=("revitalization-plan", "support-plan", "basic-strategy", "guideline")),
            _c("name_ja", required=True),
            _c("name_en", required=True),
            _c("parent", refs=("plans", "basic_concepts")),
            _c("municipality", refs=("municipalities",)),
            _c("author", many=True, refs=AGENTS),
            _c("approved_by", many=True, refs=AGENTS),
            _c("fy_start", kind="year"),
            _c("fy_end", kind="year"),
            _c("legal_basis", many=True, refs=("legal_bases",)),
            _c("description_ja"),
            _c("description_en"),
            SRC,
        ),
    ),
    Table(
        "measures",
        ("id",),
        (
            _c("id", required=True, kind="id"),
            _c("plan", required=True, refs=("plans", "basic_concepts")),
            _c("parent", refs=("measures",)),
            _c(
                "kind",
                required=True,
                choices=(
                    "category",
                    "pillar",
                    "measure-group",
                    "measure",
                    "policy-area",
                    "sub-area",
                    "related-measure",
                ),
            ),
            _c("notation"),
            _c("order", required=True, kind="int"),
            _c("name_ja", required=True),
            _c("name_en", required=True),
            _c("description_ja"),
            _c("description_en"),
            SRC,
        ),
    ),
    Table(
        "programs",
        ("id",),
        (
            _c("id", required=True, kind="id"),
            _c("name_ja", required=True),
            _c("name_en", required=True),
            _c("level", required=True, refs=("concepts@levels",)),
            _c("implementer", many=True, refs=AGENTS),
            _c("legal_basis", many=True, refs=("legal_bases",)),
            _c("topics", many=True, refs=("concepts@topics",)),
            _c("description_ja"),
            _c("description_en"),
            SRC,
        ),
    ),
    Table(
        "program_measures",
        ("program", "measure"),
        (
            _c("program", required=True, refs=("programs",)),
            _c("measure", required=True, refs=("measures",)),
            _c("order", required=True, kind="int"),
            _c("relisted", choices=("再掲", "別掲")),
            SRC,
        ),
    ),
    Table(
        "budgets",
        ("id",),
        (
            _c("id", required=True, kind="id"),
            _c("program", required=True, refs=("programs",)),
            _c("fiscal_year", required=True, kind="year"),
            _c("budget_kind", required=True, refs=("concepts@budget-kinds",)),
            _c("supplementary_no", kind="int"),
            _c("amount_yen", required=True, kind="decimal"),
            _c("as_written", required=True),
            _c("is_new", kind="bool"),
            _c("includes_agency_grant", kind="bool"),
            _c("agency_grant_yen", kind="decimal"),
            _c("agency_grant_as_written"),
            _c("note_en"),
            SRC,
        ),
    ),
)
TABLES_BY_NAME = {t.name: t for t in TABLES}


@dataclass(frozen=True)
class Problem:
    """One located problem in a table."""

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


@dataclass(frozen=True)
class Citation:
    """A source entry: document key and section."""

    doc: str
    section: str


@dataclass
class Records:
    """All checked rows by table name, in file order."""

    tables: dict[str, list[Row]] = field(default_factory=dict)

    def rows(self, table: str) -> list[Row]:
        return self.tables.get(table, [])

    def keys(self, table: str) -> set[str]:
        key = TABLES_BY_NAME[table].key
        return {"|".join(str(r[k]) for k in key) for r in self.rows(table)}


def _parse_source(text: str) -> list[Citation]:
    out = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        doc, sep, section = part.partition(":")
        doc = doc.strip()
        if not sep or doc not in (*SOURCE_DOCS, REFERENCE_KEY) or not section.strip():
            raise ValueError(
                f"source entry {part!r} is not DOC:SECTION with DOC one of {', '.join(SOURCE_DOCS)}, {REFERENCE_KEY}"
            )
        out.append(Citation(doc, section.strip()))
    if not out:
        raise ValueError("no source entry")
    return out


def _convert(col: Column, raw: str) -> object:
    """Return the typed value of one (non-empty, single) cell or raise ValueError."""
    if col.choices and raw not in col.choices:
        raise ValueError(f"{raw!r} is not one of: {', '.join(col.choices)}")
    kind = col.kind
    if kind == "id" and not ID_RE.match(raw):
        raise ValueError(f"{raw!r} is not a lower-case ASCII hyphenated id")
    if kind == "code6":
        if not is_valid_code6(raw):
            raise ValueError(f"{raw!r} is not a 6-digit local government code with a valid check digit")
    elif kind == "code5":
        if not re.fullmatch(r"\d{5}", raw):
            raise ValueError(f"{raw!r} is not a 5-digit code")
    elif kind == "date":
        try:
            return date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else _bad()
        except ValueError:
            raise ValueError(f"{raw!r} is not a date YYYY-MM-DD") from None
    elif kind == "gyearmonth":
        m = re.fullmatch(r"(\d{4})-(\d{2})", raw)
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"{raw!r} is not a year-month YYYY-MM")
    elif kind == "year":
        if not re.fullmatch(r"\d{4}", raw) or not 1868 <= int(raw) <= 2100:
            raise ValueError(f"{raw!r} is not a western year (1868–2100)")
        return int(raw)
    elif kind == "int":
        if not re.fullmatch(r"-?\d+", raw):
            raise ValueError(f"{raw!r} is not an integer")
        return int(raw)
    elif kind == "decimal":
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"{raw!r} is not a decimal number") from None
        if not value.is_finite() or value < 0:
            raise ValueError(f"{raw!r} is not a finite non-negative amount")
        return value
    elif kind == "bool":
        if raw not in ("true", "false"):
            raise ValueError(f"{raw!r} is not true or false")
        return raw == "true"
    elif kind == "source":
        return _parse_source(raw)
    return raw


def _bad() -> date:
    raise ValueError


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


def read_table(path: Path, table: Table) -> tuple[list[Row], list[Problem]]:
    """Read one table file; return its rows and the problems found in it (not references)."""
    problems: list[Problem] = []
    name = f"data/{path.name}"
    text = _decode(path, path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return [], [Problem(name, 1, "", "file is empty (a header row is required)")]
    except csv.Error as exc:
        return [], [Problem(name, 1, "", f"CSV error: {exc}")]
    expected = [c.name for c in table.columns]
    if header != expected:
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
        return [], [
            Problem(
                name,
                1,
                "",
                f"header must be {','.join(expected)}" + (f" ({detail})" if detail else " (columns out of order)"),
            )
        ]
    rows: list[Row] = []
    seen: dict[str, int] = {}
    line = 1
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
        values: dict[str, object] = {}
        for col, cell in zip(table.columns, cells, strict=True):
            raw = cell.strip()
            if raw != cell and col.kind in ("id", "code6"):
                problems.append(Problem(name, line, col.name, "has surrounding spaces"))
            if not raw:
                if col.required:
                    problems.append(Problem(name, line, col.name, "is required but empty"))
                values[col.name] = [] if col.many else ""
                continue
            try:
                if col.many:
                    items = [x.strip() for x in raw.split(";") if x.strip()]
                    values[col.name] = [_convert(col, x) for x in items]
                    if len(set(items)) != len(items):
                        problems.append(Problem(name, line, col.name, "lists a value twice"))
                else:
                    values[col.name] = _convert(col, raw)
            except ValueError as exc:
                problems.append(Problem(name, line, col.name, str(exc)))
        key = "|".join(str(values.get(k, "")) for k in table.key)
        if key in seen:
            problems.append(Problem(name, line, table.key[0], f"duplicate id {key!r} (first on line {seen[key]})"))
        else:
            seen[key] = line
        rows.append(Row(table.name, line, values))
    return rows, problems


def _ref_index(records: Records) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for table in TABLES:
        index[table.name] = records.keys(table.name) if len(table.key) == 1 else set()
    for row in records.rows("concepts"):
        index.setdefault(f"concepts@{row['scheme']}", set()).add(str(row["id"]))
    return index


def check_references(records: Records) -> list[Problem]:
    """Return a problem for every reference that does not resolve."""
    index = _ref_index(records)
    problems = []
    for table in TABLES:
        for row in records.rows(table.name):
            for col in table.columns:
                if not col.refs:
                    continue
                value = row.values.get(col.name)
                values: Iterable[object] = value if isinstance(value, list) else [value]
                for v in values:
                    if v in ("", None):
                        continue
                    if not any(str(v) in index.get(r, set()) for r in col.refs):
                        problems.append(
                            Problem(
                                f"data/{table.file}",
                                row.line,
                                col.name,
                                f"unknown reference {v!r} (expected an id of {' or '.join(col.refs)})",
                            )
                        )
    for row in records.rows("legal_bases"):
        if row["kind"] == "provision" and not row.get("parent"):
            problems.append(Problem("data/legal_bases.csv", row.line, "parent", "a provision needs its act"))
    return problems


def load_records(data_dir: Path) -> Records:
    """Read, check and return every table in ``data_dir``.

    Raises DataError listing every problem with file, line and field.
    """
    records = Records()
    problems: list[Problem] = []
    for table in TABLES:
        path = data_dir / table.file
        if not path.exists():
            problems.append(Problem(f"data/{table.file}", 0, "", "file is missing"))
            continue
        rows, found = read_table(path, table)
        records.tables[table.name] = rows
        problems.extend(found)
    if not problems:
        problems.extend(check_references(records))
    if problems:
        raise DataError(problems)
    return records
