"""SPARQL 1.1 Protocol: what the application answers (in process), and real clients over a socket.

Clients that need a socket (SPARQLWrapper, rdflib's SPARQLStore) and the server's own access log
use one real server (uvloop, as deployments run); the time limit, which the server process
enforces, is tested under both event loops.
"""

from __future__ import annotations

import csv
import io
import json
import socket
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

PREFIX = "PREFIX kgo: <https://w3id.org/tokyo-sme-kg/ontology#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
COUNT_RESOURCES = PREFIX + "SELECT (COUNT(?r) AS ?n) WHERE { ?r a kgo:RegionalResource }"
CONSTRUCT = PREFIX + "CONSTRUCT { ?r rdfs:label ?l } WHERE { ?r a kgo:TourismResource ; rdfs:label ?l } LIMIT 3"
DESCRIBE = "DESCRIBE <https://w3id.org/tokyo-sme-kg/id/municipality/131067>"
ASK = PREFIX + "ASK { ?r kgo:area <https://w3id.org/tokyo-sme-kg/id/municipality/134210> }"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def test_get_post_form_and_direct_post(client):
    get = client.get(f"{client.url}/sparql", params={"query": COUNT_RESOURCES})
    form = client.post(f"{client.url}/sparql", data={"query": COUNT_RESOURCES})
    direct = client.post(f"{client.url}/sparql", content=COUNT_RESOURCES.encode(),
                        headers={"Content-Type": "application/sparql-query"})
    for r in (get, form, direct):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/sparql-results+json")
        assert r.json()["results"]["bindings"][0]["n"]["value"] == "289"


@pytest.mark.parametrize("accept,ctype", [
    ("application/sparql-results+json", "application/sparql-results+json"),
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"), ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, application/sparql-results+xml", "application/sparql-results+xml"),
    ("*/*", "application/sparql-results+json")])
def test_select_formats(client, accept, ctype):
    r = client.get(f"{client.url}/sparql", params={"query": COUNT_RESOURCES}, headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].startswith(ctype)
    assert "289" in r.text


@pytest.mark.parametrize("fmt,ctype", [("json", "application/sparql-results+json"), ("xml", "application/sparql-results+xml")])
def test_ask_formats(client, fmt, ctype):
    r = client.get(f"{client.url}/sparql", params={"query": ASK, "format": fmt})
    assert r.headers["content-type"].startswith(ctype)
    assert "true" in r.text


@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE])
@pytest.mark.parametrize("accept,rdflib_format", [
    ("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"), ("application/trig", "trig")])
def test_graph_formats(client, query, accept, rdflib_format):
    r = client.get(f"{client.url}/sparql", params={"query": query}, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(accept)
    if rdflib_format == "trig":
        from rdflib import Dataset
        g = Dataset()
        g.parse(data=r.text, format="trig")
        assert len(list(g.quads())) > 0
    else:
        assert len(Graph().parse(data=r.text, format=rdflib_format)) > 0


def test_not_acceptable(client):
    r = client.get(f"{client.url}/sparql", params={"query": COUNT_RESOURCES}, headers={"Accept": "image/png"})
    assert r.status_code == 406
    r = client.get(f"{client.url}/sparql", params={"query": CONSTRUCT}, headers={"Accept": "text/csv"})
    assert r.status_code == 406


def test_dataset_parameters(client):
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    onto = client.get(f"{client.url}/sparql", params={
        "query": q, "default-graph-uri": "https://w3id.org/tokyo-sme-kg/graph/ontology"}).json()
    data = client.get(f"{client.url}/sparql", params={
        "query": q, "default-graph-uri": "https://w3id.org/tokyo-sme-kg/graph/data"}).json()
    manifest = client.get(f"{client.url}/healthz").json()["triples"]
    assert int(onto["results"]["bindings"][0]["n"]["value"]) == manifest["ontology"]
    assert int(data["results"]["bindings"][0]["n"]["value"]) == manifest["data"]
    named = client.get(f"{client.url}/sparql", params={
        "query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
        "named-graph-uri": "https://w3id.org/tokyo-sme-kg/graph/inferred"}).json()
    assert [b["g"]["value"] for b in named["results"]["bindings"]] == ["https://w3id.org/tokyo-sme-kg/graph/inferred"]
    outside = client.get(f"{client.url}/sparql", params={"query": q, "default-graph-uri": "http://example.org/x"})
    assert outside.status_code == 403 and "not in this dataset" in outside.text


def test_service_description(client):
    r = client.get(f"{client.url}/sparql", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    g = Graph().parse(data=r.text, format="turtle")
    assert any("sparql-service-description#Service" in str(o) for o in g.objects())
    browser = client.get(f"{client.url}/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.headers["content-type"].startswith("text/html") and "<textarea" in browser.text


def test_syntax_error_has_message_and_position(client):
    r = client.get(f"{client.url}/sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"})
    assert r.status_code == 400
    assert "syntax" in r.text.lower() and any(ch.isdigit() for ch in r.text)


@pytest.mark.parametrize("request_kwargs", [
    {"data": {"update": "INSERT DATA { <http://a> <http://b> <http://c> }"}},
    {"content": b"DROP ALL", "headers": {"Content-Type": "application/sparql-update"}},
    {"data": {"query": "INSERT DATA { <http://a> <http://b> <http://c> }"}},
    {"data": {"query": "LOAD <http://example.org/data.ttl>"}},
    {"data": {"query": "PREFIX ex: <http://e/> CLEAR ALL"}},
])
def test_updates_refused(client, request_kwargs):
    r = client.post(f"{client.url}/sparql", **request_kwargs)
    assert r.status_code == 403, r.text
    assert "read-only" in r.text


def test_request_size_limit(client):
    big = "SELECT * WHERE { ?s ?p ?o } # " + "x" * 200_000
    r = client.post(f"{client.url}/sparql", content=big.encode(), headers={"Content-Type": "application/sparql-query"})
    assert r.status_code == 413


class _Listener:
    """A local TCP listener that records every connection it receives."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.mark.parametrize("template", [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
    "select * where { service silent <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }",
    "PREFIX x: <http://127.0.0.1:{port}/> SELECT * WHERE { SeRvIcE x:sparql { ?s ?p ?o } }",
    "SELECT * WHERE { BIND(<http://127.0.0.1:{port}/sparql> AS ?e) SERVICE ?e { ?s ?p ?o } }",
])
def test_service_refused_without_connecting(client, template):
    listener = _Listener()
    try:
        query = template.replace("{port}", str(listener.port))
        r = client.post(f"{client.url}/sparql", data={"query": query})
        time.sleep(0.5)
        assert r.status_code == 403 and "SERVICE" in r.text
        assert listener.connections == 0
    finally:
        listener.close()


def test_keyword_in_string_is_not_service(client):
    r = client.get(f"{client.url}/sparql", params={"query": 'SELECT ("SERVICE <x>" AS ?s) WHERE {}'})
    assert r.status_code == 200


def test_time_limit_stops_query_and_others_are_answered(limited_server):
    url = limited_server.url
    with ThreadPoolExecutor(2) as pool:
        started = time.monotonic()
        slow = pool.submit(httpx.get, f"{url}/sparql", params={"query": SLOW}, timeout=60)
        time.sleep(0.5)
        quick_started = time.monotonic()
        quick = httpx.get(f"{url}/healthz", timeout=10)
        lookup = httpx.get(f"{url}/sparql", params={"query": ASK}, timeout=10)
        quick_elapsed = time.monotonic() - quick_started
        response = slow.result()
        elapsed = time.monotonic() - started
    assert quick.status_code == 200 and lookup.status_code == 200
    assert quick_elapsed < 1.5
    assert response.status_code == 503 and "time limit" in response.text
    assert 1.5 < elapsed < 8
    # the pool recovers: the killed worker was replaced
    time.sleep(3)
    assert httpx.get(f"{url}/sparql", params={"query": ASK}, timeout=10).status_code == 200


def test_row_limit_is_signalled(limited_server):
    r = httpx.get(f"{limited_server.url}/sparql", params={"query": "SELECT ?s WHERE { ?s ?p ?o }"})
    assert r.status_code == 200
    assert r.headers["X-KG-Truncated"] == "true" and r.headers["X-KG-Row-Limit"] == "5"
    assert len(r.json()["results"]["bindings"]) == 5 and r.json()["truncated"] is True
    small = httpx.get(f"{limited_server.url}/sparql", params={"query": ASK})
    assert small.headers["X-KG-Truncated"] == "false"


def test_sparqlwrapper_client(socket_server):
    sw = SPARQLWrapper(f"{socket_server.url}/sparql")
    sw.setQuery(COUNT_RESOURCES)
    sw.setReturnFormat(JSON)
    assert sw.query().convert()["results"]["bindings"][0]["n"]["value"] == "289"
    sw.setReturnFormat(XML)
    assert sw.query().convert().getElementsByTagName("literal")[0].firstChild.data == "289"
    sw.setReturnFormat(CSV)
    rows = list(csv.reader(io.StringIO(sw.query().convert().decode())))
    assert rows == [["n"], ["289"]]
    sw.setQuery(CONSTRUCT)
    sw.setReturnFormat(TURTLE)
    assert len(Graph().parse(data=sw.query().convert(), format="turtle")) == 3
    sw.setQuery(ASK)
    sw.setReturnFormat(JSON)
    assert sw.query().convert()["boolean"] is True
    sw.setMethod("POST")
    sw.setQuery(COUNT_RESOURCES)
    assert sw.query().convert()["results"]["bindings"][0]["n"]["value"] == "289"


def test_rdflib_sparqlstore_client(socket_server):
    from rdflib import Dataset
    g = Dataset(store=SPARQLStore(f"{socket_server.url}/sparql", returnFormat="json"), default_union=True)
    rows = list(g.query(COUNT_RESOURCES))
    assert int(rows[0][0]) == 289
    constructed = g.query(CONSTRUCT)
    assert len(constructed.graph) == 3


def test_etag_and_304(client):
    r = client.get(f"{client.url}/sparql", params={"query": ASK})
    etag = r.headers["ETag"]
    again = client.get(f"{client.url}/sparql", params={"query": ASK}, headers={"If-None-Match": etag})
    assert again.status_code == 304
    other = client.get(f"{client.url}/sparql", params={"query": ASK, "format": "xml"}, headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_cors_without_credentials(client):
    r = client.get(f"{client.url}/sparql", params={"query": ASK}, headers={"Origin": "https://example.org"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    pre = client.options(f"{client.url}/sparql", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 200 and "POST" in pre.headers["access-control-allow-methods"]


def test_gzip_head_and_health(client):
    r = client.get(f"{client.url}/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 200"},
                  headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    head = client.head(f"{client.url}/dumps/kg.ttl")
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"]
    assert client.get(f"{client.url}/healthz").json()["status"] == "ok"
    assert "server" not in client.get(f"{client.url}/healthz").headers


def test_structured_access_log(socket_server):
    httpx.get(f"{socket_server.url}/sparql", params={"query": ASK})
    time.sleep(0.3)
    # every complete record is one JSON object on one line, whatever the fuzzers put in paths
    complete = socket_server.log.read_text().split("\n")[:-1]  # the last piece may be mid-write
    lines = [json.loads(line) for line in complete if line.startswith("{")]
    entry = [e for e in lines if e["path"] == "/sparql"][-1]
    assert entry["status"] == 200 and entry["ms"] >= 0 and entry["query_ms"] is not None


# SPARQLWrapper as its users run it: setReturnFormat only, no setOnlyConneg, no custom Accept. It
# sends `format=`/`output=`/`results=` with its own names (n3, json-ld, rdf+xml …), sometimes twice.
SW_SOLUTIONS = ["json", "xml", "csv", "tsv"]
SW_GRAPHS = ["turtle", "n3", "xml", "rdf+xml", "json-ld"]


def _sw(socket_server, query: str, fmt: str, method: str) -> tuple[str, object]:
    sw = SPARQLWrapper(f"{socket_server.url}/sparql")
    sw.setQuery(query)
    sw.setReturnFormat(fmt)
    sw.setMethod(method)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # SPARQLWrapper warns when the answer is not the format it asked for
        answer = sw.query()
        return answer.info()["content-type"], answer.convert()


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("fmt", SW_SOLUTIONS)
def test_sparqlwrapper_defaults_select_and_ask(socket_server, fmt, method):
    ctype, body = _sw(socket_server, COUNT_RESOURCES, fmt, method)
    expected = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                "csv": "text/csv", "tsv": "text/tab-separated-values"}[fmt]
    assert ctype.startswith(expected)
    if fmt == "json":
        assert body["results"]["bindings"][0]["n"]["value"] == "289"
    elif fmt == "xml":
        assert body.getElementsByTagName("literal")[0].firstChild.data == "289"
    else:
        sep = "," if fmt == "csv" else "\t"
        rows = list(csv.reader(io.StringIO(body.decode()), delimiter=sep))
        assert rows[1] == ["289"] and rows[0][0].lstrip("?") == "n"
    if fmt in ("json", "xml"):
        ctype, body = _sw(socket_server, ASK, fmt, method)
        assert ctype.startswith(expected)
        assert (body["boolean"] if fmt == "json" else body.getElementsByTagName("boolean")[0].firstChild.data) in (True, "true")


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("query", [CONSTRUCT, DESCRIBE], ids=["construct", "describe"])
@pytest.mark.parametrize("fmt", SW_GRAPHS)
def test_sparqlwrapper_defaults_graphs(socket_server, fmt, query, method):
    ctype, body = _sw(socket_server, query, fmt, method)
    media = ctype.split(";")[0].strip()
    expected = {"turtle": {"text/turtle"}, "n3": {"text/turtle", "text/n3"}, "xml": {"application/rdf+xml"},
                "rdf+xml": {"application/rdf+xml"}, "json-ld": {"application/ld+json"}}[fmt]
    assert media in expected
    g = body if isinstance(body, Graph) else Graph().parse(data=body, format="turtle")
    assert len(g) > 0
    reference = Graph().parse(data=httpx.get(f"{socket_server.url}/sparql", params={"query": query},
                                             headers={"Accept": "application/n-triples"}).text, format="nt")
    assert isomorphic(g, reference)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_ntriples(socket_server, method):
    """N-Triples is part of what SPARQLWrapper's N3 asks for; a client that names it first gets it."""
    sw = SPARQLWrapper(f"{socket_server.url}/sparql")
    sw.setQuery(CONSTRUCT)
    sw.setReturnFormat("n3")
    sw.setMethod(method)
    sw.addCustomHttpHeader("Accept", "application/n-triples")
    answer = sw.query()
    assert answer.info()["content-type"].startswith("application/n-triples")
    assert len(Graph().parse(data=answer.convert(), format="nt")) == 3


@pytest.mark.parametrize("params,accept,status,ctype", [
    ({"format": "n3"}, None, 200, "text/n3"),
    ({"format": ["json-ld", "application/ld+json,application/x-json+ld"]}, None, 200, "application/ld+json"),
    ({"format": "no-such-format"}, None, 200, "text/turtle"),                         # unknown: Accept decides
    ({"format": "no-such-format"}, "application/n-triples", 200, "application/n-triples"),
    ({"format": "application/x-unknown"}, "application/rdf+xml", 200, "application/rdf+xml"),
    ({"format": "no-such-format"}, "image/png", 406, None),                           # nothing acceptable
    ({}, "application/x-unknown", 406, None),
    ({"format": "xml"}, "application/n-triples", 200, "application/rdf+xml"),         # a known format overrides
])
def test_format_parameter_falls_back_to_accept(client, params, accept, status, ctype):
    headers = {"Accept": accept} if accept else {}
    r = client.get(f"{client.url}/sparql", params={"query": CONSTRUCT, **params}, headers=headers)
    assert r.status_code == status, r.text
    if ctype:
        assert r.headers["content-type"].startswith(ctype)
        assert len(r.content) > 0
