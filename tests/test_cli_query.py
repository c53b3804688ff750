"""`kg query`: what it prints for each query form and format, and which queries it refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT


def _query(built: Path, text: str, *args: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    return subprocess.run([sys.executable, "-m", "kg.cli", "query", "-", "--dist", str(built), *args], input=text,
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=environment)


@pytest.mark.parametrize("text, answer", [("ASK { ?s ?p ?o }", True), ("ASK { <urn:x:nothing> ?p ?o }", False)])
def test_ask_prints_the_boolean(built, text, answer):
    table = _query(built, text)
    assert table.returncode == 0, table.stderr
    assert table.stdout == f"{answer}\n"
    for fmt in ("json", "csv", "tsv"):
        other = _query(built, text, "--format", fmt)
        assert other.returncode == 0, other.stderr
        assert json.loads(other.stdout) == {"boolean": answer}
