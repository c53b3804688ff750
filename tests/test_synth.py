"""`kg synth`: a synthetic national edition shaped like the real data, conforming, deterministic."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from kg.dates import is_valid_code6
from kg.pipeline.builder import build

from .conftest import ROOT, table_rows


def _synth(out: Path, scale: int, seed: int) -> Path:
    result = subprocess.run([sys.executable, "-m", "kg.cli", "synth", "--scale", str(scale), "--seed", str(seed),
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def _rows(folder: Path, table: str) -> list[dict[str, str]]:
    return table_rows(table, folder)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _synth(tmp_path_factory.mktemp("synth") / "data", 20_000, 7)


def test_same_seed_same_tables_other_seed_other_tables(synthetic: Path, tmp_path: Path):
    again = _synth(tmp_path / "again", 20_000, 7)
    names = sorted(p.name for p in synthetic.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(synthetic, again, names, shallow=False)
    assert not mismatch and not errors and len(match) == len(names)
    other = _synth(tmp_path / "other", 20_000, 8)
    assert not filecmp.cmp(synthetic / "regional_resources.csv", other / "regional_resources.csv", shallow=False)


def test_keeps_the_shape_of_the_real_data(synthetic: Path):
    municipalities = _rows(synthetic, "municipalities")
    assert all(is_valid_code6(m["code6"]) for m in municipalities)
    assert len({m["prefecture"] for m in municipalities}) == 47
    assert {r["type"] for r in _rows(synthetic, "regional_resources")} == {
        "farm-forest-fishery", "mining-manufacturing", "tourism"}
    plans = _rows(synthetic, "plans")
    assert len({p["fy_start"] for p in plans}) > 3  # plans spread over fiscal years
    programs = {p["id"] for p in _rows(synthetic, "programs")}
    budgets = _rows(synthetic, "budgets")
    assert programs and {b["program"] for b in budgets} <= programs
    assert all(b["amount_yen"].isdigit() for b in budgets)


def test_builds_and_conforms_to_our_shapes(synthetic: Path, settings, tmp_path: Path):
    out = tmp_path / "dist"
    manifest, report = build(replace(settings, data_dir=synthetic, reasoner="reasonable", validator="shacl"), out)
    assert report is not None and report.conforms
    assert manifest["triples"]["data"] > 10_000
