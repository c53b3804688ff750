"""Reading and checking the curated tables: every problem is located (file, line, field)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.pipeline.tables import DataError, load_records


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError(needle)


def _problems(data: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        load_records(data)
    return [str(p) for p in info.value.problems]


def test_tables_load(settings):
    records = load_records(settings.data_dir)
    assert len(records.rows("municipalities")) == 62
    kinds = [r["kind"] for r in records.rows("municipalities")]
    assert (kinds.count("特別区"), kinds.count("市"), kinds.count("町"), kinds.count("村")) == (23, 26, 5, 8)


def test_unknown_municipality_is_located(data_copy):
    f = data_copy / "regional_resources.csv"
    line = _line_of(f, "練馬大根")
    _edit(f, "練馬大根,farm-forest-fishery,tokyo-basic-concept-regional-resources,131202",
          "練馬大根,farm-forest-fishery,tokyo-basic-concept-regional-resources,131210")
    problems = _problems(data_copy)
    assert any(p.startswith(f"data/regional_resources.csv:{line}: field 'municipalities'") and "131210" in p
               for p in problems), problems


def test_bad_check_digit_is_located(data_copy):
    f = data_copy / "municipalities.csv"
    line = _line_of(f, "千代田区")
    _edit(f, "131016,13101,千代田区", "131017,13101,千代田区")
    problems = _problems(data_copy)
    assert any(p.startswith(f"data/municipalities.csv:{line}: field 'code6'") and "check digit" in p
               for p in problems), problems


def test_missing_column(data_copy):
    f = data_copy / "regional_resources.csv"
    _edit(f, "id,name_ja,type,", "id,name_ja,")
    problems = _problems(data_copy)
    assert any(p.startswith("data/regional_resources.csv:1:") and "missing column(s) type" in p for p in problems)


def test_bad_date(data_copy):
    f = data_copy / "legal_bases.csv"
    line = _line_of(f, "2007-06-29")
    _edit(f, "2007-06-29", "2007-06-31")
    problems = _problems(data_copy)
    assert any(p.startswith(f"data/legal_bases.csv:{line}: field 'in_force'") for p in problems), problems


def test_duplicate_id(data_copy):
    f = data_copy / "regional_resources.csv"
    text = f.read_text(encoding="utf-8")
    first = text.splitlines()[1]
    f.write_text(text + first + "\n", encoding="utf-8")
    n = len(text.splitlines()) + 1
    problems = _problems(data_copy)
    assert any(p.startswith(f"data/regional_resources.csv:{n}: field 'id'") and "duplicate" in p
               for p in problems), problems


def test_unknown_reference(data_copy):
    f = data_copy / "basic_concepts.csv"
    _edit(f, "419ac0000000039-a5-p1", "419ac0000000039-a9-p9")
    problems = _problems(data_copy)
    assert any("data/basic_concepts.csv:2: field 'legal_basis'" in p and "unknown reference" in p
               for p in problems), problems


def test_wrong_encoding(data_copy):
    f = data_copy / "concepts.csv"
    f.write_bytes(f.read_text(encoding="utf-8").encode("shift_jis", errors="replace"))
    problems = _problems(data_copy)
    assert any(p.startswith("data/concepts.csv:2:") and "UTF-8" in p for p in problems), problems


def test_closed_list(data_copy):
    f = data_copy / "municipalities.csv"
    line = _line_of(f, "大島町")
    _edit(f, "大島支庁", "伊豆支庁")
    problems = _problems(data_copy)
    assert any(p.startswith(f"data/municipalities.csv:{line}: field 'branch_office'") for p in problems)


def test_bad_source_entry(data_copy):
    f = data_copy / "regional_resources.csv"
    line = _line_of(f, "練馬大根")
    _edit(f, ",000:2 (1) 農林水産物", ",009:2 (1) 農林水産物")
    problems = _problems(data_copy)
    assert any(p.startswith(f"data/regional_resources.csv:{line}: field 'source'") for p in problems)
