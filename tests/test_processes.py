"""Issue 20: several server processes on one port (KG_PROCESSES), as deployments run a server on a
machine's cores: each process serves the whole application (its own query workers), the answers are
the same bytes from each, a process that dies is replaced, and stopping the server stops them all.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from kg.settings import Settings, load_settings, settings_env

from .webserver import Server

JSON = "application/sparql-results+json"
QUERY = "SELECT ?p ?o WHERE { <https://w3id.org/tokyo-sme-kg/id/municipality/131016> ?p ?o } ORDER BY ?p ?o"


def test_settings_go_to_the_processes_as_they_were():
    """The parent hands its settings (flags included) to each process through the environment."""
    settings = Settings().with_overrides(port=8123, query_timeout=2.5, dist_dir=Path("/tmp/x"), processes=3,
                                         public_url="https://kg.example/")
    assert load_settings(settings_env(settings)) == settings


def _pids(url: str, tries: int = 60) -> set[int]:
    """The processes that answer /healthz, one new connection each."""
    seen = set()
    for _ in range(tries):
        seen.add(httpx.get(f"{url}/healthz", timeout=10).json()["process"])
    return seen


def _tree(pid: int) -> set[int]:
    """A process and every process below it (server processes, query workers, zygotes)."""
    found = {pid}
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found |= _tree(int(child))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_several_processes_serve_one_port(built: Path, tmp_path: Path):
    server = Server(built, tmp_path / "serve.log", KG_PROCESSES="2", KG_WORKERS="2")
    try:
        pids = _pids(server.url)
        assert len(pids) == 2, pids  # the kernel spreads connections over both
        health = httpx.get(f"{server.url}/healthz").json()
        assert health["workers"] >= 1  # each process has its own query workers (KG_WORKERS shared out)
        answers = {httpx.get(f"{server.url}/sparql", params={"query": QUERY}, headers={"Accept": JSON}).content
                   for _ in range(20)}
        assert len(answers) == 1  # the same bytes whichever process answered
        killed = min(pids)
        time.sleep(0.5)  # its access-log records written (every 0.2 s): a killed process loses what it holds
        os.kill(killed, signal.SIGKILL)
        deadline = time.time() + 60
        while time.time() < deadline:  # replaced: two processes answer again, the killed one not among them
            try:
                now = _pids(server.url, 30)
            except httpx.HTTPError:
                now = set()
            if len(now) == 2 and killed not in now:
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the killed process was not replaced: {now}")
        everything = now | pids | _tree(server.proc.pid)
        assert len(everything) > 4  # the parent, two serving processes and their workers
    finally:
        server.stop()
    deadline = time.time() + 20
    while time.time() < deadline and any(_alive(p) for p in everything):
        time.sleep(0.2)
    assert not [p for p in everything if _alive(p)], "server processes outlived the server"
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]  # whole lines only
    assert sum(r["path"] == "/sparql" for r in records) == 20 and sum(r["path"] == "/healthz" for r in records) >= 90
