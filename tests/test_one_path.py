"""Issue 20: one request path for every client, typed placement, workers that share the data.

In process (the application with its edge layer, as the server runs it): which code answers does
not depend on headers that do not change the answer; CORS and compression are applied on that
one path; compression only where it pays, and a cached answer keeps its compressed bytes.
"""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kg.query import Kind, Lane, Placement
from kg.query.placement import ShapeMemory
from kg.query.shape import shape_of
from kg.web import asgi_app
from kg.web.encoding import MIN_GZIP_BYTES

JSON = "application/sparql-results+json"
MUNI = "https://w3id.org/tokyo-sme-kg/id/municipality/131016"
BARE = {"Accept-Encoding": "identity"}  # as urllib (SPARQLWrapper) sends; curl and wrk send none
GZIP = {"Accept-Encoding": "gzip, deflate"}
BROWSER = {"Origin": "https://yasgui.example", "Accept-Encoding": "gzip, deflate, br"}
HEADER_SETS = {"bare": BARE, "gzip": GZIP, "browser": BROWSER}


def metric(client, name: str) -> float:
    for line in client.get(f"{client.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def raw_get(client, params: dict, headers: dict) -> tuple[dict, bytes]:
    """Headers and the body exactly as sent (not decoded)."""
    with client.stream("GET", f"{client.url}/sparql", params=params, headers={"Accept": JSON, **headers}) as r:
        assert r.status_code == 200, r.read()
        return dict(r.headers), b"".join(r.iter_raw())


# ------------------------------------------------------------------ criterion 1: one path
def test_the_same_answer_and_cache_entry_for_every_header_set(client):
    query = f"# one path {time.time_ns()}\nSELECT * WHERE {{ ?s ?p ?o }} ORDER BY ?s ?p ?o LIMIT 300"
    entries = metric(client, "kg_cache_entries")
    seen = {}
    for name, headers in HEADER_SETS.items():
        head, raw = raw_get(client, {"query": query}, headers)
        body = gzip.decompress(raw) if head.get("content-encoding") == "gzip" else raw
        seen[name] = (head, raw, body)
    bodies = {name: body for name, (_, _, body) in seen.items()}
    assert len(set(bodies.values())) == 1 and len(bodies["bare"]) >= MIN_GZIP_BYTES
    caches = [seen[n][0]["x-kg-cache"] for n in HEADER_SETS]
    assert caches == ["miss", "hit", "hit"], caches  # one cache entry answered all three
    assert metric(client, "kg_cache_entries") == entries + 1
    assert "content-encoding" not in seen["bare"][0]
    assert seen["gzip"][0]["content-encoding"] == seen["browser"][0]["content-encoding"] == "gzip"
    assert int(seen["gzip"][0]["content-length"]) == len(seen["gzip"][1]) < len(bodies["bare"])
    for name, (head, _, _) in seen.items():
        vary = {v.strip().lower() for v in head["vary"].split(",")}
        assert {"accept", "accept-encoding", "origin"} <= vary, (name, head["vary"])
        assert head["x-kg-rows"] == "300"
    assert "access-control-allow-origin" not in seen["bare"][0] and "access-control-allow-origin" not in seen["gzip"][0]
    browser = seen["browser"][0]
    assert browser["access-control-allow-origin"] == "*" and "access-control-allow-credentials" not in browser
    assert "x-kg-rows" in browser["access-control-expose-headers"].lower()
    # a compressed representation has its own entity tag, and a conditional GET on it answers 304
    assert seen["gzip"][0]["etag"] != seen["bare"][0]["etag"]
    again = client.get(f"{client.url}/sparql", params={"query": query},
                       headers={"Accept": JSON, **BROWSER, "If-None-Match": seen["browser"][0]["etag"]})
    assert again.status_code == 304 and again.headers["access-control-allow-origin"] == "*"


def test_a_cached_answer_is_not_compressed_again(client):
    query = f"# compressed once {time.time_ns()}\nSELECT * WHERE {{ ?s ?p ?o }} ORDER BY ?s ?p ?o LIMIT 300"
    before = metric(client, "kg_gzip_compressions_total")
    first = raw_get(client, {"query": query}, GZIP)
    assert metric(client, "kg_gzip_compressions_total") == before + 1
    for headers in (GZIP, BROWSER):
        head, raw = raw_get(client, {"query": query}, headers)
        assert head["x-kg-cache"] == "hit" and raw == first[1]
    assert metric(client, "kg_gzip_compressions_total") == before + 1


def test_small_answers_are_sent_as_they_are(client):
    query = f"ASK {{ <{MUNI}> ?p ?o }} # {time.time_ns()}"
    head, raw = raw_get(client, {"query": query}, BROWSER)
    assert len(raw) < MIN_GZIP_BYTES and "content-encoding" not in head and raw.startswith(b"{")
    assert head["access-control-allow-origin"] == "*"


def test_what_the_query_page_sends_takes_the_same_path(client):
    """query.js: POST form from the page (Origin, Accept-Encoding of a browser), Accept of the page."""
    query = f"SELECT * WHERE {{ <{MUNI}> ?p ?o }} # page {time.time_ns()}"
    js = (Path(__file__).parents[1] / "src/kg/web/static/query.js").read_text()
    assert 'method: "POST"' in js and "application/x-www-form-urlencoded" in js and JSON in js
    get = client.get(f"{client.url}/sparql", params={"query": query}, headers={"Accept": JSON})
    page = client.post(f"{client.url}/sparql", data={"query": query},
                       headers={"Accept": JSON, **BROWSER, "Content-Type": "application/x-www-form-urlencoded"})
    assert page.status_code == 200 and page.headers["x-kg-cache"] == "hit" and page.content == get.content
    assert page.headers["access-control-allow-origin"] == "*"


def test_every_response_gets_cors_and_compression_alike(client):
    """Pages, dumps, liveness: the same layer for all (no route or header takes a way round it)."""
    for path in ("/healthz", "/dumps/kg.nt", "/", "/api/queries"):
        r = client.get(f"{client.url}{path}", headers=BROWSER)
        assert r.status_code == 200, path
        assert r.headers["access-control-allow-origin"] == "*", path
        assert "origin" in r.headers["vary"].lower(), path
    dump = client.get(f"{client.url}/dumps/kg.nt", headers=GZIP)
    assert dump.headers["content-encoding"] == "gzip" and dump.text.startswith("<")
    pre = client.options(f"{client.url}/sparql", headers={
        "Origin": "https://yasgui.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-custom"})
    assert pre.status_code == 200 and "POST" in pre.headers["access-control-allow-methods"]
    assert "x-custom" in pre.headers["access-control-allow-headers"].lower()
    assert int(pre.headers["access-control-max-age"]) > 0
    bad = client.options(f"{client.url}/sparql", headers={
        "Origin": "https://yasgui.example", "Access-Control-Request-Method": "DELETE"})
    assert bad.status_code == 400


def test_the_sparql_endpoint_is_one_documented_endpoint(client, built, settings):
    """GET and POST /sparql: one ASGI endpoint, the same object in the application's table and at the
    edge (which calls it with no framework layers between), described in the schema; an application
    with a middleware that /sparql would skip is refused, not served."""
    from starlette.middleware.gzip import GZipMiddleware

    from kg.web.app import Edge, _application
    from kg.web.routes_sparql import ENDPOINT

    schema = client.get(f"{client.url}/openapi.json").json()
    assert {"get", "post"} <= set(schema["paths"]["/sparql"])
    names = {p["name"] for p in schema["paths"]["/sparql"]["get"]["parameters"]}
    assert {"query", "default-graph-uri", "named-graph-uri", "format"} <= names
    app, ctx, health = _application(settings.with_overrides(dist_dir=built), None)
    matching = [r for r in app.router.routes if getattr(r, "path", None) == "/sparql"]
    assert len(matching) == 1 and matching[0].app is ENDPOINT
    edge = asgi_app(settings.with_overrides(dist_dir=built))
    assert edge.endpoints == {"/sparql": ENDPOINT} and type(edge.app).__name__ == "FastAPI"
    app.add_middleware(GZipMiddleware)
    with pytest.raises(TypeError, match="/sparql would skip"):
        Edge(app, ctx, health, limit=1000, endpoints={"/sparql": ENDPOINT})
    for method, status in (("PUT", 405), ("DELETE", 405), ("OPTIONS", 204)):
        r = client.request(method, f"{client.url}/sparql")
        assert r.status_code == status and set(r.headers["allow"].replace(" ", "").split(",")) == {
            "GET", "HEAD", "POST", "OPTIONS"}, method


def _as_sent(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k not in ("date", "server")}


def test_a_repeated_request_gets_its_kept_reply(client):
    """The reply to a request answered from the answer cache is kept whole (one per variant: compressed
    or not, CORS or not) and sent again as it is: the same headers and bytes as the hit before it."""
    query = f"# kept {time.time_ns()}\nSELECT * WHERE {{ ?s ?p ?o }} ORDER BY ?s ?p ?o LIMIT 300"
    etags = {}
    for name, headers in HEADER_SETS.items():
        before = metric(client, "kg_kept_replies_sent_total")
        replies = [raw_get(client, {"query": query}, headers) for _ in range(3)]
        etags[name] = replies[2][0]["etag"]
        assert [h["x-kg-cache"] for h, _ in replies][1:] == ["hit", "hit"], name
        assert _as_sent(replies[2][0]) == _as_sent(replies[1][0]) and replies[2][1] == replies[1][1], name
        # bare: a miss, a hit (its reply kept), the kept reply; the others: a hit, then their kept replies
        assert metric(client, "kg_kept_replies_sent_total") == before + (1 if name == "bare" else 2), name
    # another Accept is another request: its own answer, never the kept JSON reply
    csv = client.get(f"{client.url}/sparql", params={"query": query}, headers={"Accept": "text/csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    # a HEAD is answered by the handler, with the kept GET's headers
    head = client.head(f"{client.url}/sparql", params={"query": query}, headers={"Accept": JSON, **BARE})
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etags["bare"]


def test_a_saved_query_s_reply_is_kept_too(client):
    """The saved-query API answers through the application's own routes: its cached answers' replies
    are kept the same way (the edge layer learns of them from the same slot)."""
    url = f"{client.url}/api/queries/law-status"
    before = metric(client, "kg_kept_replies_sent_total")
    replies = [client.get(url, headers={"Accept": JSON, **BROWSER}) for _ in range(4)]
    assert all(r.status_code == 200 for r in replies)
    assert len({r.content for r in replies}) == 1 and replies[-1].headers["access-control-allow-origin"] == "*"
    assert metric(client, "kg_kept_replies_sent_total") >= before + 2  # the third and fourth at least


def test_kept_replies_go_when_their_answer_leaves_the_cache(built, settings):
    """A kept reply is served only while its answer is in the answer cache (whose byte budget bounds both)."""
    local = settings.with_overrides(dist_dir=built, cache_mb=1)
    with TestClient(asgi_app(local), base_url=local.server_url) as test_client:
        test_client.url = local.server_url  # what raw_get and metric use
        first = "SELECT * WHERE { ?s ?p ?o } ORDER BY ?s ?p ?o LIMIT 400 OFFSET 0"
        assert [raw_get(test_client, {"query": first}, BARE)[0]["x-kg-cache"] for _ in range(3)] == [
            "miss", "hit", "hit"]
        assert metric(test_client, "kg_kept_replies_sent_total") == 1
        for n in range(1, 40):  # about 60 KB each: more than the 1 MB budget together
            raw_get(test_client, {"query": first.replace("OFFSET 0", f"OFFSET {n * 400}")}, BARE)
        assert raw_get(test_client, {"query": first}, BARE)[0]["x-kg-cache"] == "miss"
        assert metric(test_client, "kg_kept_replies_sent_total") == 1


# ------------------------------------------------------------------ criterion 3: typed placement
GROUP_BY = "SELECT ?t (COUNT(*) AS ?n) WHERE { ?s a ?t } GROUP BY ?t"
LOOKUP = f"SELECT ?p ?o WHERE {{ <{MUNI}> ?p ?o }}"


@pytest.mark.parametrize(("policy", "query", "kind", "lane"), [
    (Placement(remote=True), GROUP_BY, Kind.SPARQL, Lane.REMOTE),
    (Placement(remote=True), LOOKUP, Kind.LOOKUP, Lane.REMOTE),
    (Placement(in_process=True), GROUP_BY, Kind.SPARQL, Lane.INLINE),
    (Placement(lookup_patterns=2), LOOKUP, Kind.SPARQL, Lane.INLINE),
    (Placement(lookup_patterns=0), LOOKUP, Kind.SPARQL, Lane.WORKER),  # degrees too large for any lookup
    (Placement(lookup_patterns=2), GROUP_BY, Kind.SPARQL, Lane.WORKER),
    (Placement(lookup_patterns=2), LOOKUP, Kind.SAVED, Lane.WORKER),  # saved queries: always killable
    (Placement(own_lane=True), GROUP_BY, Kind.SAVED, Lane.OWN),  # ... in a pool of their own when there is one
    (Placement(own_lane=True, entity_inline=False), LOOKUP, Kind.LOOKUP, Lane.OWN),
    (Placement(own_lane=True, lookup_patterns=2), GROUP_BY, Kind.SPARQL, Lane.WORKER),
    (Placement(entity_inline=True), LOOKUP, Kind.LOOKUP, Lane.INLINE),
    (Placement(entity_inline=False), LOOKUP, Kind.LOOKUP, Lane.WORKER),
])
def test_the_policy_places_each_kind(policy, query, kind, lane):
    assert policy.place(query, kind)[0] is lane


def test_marked_shapes_take_their_lanes_only_when_there_are_such_lanes():
    memory = ShapeMemory(capacity=2)
    memory.mark(shape_of(GROUP_BY))
    other_literal = GROUP_BY.replace("?t }", '?t FILTER(?t != "x") }')
    assert Placement(long_shapes=memory).place(GROUP_BY, Kind.SPARQL) == (Lane.LONG, shape_of(GROUP_BY))
    assert Placement(long_shapes=memory).place(other_literal, Kind.SPARQL)[0] is Lane.WORKER
    assert Placement(long_shapes=memory, long_lane=False).place(GROUP_BY, Kind.SPARQL)[0] is Lane.WORKER
    limit = ShapeMemory()
    limit.mark(shape_of(GROUP_BY))  # ran into the time limit: its own lane, before the long one
    assert Placement(long_shapes=memory, limit_shapes=limit).place(GROUP_BY, Kind.SPARQL)[0] is Lane.LIMIT
    assert Placement(long_shapes=memory, limit_shapes=limit, limit_lane=False).place(GROUP_BY, Kind.SPARQL)[0] \
        is Lane.LONG
    memory.mark("a")
    memory.mark("b")  # the oldest mark is forgotten beyond the capacity
    assert shape_of(GROUP_BY) not in memory and len(memory) == 2


def test_queries_land_where_the_policy_says(client):
    """Each lane of a running server, by its counter: inline, worker (ad hoc), own (saved), entity pages."""
    def count(lane: Lane) -> float:
        return metric(client, f"kg_queries_{lane.value}_total")

    unique = f"# {time.time_ns()}\n"
    before = {lane: count(lane) for lane in Lane}
    assert client.get(f"{client.url}/sparql", params={"query": unique + LOOKUP}, headers={"Accept": JSON}).is_success
    assert count(Lane.INLINE) == before[Lane.INLINE] + 1 and count(Lane.WORKER) == before[Lane.WORKER]
    assert client.get(f"{client.url}/sparql", params={"query": unique + GROUP_BY}, headers={"Accept": JSON}).is_success
    assert count(Lane.WORKER) == before[Lane.WORKER] + 1
    saved = client.get(f"{client.url}/api/queries/municipality-profile", params={"code": "131091"})
    assert saved.status_code == 200 and saved.headers["x-kg-cache"] == "miss"
    assert count(Lane.OWN) == before[Lane.OWN] + 1 and count(Lane.WORKER) == before[Lane.WORKER] + 1
    page = client.get(f"{client.url}/id/municipality/131237", headers={"Accept": "text/turtle"})
    assert page.status_code == 200
    assert count(Lane.INLINE) == before[Lane.INLINE] + 2  # the real data's degrees are small: inline


def test_a_shape_seen_to_run_long_goes_to_the_long_lane(built, settings):
    local = settings.with_overrides(dist_dir=built, long_query_seconds=0.02, query_timeout=60)
    heavy = ('SELECT (COUNT(*) AS ?n) WHERE {{ ?a ?b ?c . ?d <http://www.w3.org/2000/01/rdf-schema#label> ?f '
             'FILTER(?f != "{}") }}')
    with TestClient(asgi_app(local), base_url=local.server_url) as c:
        c.url = local.server_url
        assert c.post("/sparql", data={"query": heavy.format("x")}).status_code == 200
        assert metric(c, "kg_long_query_shapes") == 1 and metric(c, "kg_queries_long_total") == 0
        long_pool = c.app.ctx.service.pools[Lane.LONG]
        assert long_pool.pids() == []  # no process until a query needs the lane
        assert c.post("/sparql", data={"query": heavy.format("y")}).status_code == 200  # same shape
        assert metric(c, "kg_queries_long_total") == 1
        assert [_nice(pid) for pid in long_pool.pids()] == [15]  # started for it, below the others
        worker = metric(c, "kg_queries_worker_total")
        assert c.post("/sparql", data={"query": GROUP_BY}).status_code == 200  # another shape: the short lane
        assert metric(c, "kg_queries_worker_total") == worker + 1


def test_a_shape_that_ran_into_the_limit_gets_its_own_lane(built, settings):
    """Queries that will be stopped anyway do not hold the workers of queries that will finish."""
    cartesian = "SELECT (COUNT(*) AS ?n) WHERE {{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l FILTER(?c != {}) }}"
    local = settings.with_overrides(dist_dir=built, query_timeout=1.5, workers=1, long_query_seconds=30)
    with TestClient(asgi_app(local), base_url=local.server_url) as c:
        c.url = local.server_url
        first = c.post("/sparql", data={"query": cartesian.format(1)})
        assert first.status_code == 503 and "time limit" in first.text
        assert metric(c, "kg_limit_query_shapes") == 1 and metric(c, "kg_queries_limit_total") == 0
        answers: dict[str, object] = {}
        thread = threading.Thread(target=lambda: answers.update(again=c.post("/sparql",
                                                                             data={"query": cartesian.format(2)})))
        thread.start()
        time.sleep(0.3)
        short = c.post("/sparql", data={"query": GROUP_BY + f"\n# {time.time_ns()}"})
        assert short.status_code == 200 and thread.is_alive()  # the one short worker was free for it
        thread.join(30)
        assert answers["again"].status_code == 503
        assert metric(c, "kg_queries_limit_total") == 1
        pool = c.app.ctx.service.pools[Lane.LIMIT]
        deadline = time.time() + 10  # its worker was killed at the limit; the replacement comes up beside
        while not pool.pids() and time.time() < deadline:
            time.sleep(0.05)
        assert [_nice(pid) for pid in pool.pids()] == [19]  # the lowest priority


def _children() -> set[int]:
    """Live child processes of this process (the app runs in process: its workers are our children)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def test_a_query_that_turns_out_long_hands_its_worker_over(built, settings):
    """A new shape cannot hold the ad-hoc lane: once it has run long, a fresh worker takes its place
    (the load test's first seconds, where two unknown pathological queries held both workers)."""
    cartesian = "SELECT (COUNT(*) AS ?n) WHERE {{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l FILTER(?c != {}) }}"
    local = settings.with_overrides(dist_dir=built, query_timeout=3, workers=1, long_query_seconds=0.2,
                                    own_workers=0, long_workers=0, limit_workers=0)
    others = _children()  # other tests' servers may be running in this process
    with TestClient(asgi_app(local), base_url=local.server_url) as c:
        c.url = local.server_url
        workers = _children() - others
        assert len(workers) == 1
        answers: dict[str, object] = {}
        thread = threading.Thread(target=lambda: answers.update(long=c.post("/sparql",
                                                                            data={"query": cartesian.format(1)})))
        thread.start()
        while metric(c, "kg_worker_handovers_total") == 0:  # the long query lets its worker go…
            assert thread.is_alive(), answers
            time.sleep(0.05)
        short = c.post("/sparql", data={"query": GROUP_BY + f"\n# {time.time_ns()}"})
        assert short.status_code == 200, short.text  # …so the one ad-hoc worker's place was free
        assert thread.is_alive(), "the long query ended before the short one was answered"
        assert metric(c, "kg_queries_worker_total") == 2  # both placed in the one ad-hoc lane
        thread.join(30)
        assert answers["long"].status_code == 503 and "time limit" in answers["long"].text  # the limit still stops it
        assert metric(c, "kg_worker_handovers_total") == 1
        assert metric(c, "kg_worker_timeouts_total") == 1
        for _ in range(100):  # the handed-over worker is reaped once its query has ended: one worker again
            if len(_children() - others) == 1:
                break
            time.sleep(0.05)
        assert len(_children() - others) == 1 and not _children() & workers  # the first worker was let go
    no_handover = local.with_overrides(handovers=0)
    with TestClient(asgi_app(no_handover), base_url=local.server_url) as c:
        c.url = local.server_url
        assert c.post("/sparql", data={"query": cartesian.format(2)}).status_code == 503
        assert metric(c, "kg_worker_handovers_total") == 0


def test_a_query_whose_shape_was_marked_while_it_waited_moves_to_that_lane(built, settings):
    """The load test's first second: several queries of a new heavy shape arrive before the first
    has shown it is long. Those still waiting take the LONG lane when a worker is free for them."""
    cartesian = "SELECT (COUNT(*) AS ?n) WHERE {{ ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l FILTER(?c != {}) }}"
    local = settings.with_overrides(dist_dir=built, query_timeout=3, workers=1, long_query_seconds=1,
                                    own_workers=0, long_workers=1, limit_workers=0)
    with TestClient(asgi_app(local), base_url=local.server_url) as c:
        c.url = local.server_url
        answers: dict[int, object] = {}
        threads = [threading.Thread(target=lambda n=n: answers.update({n: c.post("/sparql", data={
            "query": cartesian.format(n)})})) for n in (1, 2)]
        for thread in threads:
            thread.start()
        while metric(c, "kg_queries_worker_total") < 2:  # both placed in the ad-hoc lane (one waits)
            time.sleep(0.02)
        for thread in threads:
            thread.join(30)
        assert [answers[n].status_code for n in (1, 2)] == [503, 503]  # the limit stops both
        assert metric(c, "kg_long_query_shapes") == 1
        assert metric(c, "kg_queries_moved_total") == 1  # the second waited, then took the LONG lane
        assert metric(c, "kg_queries_worker_total") == 1 and metric(c, "kg_queries_long_total") == 1


# ------------------------------------------------------------------ issue 21, criterion 2: every query has a deadline
SLOW = """#+ title:
#+   ja: わざと遅い問合せ
#+   en: Slow on purpose
#+ description:
#+   ja: 直積。期限のテスト用。
#+   en: A cartesian product, for the deadline test.
SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }
"""


def test_a_slow_saved_query_is_stopped_at_the_limit_while_others_are_answered(built, settings, tmp_path):
    queries = tmp_path / "queries"
    queries.mkdir()
    for rq in settings.queries_dir.glob("*.rq"):
        (queries / rq.name).write_bytes(rq.read_bytes())
    (queries / "slow-on-purpose.rq").write_text(SLOW, encoding="utf-8")
    local = settings.with_overrides(dist_dir=built, queries_dir=queries, query_timeout=1.5)
    with TestClient(asgi_app(local), base_url=local.server_url) as c:
        c.url = local.server_url
        answers: dict[str, object] = {}

        def slow() -> None:
            started = time.monotonic()
            answers["slow"] = (c.get("/api/queries/slow-on-purpose"), time.monotonic() - started)

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.3)
        others = [c.get("/api/queries/municipality-profile", params={"code": "131016"}),
                  c.get("/id/municipality/131016", headers={"Accept": "text/turtle"}),
                  c.get("/healthz")]
        assert thread.is_alive(), "the slow query ended before the others were asked"
        assert [r.status_code for r in others] == [200, 200, 200]
        thread.join(30)
        response, took = answers["slow"]
        assert response.status_code == 503 and "time limit" in response.text, response.text
        assert 1.4 < took < 6, took
        assert metric(c, "kg_worker_timeouts_total") == 1


# ------------------------------------------------------------------ criterion 4: the workers share the data
def _rollup(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        out[name] = int(value.split()[0])
    return out


def test_a_small_dataset_is_loaded_once_and_the_workers_are_forked_from_it(built, settings, tmp_path):
    """In memory (the real data): the server parses the dumps once; its workers are forks that
    share its pages, so they open no file and are ready at once."""
    import os
    import shutil

    dist = tmp_path / "dist"
    shutil.copytree(built, dist, ignore=shutil.ignore_patterns("store", ".store*"))
    local = settings.with_overrides(dist_dir=dist, store_dir="")
    with TestClient(asgi_app(local), base_url=local.server_url) as c:
        c.url = local.server_url
        service = c.app.ctx.service
        pids = [pid for pool in service.pools.values() for pid in pool.pids()]
        assert len(pids) == local.workers + local.own_workers  # LONG and LIMIT start theirs when needed
        server = os.getpid()
        for pid in pids:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            assert int(stat[1]) == server  # a child of the server ...
            assert Path(f"/proc/{pid}/exe").resolve() == Path(f"/proc/{server}/exe").resolve()  # ... not a new program
            assert not {f for f in _open_files(pid) if f.startswith(str(dist))}  # reads no dump, opens no store
            rollup = _rollup(pid)
            assert rollup["Pss"] < rollup["Rss"] * 0.75, rollup  # most of its pages are the server's
        assert not (dist / "store").exists()
        assert c.post("/sparql", data={"query": GROUP_BY}).status_code == 200
        assert metric(c, "kg_queries_worker_total") >= 1


def test_a_large_dataset_is_served_from_the_shared_on_disk_store(built, settings, tmp_path):
    """Above KG_MEMORY_TRIPLES: the server and its workers open the on-disk store read-only (made
    from the dumps on first start), so they share the page cache and none parses the dumps."""
    import os
    import shutil
    import signal

    from kg.query.store import READY

    dist = tmp_path / "dist"
    shutil.copytree(built, dist, ignore=shutil.ignore_patterns("store", ".store*"))
    local = settings.with_overrides(dist_dir=dist, store_dir="", memory_triples=0)
    with TestClient(asgi_app(local), base_url=local.server_url) as c:
        c.url = local.server_url
        assert (dist / "store" / READY).exists()
        # figured once per store and kept beside it, so a server starting on a large store does not scan it again
        assert (dist / "store" / "inline-limits.json").exists()
        service = c.app.ctx.service
        pids = [pid for pool in service.pools.values() for pid in pool.pids()]
        assert len(pids) == local.workers + local.own_workers  # LONG and LIMIT start theirs when needed
        for pid in pids:
            opened = {Path(f).resolve() for f in _open_files(pid)}
            assert any(dist / "store" / "db" in f.parents for f in opened), pid
            assert dist / "kg.trig" not in opened
            rollup = _rollup(pid)
            assert rollup["Pss"] < rollup["Rss"] * 0.75, rollup  # forked: the interpreter's pages are shared
        # Forked by a zygote the server forked before it opened the store: a worker does not carry
        # the server's store handle, caches and heap (which keep changing, so copies would stay private).
        zygote = service.zygote
        assert zygote is not None and _parent(zygote.pid) == os.getpid()
        assert {_parent(pid) for pid in pids} == {zygote.pid}
        assert not [f for f in _open_files(zygote.pid) if str(dist) in f]  # no store, no dump open
        assert c.post("/sparql", data={"query": GROUP_BY}).status_code == 200
        victim = service.pools[Lane.WORKER].pids()[0]
        os.kill(victim, signal.SIGKILL)  # its end, as the zygote saw it, reaches the server: replaced
        for _ in range(200):
            if metric(c, "kg_worker_deaths_total") == 1 and len(service.pools[Lane.WORKER].pids()) == local.workers:
                break
            time.sleep(0.05)
        replaced = service.pools[Lane.WORKER].pids()
        assert victim not in replaced and len(replaced) == local.workers
        assert {_parent(pid) for pid in replaced} == {zygote.pid}
        assert c.post("/sparql", data={"query": GROUP_BY + "\n# again"}).status_code == 200
    assert not Path(f"/proc/{zygote.pid}").exists()  # stopped with the server, and reaped


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _open_files(pid: int) -> list[str]:
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            out.append(str(fd.readlink()))
        except OSError:
            pass
    return out
