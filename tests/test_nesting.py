"""No query can kill a worker (issue 20, criterion 5): nesting deeper than MAX_NESTING is refused
with 400 naming the limit before any engine parses it; anything shallower gets its normal answer.

The engine's parser recurses once per level and crashes its process (SIGSEGV) at a few thousand
levels, well under the 100,000-byte size limit. The property-based test sends nesting of every
kind, up to that size, to the application in process (with its real worker processes) and checks
that no worker was restarted.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.query import MAX_NESTING, nesting_depth

from .conftest import ROOT

# kind → (query with n levels of that kind, how deep n levels nest)
KINDS = {
    "group": (lambda n: "SELECT * WHERE " + "{" * n + " ?s ?p ?o " + "}" * n + " LIMIT 1", lambda n: n),
    "subquery": (lambda n: "SELECT * WHERE { " + "{ SELECT * WHERE " * n + "{ ?s ?p ?o }" + " LIMIT 1 }" * n + " }",
                 lambda n: n + 2),
    "optional": (lambda n: "SELECT * WHERE { ?s ?p ?o " + "OPTIONAL { ?s ?p ?o " * n + "}" * n + " } LIMIT 1",
                 lambda n: n + 1),
    "union": (lambda n: "SELECT * WHERE { " + "{ ?s ?p ?o } UNION { " * n + "?s ?p ?o" + " }" * n + " } LIMIT 1",
              lambda n: n + 1),
    "expression": (lambda n: "SELECT (" + "(" * n + "1" + ")" * n + " AS ?x) WHERE {}", lambda n: n + 1),
    "path": (lambda n: "SELECT * WHERE { ?s " + "(" * n + "<urn:x:p>" + ")" * n + " ?o } LIMIT 1", lambda n: n + 1),
    "collection": (lambda n: "ASK { ?s ?p " + "(" * n + "1" + ")" * n + " }", lambda n: n + 1),
    "blank-node": (lambda n: "ASK { ?s ?p " + "[ <urn:x:p> " * n + "1" + " ]" * n + " }", lambda n: n + 1),
    "not": (lambda n: "ASK { FILTER(" + "!" * n + "true) }", lambda n: max(n, 2)),
    "minus": (lambda n: "SELECT (" + "- " * n + "1 AS ?x) WHERE {}", lambda n: max(n, 1)),
}
MAX_BYTES = 99_000  # under the server's 100,000-byte limit


def _depths(kind: str) -> st.SearchStrategy[int]:
    build, _ = KINDS[kind]
    unit = len(build(2)) - len(build(1))
    biggest = (MAX_BYTES - len(build(0))) // unit
    return st.one_of(st.integers(1, MAX_NESTING + 5), st.integers(MAX_NESTING - 5, biggest))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_depth_counts_each_kind(kind):
    build, deep = KINDS[kind]
    for n in (1, 7, 150):
        assert nesting_depth(build(n)) == deep(n)


def test_strings_iris_and_comments_do_not_count():
    text = 'SELECT * WHERE { ?s ?p "((((({{{{!!!!" . ?s <urn:x:(((> ?o } # ((((((((((((\n'
    assert nesting_depth(text) == 1
    assert nesting_depth("SELECT * WHERE { ?s kgo:a-b-c ?o FILTER(?o > -1) }") == 2


def test_saved_queries_are_far_from_the_limit():
    for rq in sorted((ROOT / "queries").glob("*.rq")):
        assert nesting_depth(rq.read_text(encoding="utf-8")) <= 10, rq.name


def _restarts(client) -> int:
    return int(client.get("/healthz").json()["worker_restarts"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_nesting_kills_a_worker(client, data):
    kind = data.draw(st.sampled_from(sorted(KINDS)), label="kind")
    n = data.draw(_depths(kind), label="levels")
    build, deep = KINDS[kind]
    query = build(n)
    before = _restarts(client)
    r = client.post("/sparql", content=query.encode(),
                    headers={"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+json"})
    if deep(n) > MAX_NESTING:
        assert r.status_code == 400, (kind, n, r.status_code, r.text[:300])
        assert f"at most {MAX_NESTING}" in r.text
    else:
        assert r.status_code in (200, 400), (kind, n, r.status_code, r.text[:300])  # 400: the engine's syntax error
        assert f"at most {MAX_NESTING}" not in r.text
    assert _restarts(client) == before, f"a worker was restarted by {kind} x {n}"


def test_the_deepest_query_that_crashed_a_worker_is_refused(client):
    before = _restarts(client)
    r = client.post("/sparql", data={"query": KINDS["group"][0](5000)})  # 30 KB: SIGSEGV in the worker before
    assert r.status_code == 400 and f"at most {MAX_NESTING}" in r.text
    assert _restarts(client) == before


def test_kg_query_refuses_it_too(built):
    query = KINDS["group"][0](5000)
    done = subprocess.run([sys.executable, "-m", "kg.cli", "query", "-"], input=query, capture_output=True, text=True,
                          env={"KG_DIST_DIR": str(built), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    assert f"at most {MAX_NESTING}" in " ".join(done.stderr.split())  # the terminal may wrap the line
