"""On-disk store (`kg load`): built once, reused, and rebuilt — never served — when damaged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from kg.query.store import READY, ensure_store, open_store, run_query

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?r a <https://w3id.org/tokyo-sme-kg/ontology#RegionalResource> }"


def _count(store) -> int:
    return int(next(iter(run_query(store, COUNT)))["n"].value)


def test_load_then_reuse(built, tmp_path):
    store_dir = tmp_path / "store"
    assert ensure_store(built, store_dir) is True
    assert ensure_store(built, store_dir) is False  # sound and current: reused, not rebuilt
    assert _count(open_store(built, store_dir)) == 289


def test_half_written_store_is_rebuilt(built, tmp_path):
    store_dir = tmp_path / "store"
    ensure_store(built, store_dir)
    (store_dir / READY).unlink()  # as if the process died before finishing
    assert ensure_store(built, store_dir) is True
    assert _count(open_store(built, store_dir)) == 289


def test_stale_store_is_rebuilt(built, tmp_path):
    store_dir = tmp_path / "store"
    ensure_store(built, store_dir)
    ready = json.loads((store_dir / READY).read_text())
    (store_dir / READY).write_text(json.dumps({**ready, "version": "older"}))
    assert ensure_store(built, store_dir) is True


def test_corrupted_store_is_rebuilt(built, tmp_path):
    store_dir = tmp_path / "store"
    ensure_store(built, store_dir)
    damaged = 0
    for path in sorted((store_dir / "db").iterdir()):
        if path.suffix == ".sst" or path.name.startswith("MANIFEST"):
            path.write_bytes(os.urandom(path.stat().st_size or 64))
            damaged += 1
    assert damaged
    assert ensure_store(built, store_dir) is True
    assert _count(open_store(built, store_dir)) == 289


@pytest.mark.slow
def test_server_uses_on_disk_store(built, tmp_path):
    from .webserver import Server
    store_dir = tmp_path / "store"
    ensure_store(built, store_dir)
    (store_dir / READY).unlink()  # the server must rebuild, not serve, a half-written store
    srv = Server(built, tmp_path / "log.txt", KG_STORE_DIR=str(store_dir))
    try:
        r = httpx.get(f"{srv.url}/sparql", params={"query": COUNT})
        assert r.json()["results"]["bindings"][0]["n"]["value"] == "289"
        assert (store_dir / READY).exists()
    finally:
        srv.stop()
    assert Path(store_dir / "db").is_dir()
