"""Exit codes, the same for every command: 0 success, 1 violations, 2 unusable input/usage, 70 internal error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import FIXTURES, ROOT

VALID = FIXTURES / "valid" / "chiyoda.ttl"
INVALID = FIXTURES / "invalid" / "bad-check-digit.ttl"


def _kg(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "KG_DEBUG"} | env
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=environment)


def test_validate_conforming_file_exits_0():
    result = _kg("validate", str(VALID))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Conforms: True" in result.stdout


def test_validate_violations_exit_1():
    result = _kg("validate", str(INVALID))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, says", [
    (["validate", "no-such-file.ttl"], "no such file"),
    (["validate", "README.md"], "unknown RDF format"),
    (["validate", str(FIXTURES / "malformed" / "broken.ttl")], "broken.ttl:"),
    (["validate", "--shapes", str(FIXTURES / "malformed" / "broken.ttl"), str(VALID)], "broken.ttl:"),
    (["validate", "--format", "yaml", str(VALID)], "--format"),
    (["validate", "--no-such-option"], "No such option"),
    (["no-such-command"], "No such command"),
    (["query", "--dist", "no-such-dist", "--saved", "law-status"], "no build"),
    (["stats", "--dist", "no-such-dist"], "no build"),
    (["serve", "--dist", "no-such-dist", "--port", "1"], "no build"),
    (["query", "--saved", "no-such-query"], "no saved query"),
])
def test_unusable_input_or_usage_exits_2(args, says, tmp_path):
    result = _kg(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_build_with_unusable_tables_exits_2(data_copy, tmp_path):
    (data_copy / "municipalities.csv").write_text("id,nonsense\n1,2\n", encoding="utf-8")
    result = _kg("build", "--out", str(tmp_path / "out"), KG_DATA_DIR=str(data_copy))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "municipalities.csv" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bad_configuration_exits_2():
    result = _kg("validate", str(VALID), KG_VALIDATE_MAX_MB="lots")
    assert result.returncode == 2 and "KG_VALIDATE_MAX_MB" in result.stderr


@pytest.fixture()
def broken_validator(tmp_path: Path) -> dict[str, str]:
    """A bug planted in the validator: sitecustomize replaces run_validation with one that fails.

    This stands for any defect in our code or its libraries (an exception nobody anticipated); the
    installed-wheel test (test_package.py) provokes the other kind of internal error for real: a broken
    installation whose packaged shapes file is corrupt.
    """
    (tmp_path / "sitecustomize.py").write_text(
        "import kg.validation\n"
        "def _broken(*args, **kwargs):\n"
        "    return {}['no-such-key']  # KeyError, like a real bug\n"
        "kg.validation.run_validation = _broken  # the package's public surface, which the CLI imports\n",
        encoding="utf-8",
    )
    return {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}


def test_internal_error_exits_70_with_one_line(broken_validator):
    result = _kg("validate", str(VALID), **broken_validator)
    assert result.returncode == 70, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "internal error" in lines[0] and "KeyError" in lines[0] and "no-such-key" in lines[0]
    assert "--debug" in lines[0] and "Traceback" not in result.stderr


@pytest.mark.parametrize("how", ["flag", "env"])
def test_internal_error_traceback_with_debug(broken_validator, how):
    args = ["--debug", "validate", str(VALID)] if how == "flag" else ["validate", str(VALID)]
    env = broken_validator | ({"KG_DEBUG": "1"} if how == "env" else {})
    result = _kg(*args, **env)
    assert result.returncode == 70
    assert "Traceback (most recent call last)" in result.stderr and "_broken" in result.stderr
