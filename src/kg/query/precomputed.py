"""Answers computed once per on-disk store: the saved queries whose header says ``precompute``.

A few saved queries aggregate the whole edition (every pair of municipalities, every resource
with its municipalities' names): their cost grows with the data however they are written (about
140,000 intermediate rows on the 1M edition, several seconds), while their answer changes only
with the dataset. For those, with their default parameters, the answer is computed when the
on-disk store is made or first opened (``kg load``, or the server's start), written into the
store's folder (``answers/``, beside ``READY.json``, so a new dataset version — a new store —
never finds an old answer), and served from there: the same engine and the same query text, so
the same rows the query gives when run. A file is named by the hash of the query text and its
bindings, so an edited query is computed again, never answered from its old text. Other
parameter values, other graphs or a remote backend run the query as usual.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path

import pyoxigraph as ox

from .execution import term_to_tuple
from .saved import SavedQuery
from .store import run_query

ANSWERS = "answers"


def answer_key(text: str, bindings: dict[str, tuple]) -> str:
    """The file stem of one answer: a hash of the query text and its bound parameters."""
    spec = json.dumps([text, sorted((k, list(v)) for k, v in bindings.items())], ensure_ascii=False)
    return hashlib.sha256(spec.encode("utf-8")).hexdigest()[:24]


def precomputed_queries(registry: dict[str, SavedQuery]) -> list[tuple[SavedQuery, dict[str, tuple]]]:
    """The saved queries marked ``precompute`` in their header, each with its default bindings."""
    out = []
    for q in registry.values():
        if q.precompute:
            out.append((q, {k: term_to_tuple(v) for k, v in q.bindings({}).items()}))
    return out


def _answer_files(store_dir: Path, registry: dict[str, SavedQuery]) -> list[tuple[SavedQuery, str, Path]]:
    """Each ``precompute`` query with its answer key and the file its answer is (to be) stored in."""
    out = []
    for q, bindings in precomputed_queries(registry):
        key = answer_key(q.text, bindings)
        out.append((q, key, store_dir / ANSWERS / f"{q.name}-{key}.srj"))
    return out


def existing_answers(store_dir: Path, registry: dict[str, SavedQuery]) -> dict[str, Path]:
    """Answer key → file of the ``precompute`` answers already in ``store_dir/answers`` (nothing computed)."""
    return {key: path for _, key, path in _answer_files(store_dir, registry) if path.exists()}


def ensure_answers(store: ox.Store, store_dir: Path, registry: dict[str, SavedQuery]) -> dict[str, Path]:
    """Compute the answers of the ``precompute`` queries missing from ``store_dir/answers``.

    Return answer key → file for every one of them. Each file is written to a temporary name and
    then renamed, so a reader never sees half an answer; processes started together on one store
    compute each answer once (a file lock). In a folder this process may not write, the answers
    already there are used and the others run as usual.
    """
    folder = store_dir / ANSWERS
    found: dict[str, Path] = {}
    try:
        folder.mkdir(exist_ok=True)
        lock = open(folder / ".lock", "w")  # noqa: SIM115 - closed below
    except OSError:  # a store folder this process may not write (mounted read-only): the queries just run
        return existing_answers(store_dir, registry)
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for q, key, path in _answer_files(store_dir, registry):
            if not path.exists():
                answer = run_query(store, q.text, q.bindings({}))
                assert isinstance(answer, ox.QuerySolutions)  # precompute is allowed on SELECT queries only
                tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
                answer.serialize(str(tmp), ox.QueryResultsFormat.JSON)
                os.replace(tmp, path)
            found[key] = path
    return found


def read_answer(path: Path) -> ox.QuerySolutions:
    """The stored solutions, to serialize in the media type asked for."""
    answer = ox.parse_query_results(path=str(path), format=ox.QueryResultsFormat.JSON)
    assert isinstance(answer, ox.QuerySolutions)  # stored from a SELECT
    return answer
