"""Hostile queries: each ends within the time limit with its documented status, memory stays
bounded, and no outbound connection is attempted (see also test_web_sparql for SERVICE)."""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import EVERY_SERVER
from .webserver import tree_rss_mib

pytestmark = EVERY_SERVER  # under uvicorn (both loops) and granian

LIMIT = 2.0  # the limited_server's KG_QUERY_TIMEOUT
P = "PREFIX kgo: <https://w3id.org/tokyo-sme-kg/ontology#>\n"
HOSTILE = {
    "cartesian": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "cartesian-rows": "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "nested-optionals": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c OPTIONAL { ?d ?e ?f OPTIONAL { ?g ?h ?i "
                        "OPTIONAL { ?j ?k ?l } } } }",
    "regex": 'SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . '
             'FILTER (REGEX(CONCAT(STR(?c), STR(?f)), "^(a+)+$|(.*a){20}")) }',
    "property-path": P + "SELECT (COUNT(*) AS ?n) WHERE { ?s (kgo:area|^kgo:area|<http://www.w3.org/ns/prov#wasDerivedFrom>"
                         "|^<http://www.w3.org/ns/prov#wasDerivedFrom>)* ?o }",
    "huge-limit-offset": "SELECT * WHERE { ?s ?p ?o } OFFSET 1000000000 LIMIT 1000000000",
    "group-concat": "SELECT (GROUP_CONCAT(STR(?c)) AS ?x) WHERE { ?a ?b ?c . ?d ?e ?f }",
    "deep-nesting": "SELECT * WHERE " + "{ " * 3000 + "?s ?p ?o" + " }" * 3000,
    "deep-expression": "SELECT ?x WHERE { BIND (" + "(" * 3000 + "1" + ")" * 3000 + " AS ?x) }",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_query_ends_with_documented_status(limited_server, name):
    start = time.monotonic()
    r = httpx.post(f"{limited_server.url}/sparql", data={"query": HOSTILE[name]}, timeout=60)
    elapsed = time.monotonic() - start
    assert elapsed < LIMIT + 4, f"{name} took {elapsed:.1f} s"
    assert r.status_code in (200, 400, 503), (name, r.status_code, r.text[:200])
    if r.status_code == 200:
        assert r.headers["X-KG-Truncated"] in ("true", "false")
    # the server is still answering afterwards
    assert httpx.get(f"{limited_server.url}/healthz", timeout=5).status_code == 200


def test_memory_stays_bounded(limited_server):
    before = tree_rss_mib(limited_server.proc.pid)
    for name in ("cartesian-rows", "group-concat", "property-path", "nested-optionals"):
        httpx.post(f"{limited_server.url}/sparql", data={"query": HOSTILE[name]}, timeout=60)
        peak = tree_rss_mib(limited_server.proc.pid)
        # server + 2 workers, each worker capped at KG_WORKER_MEMORY_MB (2 GiB address space)
        assert peak < 2.5 * 1024, f"{name}: {peak:.0f} MiB"
    time.sleep(3)  # killed workers are replaced
    assert httpx.post(f"{limited_server.url}/sparql", data={"query": "ASK {}"}).status_code == 200
    assert tree_rss_mib(limited_server.proc.pid) < before + 1024


def test_one_megabyte_query_is_refused(limited_server):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 1_000_000
    assert httpx.post(f"{limited_server.url}/sparql", content=big.encode(),
                      headers={"Content-Type": "application/sparql-query"}).status_code == 413
    assert httpx.post(f"{limited_server.url}/sparql", data={"query": big}).status_code == 413


@pytest.mark.parametrize("query", [
    "INSERT DATA { <http://a> <http://b> <http://c> }", "DELETE WHERE { ?s ?p ?o }", "LOAD <http://127.0.0.1:9/x>",
    "CLEAR DEFAULT", "DROP ALL", "CREATE GRAPH <http://g>", "COPY DEFAULT TO <http://g>", "MOVE DEFAULT TO <http://g>",
    "ADD DEFAULT TO <http://g>", "WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "PREFIX ex: <http://e/> INSERT { ex:a ex:b ex:c } WHERE {}", "  \n insert data { <http://a> <http://b> 1 }",
])
def test_every_update_form_is_refused(limited_server, query):
    for kwargs in ({"data": {"query": query}}, {"data": {"update": query}},
                   {"content": query.encode(), "headers": {"Content-Type": "application/sparql-update"}}):
        r = httpx.post(f"{limited_server.url}/sparql", **kwargs)
        assert r.status_code == 403, (query, kwargs.keys(), r.text)


def test_per_client_cap(limited_server):
    import concurrent.futures
    slow = HOSTILE["cartesian"]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(httpx.post, f"{limited_server.url}/sparql", data={"query": slow}, timeout=60)
                   for _ in range(7)]
        statuses = [f.result().status_code for f in futures]
    assert 429 in statuses, statuses  # KG_PER_CLIENT=4: the fifth concurrent query from one address
    refused = next(f.result() for f in futures if f.result().status_code == 429)
    assert refused.headers["Retry-After"]


def test_the_server_is_the_one_asked_for(limited_server, server_name, loop_name):
    """What /healthz reports: these tests ran under the HTTP server and event loop their id names."""
    health = httpx.get(f"{limited_server.url}/healthz").json()
    assert (health["server"], health["loop"]) == (server_name, loop_name)
