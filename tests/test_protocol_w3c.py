"""Every test of the W3C SPARQL 1.1 Protocol test suite, run against the real server.

The tests are those of ``sparql/sparql11/protocol/manifest.ttl`` in the public repository
w3c/rdf-tests (34 entries, in manifest order; the ``name`` of each case below is the manifest's
local name, ``what`` its ``mf:name``). They are written out here rather than read at run time, so
the suite needs no network. Adapted to this dataset, which is read-only and has its own graphs:

- The manifest's graphs ``data0.rdf`` … ``data3.rdf`` (one ``foaf:Document`` triple each) become
  our named graphs (ontology, data, inferred). Each dataset test asks a question whose answer
  depends on which graphs the protocol request puts in the dataset, and the expected boolean is
  computed from the built graphs (``graphs`` fixture), never written in.
- Update tests (``update_*`` expect 2xx from a service that implements SPARQL Update): this
  service implements only the query operation, which SPARQL 1.1 Protocol section 5 allows; each
  must get a 4xx, and the data must be unchanged afterwards (quad counts per graph and the dataset
  version compared before and after; the manifest's follow-up ASK is sent and must be false).
  README "SPARQL 1.1 Protocol conformance" lists these exceptions with the spec text.
- The manifest's endpoint path ``/sparql/`` is its example; ours is ``/sparql``.
- Every 2xx body is parsed in the media type its Content-Type declares.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

import httpx
import pytest
from rdflib import Dataset, Graph
from rdflib.namespace import RDF, RDFS

from kg.namespaces import GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY, KGO, entity
from kg.pipeline.builder import Graphs

from .conftest import EVERY_SERVER  # each test of the real server: under uvicorn (both loops) and granian

ONTO, DATA, INF = str(GRAPH_ONTOLOGY), str(GRAPH_DATA), str(GRAPH_INFERRED)
WARD = entity("municipality", "131016")  # 千代田区: typed kgo:SpecialWard in data, kgo:Municipality by inference
ASSERTED, INFERRED = KGO.SpecialWard, KGO.Municipality
SRX = "{http://www.w3.org/2005/sparql-results#}"
RDF_FORMATS = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
    "application/trig": "trig",
}
TABULAR = ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
           "text/tab-separated-values")
BOOLEAN = ("application/sparql-results+json", "application/sparql-results+xml")
RDF_RESULT = ("application/rdf+xml", "text/turtle", "application/n-triples")  # the manifest's list (RDFa aside)

DEFAULT_PAIR = f"ASK {{ <{WARD}> a <{ASSERTED}> . <{WARD}> a <{INFERRED}> . }}"
NAMED_PAIR = f"ASK {{ GRAPH ?g1 {{ <{WARD}> a <{ASSERTED}> }} GRAPH ?g2 {{ <{WARD}> a <{INFERRED}> }} }}"
FULL = (f"ASK {{\n  <{ASSERTED}> <{RDFS.subClassOf}> <{INFERRED}>\n"
        f"  GRAPH ?g1 {{ <{WARD}> a <{ASSERTED}> }}\n  GRAPH ?g2 {{ <{WARD}> a <{INFERRED}> }}\n}}")
# FROM NAMED <ontology> would make the answer false; the protocol's named graphs must win (2.1.4).
MULTIPLE = (f"ASK FROM <{ONTO}> FROM NAMED <{ONTO}> {{ GRAPH ?g1 {{ <{WARD}> a <{ASSERTED}> }} "
            f"GRAPH ?g2 {{ <{WARD}> a <{INFERRED}> }} }}")


def _in(graphs: Graphs, names: list[str], triple: tuple) -> bool:
    by_name = {ONTO: graphs.ontology, DATA: graphs.data, INF: graphs.inferred}
    return any(triple in by_name[n] for n in names)


def default_pair(graphs: Graphs, default: list[str]) -> bool:
    """The answer of DEFAULT_PAIR when the default graph is the merge of ``default``."""
    return _in(graphs, default, (WARD, RDF.type, ASSERTED)) and _in(graphs, default, (WARD, RDF.type, INFERRED))


def named_pair(graphs: Graphs, named: list[str]) -> bool:
    """The answer of NAMED_PAIR (and MULTIPLE) when ``named`` are the named graphs."""
    return _in(graphs, named, (WARD, RDF.type, ASSERTED)) and _in(graphs, named, (WARD, RDF.type, INFERRED))


@dataclass
class Case:
    name: str  # manifest entry, e.g. :query_post_form
    what: str  # its mf:name
    method: str = "POST"
    params: list[tuple[str, str]] = field(default_factory=list)  # URL query string
    body: bytes | None = None
    content_type: str | None = None
    expect: str = "boolean"  # boolean | tabular | rdf | 4xx
    answer: object = True  # expected boolean, or a function (graphs) -> bool
    update: bool = False  # an update: 4xx here, data unchanged afterwards
    follow_up: str | None = None  # the manifest's second request (an ASK), for update tests
    follow_up_answer: bool = False  # its answer when nothing was written (the manifest expects true after a write)


def form(**fields: str) -> bytes:
    return urlencode(fields, quote_via=quote).encode()


def _update_body(graph: str, where: str) -> bytes:
    return (
        "PREFIX dc: <http://purl.org/dc/terms/>\nPREFIX foaf: <http://xmlns.com/foaf/0.1/>\nDROP ALL ;\n"
        "INSERT DATA { GRAPH <http://kasei.us/2009/09/sparql/data/data1.rdf> "
        "{ <http://kasei.us/2009/09/sparql/data/data1.rdf> a foaf:Document } } ;\n"
        f"INSERT {{ GRAPH <{graph}> {{ ?s a dc:BibliographicResource }} }}\nWHERE {{ {where} }}"
    ).encode()


def _written(graph: str) -> str:
    """The follow-up ASK: did the update write into ``graph``? (must stay false here)"""
    return f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"


Q = "application/sparql-query"
U = "application/sparql-update"
F = "application/x-www-form-urlencoded"
CASES = [
    Case("query_post_form", "query via URL-encoded POST", params=[("default-graph-uri", DATA)],
         body=form(query="ASK {}"), content_type=F),
    Case("query_dataset_default_graphs_get", "GET query with protocol-specified default graph", method="GET",
         params=[("query", DEFAULT_PAIR), ("default-graph-uri", DATA), ("default-graph-uri", INF)],
         answer=lambda g: default_pair(g, [DATA, INF])),
    Case("query_dataset_default_graphs_post", "POST query with protocol-specified default graphs",
         params=[("default-graph-uri", DATA), ("default-graph-uri", INF)], body=DEFAULT_PAIR.encode(),
         content_type=Q, answer=lambda g: default_pair(g, [DATA, INF])),
    Case("query_dataset_named_graphs_post", "POST query with protocol-specified named graphs",
         params=[("named-graph-uri", DATA), ("named-graph-uri", INF)], body=NAMED_PAIR.encode(), content_type=Q,
         answer=lambda g: named_pair(g, [DATA, INF])),
    Case("query_dataset_named_graphs_get", "GET query with protocol-specified named graphs", method="GET",
         params=[("query", NAMED_PAIR), ("named-graph-uri", DATA), ("named-graph-uri", INF)],
         answer=lambda g: named_pair(g, [DATA, INF])),
    Case("query_dataset_full", "query with protocol-specified dataset (both named and default graphs)",
         params=[("default-graph-uri", ONTO), ("named-graph-uri", DATA), ("named-graph-uri", INF)],
         body=FULL.encode(), content_type=Q,
         answer=lambda g: _in(g, [ONTO], (ASSERTED, RDFS.subClassOf, INFERRED)) and named_pair(g, [DATA, INF])),
    Case("query_multiple_dataset",
         "query specifying dataset in both query string and protocol; test for use of protocol-specified dataset",
         params=[("named-graph-uri", DATA), ("named-graph-uri", INF)], body=MULTIPLE.encode(), content_type=Q,
         answer=lambda g: named_pair(g, [DATA, INF])),
    Case("query_get", "query via GET", method="GET", params=[("query", "ASK {}"), ("default-graph-uri", DATA)]),
    Case("query_content_type_select", "query appropriate content type (expect one of: XML, JSON, CSV, TSV)",
         params=[("default-graph-uri", DATA)], body=b"SELECT (1 AS ?value) {}", content_type=Q, expect="tabular"),
    Case("query_content_type_ask", "query appropriate content type (expect one of: XML, JSON)",
         params=[("default-graph-uri", DATA)], body=b"ASK {}", content_type=Q),
    Case("query_content_type_describe",
         "query appropriate content type (expect one of: RDF/XML, Turtle, N-Triples, RDFa)",
         params=[("default-graph-uri", DATA)], body=b"DESCRIBE <http://example.org/>", content_type=Q, expect="rdf"),
    Case("query_content_type_construct",
         "query appropriate content type (expect one of: RDF/XML, Turtle, N-Triples, RDFa)",
         params=[("default-graph-uri", DATA)], body=b"CONSTRUCT { <s> <p> 1 } WHERE {}", content_type=Q,
         expect="rdf"),
    Case("update_dataset_default_graph", "update with protocol-specified default graph",
         params=[("using-graph-uri", DATA)], content_type=U, update=True,
         body=_update_body("http://example.org/protocol-update-dataset-test/", "?s a foaf:Document"),
         follow_up=_written("http://example.org/protocol-update-dataset-test/")),
    Case("update_dataset_default_graphs", "update with protocol-specified default graphs",
         params=[("using-graph-uri", DATA), ("using-graph-uri", INF)], content_type=U, update=True,
         body=_update_body("http://example.org/protocol-update-dataset-graphs-test/", "?s a foaf:Document"),
         follow_up=_written("http://example.org/protocol-update-dataset-graphs-test/")),
    Case("update_dataset_named_graphs", "update with protocol-specified named graphs",
         params=[("using-named-graph-uri", DATA), ("using-named-graph-uri", INF)], content_type=U, update=True,
         body=_update_body("http://example.org/protocol-update-dataset-named-graphs-test/",
                           "GRAPH ?g { ?s a foaf:Document }"),
         follow_up=_written("http://example.org/protocol-update-dataset-named-graphs-test/")),
    Case("update_dataset_full", "update with protocol-specified dataset (both named and default graphs)",
         params=[("using-graph-uri", DATA), ("using-named-graph-uri", INF)], content_type=U, update=True,
         body=_update_body("http://example.org/protocol-update-dataset-full-test/",
                           "{ GRAPH ?g { ?s a foaf:Document } } UNION { ?s a foaf:Document }"),
         follow_up=_written("http://example.org/protocol-update-dataset-full-test/")),
    Case("update_post_form", "update via URL-encoded POST", body=form(update="CLEAR ALL"), content_type=F,
         update=True, follow_up=f"ASK {{ GRAPH <{DATA}> {{ <{WARD}> a <{ASSERTED}> }} }}", follow_up_answer=True),
    Case("update_post_direct", "update via POST directly", body=b"CLEAR ALL", content_type=U, update=True,
         follow_up=f"ASK {{ GRAPH <{DATA}> {{ <{WARD}> a <{ASSERTED}> }} }}", follow_up_answer=True),
    Case("update_base_uri", 'test for service-defined BASE URI ("which MAY be the service endpoint")',
         content_type=U, update=True,
         body=b"CLEAR SILENT GRAPH <http://example.org/protocol-base-test/> ;\n"
              b"INSERT DATA { GRAPH <http://example.org/protocol-base-test/> "
              b"{ <http://example.org/s> <http://example.org/p> <test> } }",
         follow_up=_written("http://example.org/protocol-base-test/")),
    Case("query_post_direct", "query via POST directly", body=b"ASK {}", content_type=Q),
    Case("bad_query_method", "invoke query operation with a method other than GET or POST", method="PUT",
         params=[("query", "ASK {}"), ("default-graph-uri", DATA)], content_type=F, expect="4xx"),
    Case("bad_multiple_queries", "invoke query operation with more than one query string", method="GET",
         params=[("query", "ASK {}"), ("query", "SELECT * {}")], expect="4xx"),
    Case("bad_query_wrong_media_type",
         "invoke query operation with a POST with media type that's not url-encoded or application/sparql-query",
         body=b"ASK {}", content_type="text/plain", expect="4xx"),
    Case("bad_query_missing_form_type",
         "invoke query operation with url-encoded body, but without application/x-www-form-urlencoded media type",
         body=b"query=ASK%20%7B%7D", expect="4xx"),
    Case("bad_query_missing_direct_type",
         "invoke query operation with SPARQL body, but without application/sparql-query media type",
         body=b"ASK {}", expect="4xx"),
    Case("bad_query_non_utf8", "invoke query operation with direct POST, but with a non-UTF8 encoding (UTF-16)",
         body="ASK {}".encode("utf-16"), content_type="application/sparql-query; charset=UTF-16", expect="4xx"),
    Case("bad_query_syntax", "invoke query operation with invalid query syntax (4XX result)", method="GET",
         params=[("query", "ASK {")], expect="4xx"),
    Case("bad_update_get", "invoke update operation with GET", method="GET", params=[("update", "CLEAR ALL")],
         expect="4xx", update=True),
    Case("bad_multiple_updates", "invoke update operation with more than one update string",
         body=b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT", content_type=F, expect="4xx", update=True),
    Case("bad_update_wrong_media_type",
         "invoke update operation with a POST with media type that's not url-encoded or application/sparql-update",
         body=b"CLEAR NAMED", content_type="text/plain", expect="4xx", update=True),
    Case("bad_update_missing_form_type",
         "invoke update operation with url-encoded body, but without application/x-www-form-urlencoded media type",
         body=b"update=CLEAR%20NAMED", expect="4xx", update=True),
    Case("bad_update_non_utf8", "invoke update operation with direct POST, but with a non-UTF8 encoding",
         body="CLEAR NAMED".encode("utf-16"), content_type="application/sparql-update; charset=UTF-16",
         expect="4xx", update=True),
    Case("bad_update_syntax", "invoke update operation with invalid update syntax", body=b"update=CLEAR%20XYZ",
         content_type=F, expect="4xx", update=True),
    Case("bad_update_dataset_conflict",
         "invoke update with both using-graph-uri/using-named-graph-uri parameter and USING/WITH clause",
         params=[("using-named-graph-uri", "http://example/people")], content_type=U, expect="4xx", update=True,
         body=b"PREFIX foaf:  <http://xmlns.com/foaf/0.1/>\nWITH <http://example/addresses>\n"
              b"DELETE { ?person foaf:givenName 'Bill' }\nINSERT { ?person foaf:givenName 'William' }\n"
              b"WHERE {\n    ?person foaf:givenName 'Bill'\n}"),
]


def test_every_manifest_entry_is_here_once():
    """The 34 entries of the manifest's mf:entries list, in its order."""
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) == 34
    assert names[0] == "query_post_form" and names[-1] == "bad_update_dataset_conflict"


def send(server, case: Case, body: bytes | None = None, params: list | None = None) -> httpx.Response:
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    # httpx adds no Content-Type for raw bytes, so the "missing type" cases really send none.
    return httpx.request(case.method, f"{server.url}/sparql", params=params if params is not None else case.params,
                         content=body if body is not None else case.body, headers=headers, timeout=30)


def parse(r: httpx.Response) -> object:
    """Parse a 2xx body in its declared media type; return the boolean of an ASK, else the parsed body."""
    media = r.headers["content-type"].split(";")[0].strip()
    if media == "application/sparql-results+json":
        doc = json.loads(r.content.decode("utf-8"))
        assert "head" in doc and ("boolean" in doc or "bindings" in doc["results"]), doc
        return doc.get("boolean", doc)
    if media == "application/sparql-results+xml":
        root = ElementTree.fromstring(r.content)
        assert root.tag == f"{SRX}sparql", root.tag
        boolean = root.find(f"{SRX}boolean")
        return root if boolean is None else boolean.text == "true"
    if media in ("text/csv", "text/tab-separated-values"):
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8")),
                               delimiter="," if media == "text/csv" else "\t"))
        assert rows, "empty table"
        return rows
    if media in RDF_FORMATS:
        if media == "application/trig":
            return Dataset().parse(data=r.content, format="trig")
        return Graph().parse(data=r.content, format=RDF_FORMATS[media])
    raise AssertionError(f"undeclared or unknown media type {media!r}")


def snapshot(server) -> tuple:
    """Quads per named graph and the dataset version: what an update would change."""
    q = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
    r = httpx.get(f"{server.url}/sparql", params={"query": q}, headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200, r.text
    counts = tuple((b["g"]["value"], int(b["n"]["value"])) for b in r.json()["results"]["bindings"])
    health = httpx.get(f"{server.url}/healthz").json()
    return counts, health["version"], json.dumps(health["triples"], sort_keys=True)


@pytest.fixture(scope="module")
def before(server) -> tuple:
    return snapshot(server)


@EVERY_SERVER
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_w3c_protocol(server, graphs: Graphs, before: tuple, case: Case):
    r = send(server, case)
    if case.expect == "4xx" or case.update:
        assert 400 <= r.status_code < 500, (case.name, r.status_code, r.text)
        assert snapshot(server) == before, f"{case.name} changed the data"
        if case.follow_up:
            check = httpx.post(f"{server.url}/sparql", content=case.follow_up.encode(),
                               headers={"Content-Type": Q, "Accept": "application/sparql-results+json"})
            assert check.status_code == 200, check.text
            assert parse(check) is case.follow_up_answer, case.name
        return
    assert 200 <= r.status_code < 400, (case.name, r.status_code, r.text)
    if r.status_code >= 300:
        return
    media = r.headers["content-type"].split(";")[0].strip()
    body = parse(r)
    if case.expect == "boolean":
        assert media in BOOLEAN, media
        expected = case.answer(graphs) if callable(case.answer) else case.answer
        assert body is expected, (case.name, body)
    elif case.expect == "tabular":
        assert media in TABULAR, media
        assert "1" in r.text
    else:
        assert media in RDF_RESULT, media
        if b"<s>" in (case.body or b""):  # relative IRIs resolve against the service's base (Protocol 2.3)
            assert len(body) == 1
            (s, p, o), = body
            assert str(s) == f"{server.url}/s" and str(p) == f"{server.url}/p" and o.toPython() == 1


@EVERY_SERVER
@pytest.mark.parametrize("accept", list(RDF_FORMATS) + list(TABULAR))
def test_every_2xx_body_parses_in_its_media_type(server, accept: str):
    """The manifest's content-type tests, once per format we offer."""
    query = "SELECT (1 AS ?value) {}" if accept in TABULAR else "CONSTRUCT { <s> <p> 1 } WHERE {}"
    r = httpx.post(f"{server.url}/sparql", content=query.encode(), headers={"Content-Type": Q, "Accept": accept})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].split(";")[0] == accept
    parse(r)


@EVERY_SERVER
def test_the_dataset_tests_can_fail(server, graphs: Graphs):
    """Controls for the dataset cases: with only the data graph, the inferred type is not there."""
    assert default_pair(graphs, [DATA]) is False and named_pair(graphs, [DATA]) is False
    assert default_pair(graphs, [DATA, INF]) is True
    r = httpx.get(f"{server.url}/sparql", params=[("query", DEFAULT_PAIR), ("default-graph-uri", DATA)])
    assert r.status_code == 200 and parse(r) is False
    r = httpx.post(f"{server.url}/sparql", params=[("named-graph-uri", DATA)], content=NAMED_PAIR.encode(),
                   headers={"Content-Type": Q})
    assert r.status_code == 200 and parse(r) is False
    r = httpx.post(f"{server.url}/sparql", params=[("named-graph-uri", ONTO)], content=MULTIPLE.encode(),
                   headers={"Content-Type": Q})
    assert r.status_code == 200 and parse(r) is False


@EVERY_SERVER
def test_syntax_error_positions_are_the_clients(server):
    """The service-defined BASE is added in front of the query; error positions still count the client's lines."""
    r = httpx.get(f"{server.url}/sparql", params={"query": "ASK {\n  ?s ?p }"})
    assert r.status_code == 400
    assert "error at 2:" in r.text, r.text


@EVERY_SERVER
def test_the_server_is_the_one_asked_for(server, server_name, loop_name):
    """What /healthz reports: these tests ran under the HTTP server and event loop their id names."""
    health = httpx.get(f"{server.url}/healthz").json()
    assert (health["server"], health["loop"]) == (server_name, loop_name)
