"""The mapping is one small registered function per table, and the refactorings changed no output.

The byte-identity checks are tied to the refactoring commits themselves (found by their subject
lines), not to today's code: each builds the tree of that commit and of its parent, on their own
(identical) data, and compares every dump byte for byte. So they never need updating when the data
or the code later change on purpose, and they keep proving the claim of each commit: splitting
the mapping per table, and moving the stages into packages (issue 19).
"""

from __future__ import annotations

import inspect
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from kg.pipeline.mapping import TABLE_MAPPERS
from kg.pipeline.table_schema import METADATA_FILE, read_schema

from .conftest import ROOT as PROJECT_ROOT

REFACTOR_SUBJECTS = [
    "Mapping: one function per table, registered by table name; dumps byte-identical",
    "Stages as packages: pipeline, validation, query and web; dumps byte-identical",
]
MAX_LINES = 60


def test_every_table_has_exactly_one_registered_mapping():
    tables = read_schema(PROJECT_ROOT / "data" / METADATA_FILE).tables
    assert list(TABLE_MAPPERS) == [t.name for t in tables]


@pytest.mark.parametrize("table", sorted(TABLE_MAPPERS))
def test_each_table_mapping_is_small(table):
    lines, _ = inspect.getsourcelines(TABLE_MAPPERS[table])
    assert len(lines) <= MAX_LINES, f"the mapping of {table} has {len(lines)} lines"


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _build_tree(commit: str, into: Path) -> Path:
    """Extract ``commit``'s sources, data and ontology into ``into``; build them; return the dist folder."""
    archive = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "archive", "--format=tar", commit, "src", "data", "ontology"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    env["PYTHONPATH"] = str(into / "src")
    # the commit's own tables and ontology (the editable install's resources would be today's)
    env |= {"KG_DATA_DIR": str(into / "data"), "KG_ONTOLOGY_DIR": str(into / "ontology")}
    code = (
        "import sys, kg.cli; "
        f"assert kg.cli.__file__.startswith({str(into)!r}), kg.cli.__file__; "
        "sys.argv = ['kg', 'build', '--no-reason', '--no-validate', '--out', 'dist']; kg.cli.app()"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=into, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return into / "dist"


@pytest.mark.slow
@pytest.mark.parametrize("subject", REFACTOR_SUBJECTS, ids=["per-table-mapping", "stages-as-packages"])
def test_refactor_kept_the_dumps_byte_identical(tmp_path, subject):
    if shutil.which("git") is None:
        pytest.skip("git is not installed: the refactoring commit cannot be checked out")
    try:
        after = _git("log", "--format=%H", f"--grep=^{subject}$", "-n1")
        before = _git("rev-parse", f"{after}^") if after else ""
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"no usable git history here ({exc.stderr.strip()[:200]})")
    if not before:
        pytest.skip(f"the commit {subject!r} (and its parent) is not in this history (shallow clone?)")
    assert _git("diff", "--name-only", before, after, "--", "data", "ontology") == "", "same data on both sides"
    old = _build_tree(before, tmp_path / "before")
    new = _build_tree(after, tmp_path / "after")
    names = sorted(p.name for p in old.iterdir())
    assert names == sorted(p.name for p in new.iterdir())
    assert "kg.nt" in names
    for name in names:
        assert (old / name).read_bytes() == (new / name).read_bytes(), f"{name} differs after the refactor"
