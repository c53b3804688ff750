"""The OpenAPI document fuzzed with schemathesis against the running server: no 5xx, every
response matches its documented status, content type and schema.

Run once, on the uvloop server (the event loop is not what is fuzzed: the answers are)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_schemathesis_finds_nothing(socket_server, tmp_path):
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    result = subprocess.run(
        [cli, "run", f"{socket_server.url}/openapi.json",
         "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
         "--max-examples", "25", "--workers", "1", "--seed", "1", "--request-timeout", "20"],
        capture_output=True, text=True, timeout=600)
    tail = "\n".join(result.stdout.splitlines()[-25:])
    assert result.returncode == 0, tail
    assert "passed" in tail
