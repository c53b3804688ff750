"""The pre-commit hook, run by the real pre-commit tool (``pre-commit try-repo``) in a scratch repository.

try-repo installs this repository (its HEAD, or a temporary commit of uncommitted changes) into
pre-commit's own virtual environment, with the dependencies: one install for the module, kept in a
temporary PRE_COMMIT_HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import FIXTURES, ROOT
from .readme_blocks import section_blocks

VALID = FIXTURES / "valid" / "chiyoda.ttl"
INVALID = FIXTURES / "invalid" / "bad-check-digit.ttl"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


def _hooks() -> list[dict]:
    return yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


def test_hook_declared_and_readme_snippet_uses_it():
    (hook,) = [h for h in _hooks() if h["id"] == "kg-validate"]
    assert hook["language"] == "python" and hook["entry"] == "kg validate"
    snippet = section_blocks()["precommit"]
    (repo,) = snippet["repos"]
    assert [h["id"] for h in repo["hooks"]] == ["kg-validate"] and repo["rev"].startswith("v")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    if shutil.which("git") is None:
        pytest.skip("needs git")
    if not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout of this repository (pre-commit try-repo reads it with git)")
    base = tmp_path_factory.mktemp("precommit")
    repo = base / "theirs"
    (repo / "rdf").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KG_", "GIT_")) and k != "PYTHONPATH"}
    env |= {"PRE_COMMIT_HOME": str(base / "cache"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org", "PRE_COMMIT_COLOR": "never"}
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    return repo, env


def _try_repo(repo: Path, env: dict[str, str], *files: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "kg-validate", "--files", *files],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=1200)


def test_hook_passes_on_conforming_file(scratch):
    repo, env = scratch
    shutil.copy(VALID, repo / "rdf" / VALID.name)
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    result = _try_repo(repo, env, f"rdf/{VALID.name}")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Passed" in result.stdout


def test_hook_fails_with_the_messages_on_violating_file(scratch):
    repo, env = scratch
    shutil.copy(INVALID, repo / "rdf" / INVALID.name)
    subprocess.run(["git", "add", "."], cwd=repo, check=True, env=env)
    result = _try_repo(repo, env, f"rdf/{INVALID.name}", f"rdf/{VALID.name}")
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Failed" in result.stdout and "exit code: 1" in result.stdout
    assert "The check digit of the local government code is wrong" in result.stdout
    assert "全国地方公共団体コードの検査数字が正しくありません" in result.stdout
