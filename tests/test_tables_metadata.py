"""The tables' CSVW metadata: the one declaration of every column, read by us and by a third party."""

from __future__ import annotations

import ast
import json
import shutil
import warnings
from pathlib import Path

import pytest
from csvw import CSVW

from kg.pipeline.table_schema import METADATA_FILE, read_schema
from kg.pipeline.tables import DataError, load_records

from .conftest import FIXTURES, ROOT

BROKEN = FIXTURES / "tables"
CASES = [  # fixture folder, table file, line, field, what our message says
    (
        "broken-foreign-key",
        "regional_resources.csv",
        3,
        "basic_concept",
        "unknown reference 'tokyo-basic-concept-nowhere'",
    ),
    ("outside-closed-list", "program_measures.csv", 3, "relisted", "'再々掲' is not one of: 再掲, 別掲"),
    ("bad-datatype", "budgets.csv", 3, "amount_yen", "'65.1億' is not a decimal number"),
]


def _problems(data: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        load_records(data)
    return [str(p) for p in info.value.problems]


def _csvw_errors(metadata: Path) -> list[str]:
    """Validate with the third-party csvw package as its ``csvwvalidate --lax`` does; return its complaints."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        tables = CSVW(str(metadata), validate=True, strict=False)  # strict=False: empty optional keys are null
        try:
            valid = tables.is_valid
        except ValueError as exc:  # csvw raises at the first broken foreign key
            return [str(exc)]
    messages = [str(w.message) for w in tables.warnings]
    assert valid == (not messages)
    return messages


def test_csvw_finds_no_error_in_our_tables():
    assert _csvw_errors(ROOT / "data" / METADATA_FILE) == []


@pytest.mark.parametrize(("case", "file", "line", "field", "message"), CASES)
def test_broken_table_is_located_by_us_and_rejected_by_csvw(data_copy, case, file, line, field, message):
    shutil.copy(BROKEN / case / file, data_copy / file)
    problems = _problems(data_copy)
    assert len(problems) == 1 and problems[0].startswith(f"data/{file}:{line}: field '{field}': {message}"), problems
    assert _csvw_errors(data_copy / METADATA_FILE), f"csvw accepted {case}"


def test_every_column_is_described_in_ja_and_en():
    schema = read_schema(ROOT / "data" / METADATA_FILE)
    assert {t.file for t in schema.tables} == {p.name for p in (ROOT / "data").glob("*.csv")}
    for table in schema.tables:
        assert table.key and set(table.key) <= {c.name for c in table.columns}, table.file
        for col in table.columns:
            assert set(col.titles) == {"ja", "en"} and all(col.titles.values()) and col.description, col.name


def test_no_table_or_column_is_named_in_the_checker():
    """tables.py and table_schema.py apply the metadata; no table or column name is written in them."""
    schema = read_schema(ROOT / "data" / METADATA_FILE)
    names = {t.name for t in schema.tables} | {t.file for t in schema.tables}
    names |= {c.name for t in schema.tables for c in t.columns}
    for module in ("tables", "table_schema"):
        tree = ast.parse((ROOT / "src" / "kg" / "pipeline" / f"{module}.py").read_text(encoding="utf-8"))
        constants = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not constants & names, f"{module}.py names {sorted(constants & names)}"


def _edit_metadata(data: Path, edit) -> None:
    path = data / METADATA_FILE
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def _column(doc: dict, table: str, column: str) -> dict:
    (t,) = [t for t in doc["tables"] if t["url"] == f"{table}.csv"]
    (c,) = [c for c in t["tableSchema"]["columns"] if c["name"] == column]
    return c


def test_declaration_drives_the_check(data_copy):
    """Change the metadata only: the checker follows it (nothing about the column is in code)."""
    _edit_metadata(
        data_copy,
        lambda doc: _column(doc, "municipalities", "kind").update(datatype={"base": "string", "format": "市|町|村"}),
    )
    problems = _problems(data_copy)
    assert len(problems) == 23 and all("field 'kind': '特別区' is not one of: 市, 町, 村" in p for p in problems)


def test_unsupported_metadata_is_located(data_copy):
    _edit_metadata(data_copy, lambda doc: _column(doc, "budgets", "amount_yen").update(datatype={"base": "float"}))
    problems = _problems(data_copy)
    assert len(problems) == 1 and problems[0].startswith("data/tables-metadata.json: field 'tables[")
    assert "datatype base 'float' is not supported" in problems[0]


def test_missing_metadata_is_reported(data_copy):
    (data_copy / METADATA_FILE).unlink()
    assert _problems(data_copy) == ["data/tables-metadata.json: file is missing"]


def test_reference_to_a_concept_of_another_scheme(data_copy):
    f = data_copy / "basic_concepts.csv"
    f.write_text(f.read_text(encoding="utf-8").replace("diversity;", "dx;", 1), encoding="utf-8")
    problems = _problems(data_copy)
    assert len(problems) == 1 and problems[0].startswith("data/basic_concepts.csv:2: field 'viewpoints'")
    assert "'dx'" in problems[0] and "scheme viewpoints" in problems[0]


def test_provision_without_its_act(data_copy):
    f = data_copy / "legal_bases.csv"
    f.write_text(
        f.read_text(encoding="utf-8").replace("provision,419ac0000000039,", "provision,,", 1), encoding="utf-8"
    )
    problems = _problems(data_copy)
    assert any("field 'parent': is required when kind is provision" in p for p in problems), problems


def test_malformed_extension_is_located(data_copy):
    _edit_metadata(
        data_copy,
        lambda doc: _column(doc, "legal_bases", "parent").update(
            {"https://w3id.org/tokyo-sme-kg/ontology#requiredWhen": "kind"}
        ),
    )
    problems = _problems(data_copy)
    assert len(problems) == 1 and ".requiredWhen': expected 'column=value' strings" in problems[0], problems


def test_foreign_key_to_an_undeclared_column_is_reported(data_copy):
    def edit(doc):
        (t,) = [t for t in doc["tables"] if t["url"] == "budgets.csv"]
        t["tableSchema"]["foreignKeys"][0]["reference"]["columnReference"] = "code"

    _edit_metadata(data_copy, edit)
    problems = _problems(data_copy)
    assert problems == [
        "data/tables-metadata.json: budgets.csv: column 'program' refers to programs.csv ['code'], not all declared"
    ]
