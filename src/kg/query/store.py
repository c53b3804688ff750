"""The store behind every answer: pyoxigraph over what ``kg build`` wrote (in memory or on disk)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import pyoxigraph as ox

from ..dist import Manifest, StoreError, read_manifest
from .binding import values_first

READY = "READY.json"


def open_store(dist_dir: Path, store_dir: Path | None = None, ensure: bool = True) -> ox.Store:
    """Return a store of the build in ``dist_dir`` (all named graphs).

    Without ``store_dir``: loaded into memory from ``kg.trig``. With it: the on-disk store there,
    opened read-only (processes that open it share the operating system's page cache), after
    ``ensure_store`` has checked (or rebuilt) it (unless ``ensure`` is False: the query workers
    open what their server has just checked).
    """
    manifest = read_manifest(dist_dir)  # also: a clear error when nothing was built there
    if store_dir is not None:
        if ensure:
            ensure_store(dist_dir, store_dir, manifest)
        return ox.Store.read_only(str(store_dir / "db"))
    store = ox.Store()
    try:
        store.bulk_load(path=str(dist_dir / "kg.trig"), format=ox.RdfFormat.TRIG)
    except (OSError, SyntaxError) as exc:
        raise StoreError(f"cannot load {dist_dir / 'kg.trig'}: {exc}") from exc
    return store


def _store_is_sound(store_dir: Path, manifest: Manifest) -> bool:
    """True when the on-disk store was completely written for this dataset version and opens."""
    try:
        ready = json.loads((store_dir / READY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # never finished (half-written) or marker damaged
    if ready.get("version") != manifest["version"]:
        return False
    try:
        store = ox.Store.read_only(str(store_dir / "db"))
        graphs = {g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode)}
        sample = len(store)  # counted in Rust: a full read of the store, seconds at 10M quads
    except (OSError, RuntimeError, ValueError):
        return False
    return len(graphs) == 3 and sample == ready.get("quads")


def ensure_store(dist_dir: Path, store_dir: Path, manifest: Manifest | None = None) -> bool:
    """Make ``store_dir`` hold a sound on-disk store of the build; return True if it was (re)built.

    A store whose marker is missing (half-written), from another version, or that fails to open
    or to read is never served: it is rebuilt from the dumps into a temporary folder that then
    replaces it.
    """
    manifest = manifest or read_manifest(dist_dir)
    if _store_is_sound(store_dir, manifest):
        return False
    store_dir.parent.mkdir(parents=True, exist_ok=True)
    # One writer at a time: servers started together on one folder (replicas) wait for the first.
    with open(store_dir.with_name(f".{store_dir.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _store_is_sound(store_dir, manifest):
            return False  # another process built it while this one waited
        _rebuild(dist_dir, store_dir, manifest)
    return True


def _rebuild(dist_dir: Path, store_dir: Path, manifest: Manifest) -> None:
    """Load the dumps into a temporary folder, then put it in place of ``store_dir``."""
    tmp = store_dir.with_name(f".{store_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        store = ox.Store(str(tmp / "db"))
        store.bulk_load(path=str(dist_dir / "kg.trig"), format=ox.RdfFormat.TRIG)
        store.flush()
        quads = len(store)
        del store
        (tmp / READY).write_text(json.dumps({"version": manifest["version"], "quads": quads}), encoding="utf-8")
        old = store_dir.with_name(f".{store_dir.name}.old-{os.getpid()}")
        if store_dir.exists():
            os.replace(store_dir, old)
        os.replace(tmp, store_dir)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def run_query(
    store: ox.Store, query: str, bindings: dict[str, ox.NamedNode | ox.Literal] | None = None
) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
    """Run SPARQL over the union of all graphs, with parameters bound as RDF terms."""
    subs: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
        ox.Variable(k): v for k, v in (bindings or {}).items()
    }
    text = values_first(query, dict(bindings or {}))  # the planner binds parameters first
    return store.query(text, use_default_graph_as_union=True, substitutions=subs or None)
