"""Saved-query API, linked-data pages, dumps and metadata through the application (in process)."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT, VOID

TAITO = "/id/municipality/131067"


def test_saved_query_list_json_and_html(client):
    items = client.get(f"{client.url}/api/queries").json()
    names = {i["name"] for i in items}
    assert {"shared-resources", "label-search", "resources-per-municipality"} <= names
    shared = next(i for i in items if i["name"] == "shared-resources")
    assert shared["params"][0] == {"name": "min", "type": "integer", "default": "2", "description": "Least number of municipalities"}
    html = client.get(f"{client.url}/api/queries", headers={"Accept": "text/html"})
    assert html.headers["content-type"].startswith("text/html") and "保存クエリ" in html.text


def test_each_saved_query_is_an_openapi_operation(client):
    spec = client.get(f"{client.url}/openapi.json").json()
    op = spec["paths"]["/api/queries/shared-resources"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert params["min"]["schema"]["anyOf"][0]["type"] == "integer"
    assert op["operationId"] == "saved_shared_resources"
    assert "/api/queries/label-search" in spec["paths"]
    assert client.get(f"{client.url}/docs").status_code == 200


def test_run_saved_query_with_typed_parameters(client):
    r = client.get(f"{client.url}/api/queries/shared-resources", params={"min": 9})
    names = {b["name"]["value"] for b in r.json()["results"]["bindings"]}
    assert names == {"東京地酒(清酒)", "計測・分析機器", "てんぐさ"}
    assert client.get(f"{client.url}/api/queries/shared-resources", params={"min": "nine"}).status_code == 422
    csv_text = client.get(f"{client.url}/api/queries/shared-resources", params={"min": 9, "format": "csv"}).text
    assert csv_text.splitlines()[0].startswith("resource,name")
    page = client.get(f"{client.url}/api/queries/shared-resources", params={"min": 9}, headers={"Accept": "text/html"})
    assert "てんぐさ" in page.text


@pytest.mark.parametrize("value", ['"} } SELECT * WHERE { ?s ?p ?o } #', "> . ?s ?p ?o . <", "x' || true || '", "\\u0022"])
def test_injection_through_parameters(client, value):
    r = client.get(f"{client.url}/api/queries/label-search", params={"text": value})
    assert r.status_code == 200
    assert r.json()["results"]["bindings"] == []


def test_entity_html_in_both_languages(client):
    ja = client.get(f"{client.url}{TAITO}", headers={"Accept": "text/html"})
    assert ja.status_code == 200 and "<h1>台東区</h1>" in ja.text
    assert "江戸切子" in ja.text or "江戸指物" in ja.text  # incoming links with labels
    assert 'href="/id/prefecture/130001"' in ja.text
    assert "shared-resources" in ja.text or "resources-per-municipality" in ja.text  # related saved queries
    en = client.get(f"{client.url}{TAITO}", headers={"Accept": "text/html", "Accept-Language": "en-US,en;q=0.9"})
    assert "<h1>Taito-ku</h1>" in en.text
    assert "Content-Security-Policy" in en.headers


@pytest.mark.parametrize("accept,fmt", [("text/turtle", "turtle"), ("application/n-triples", "nt"),
                                        ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml")])
def test_entity_rdf(client, accept, fmt):
    r = client.get(f"{client.url}{TAITO}", headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["content-type"].startswith(accept)
    g = Graph().parse(data=r.text, format=fmt)
    taito = URIRef("https://w3id.org/tokyo-sme-kg" + TAITO)
    assert (taito, None, None) in g  # outgoing
    assert (None, None, taito) in g  # incoming
    assert len(set(g.objects(taito, URIRef("http://www.w3.org/2000/01/rdf-schema#label")))) == 2


def test_format_override_and_unknown(client):
    assert client.get(f"{client.url}{TAITO}", params={"format": "nt"}).headers["content-type"].startswith(
        "application/n-triples")
    assert client.get(f"{client.url}/id/municipality/999999", headers={"Accept": "text/turtle"}).status_code == 404
    assert client.get(f"{client.url}/id/municipality/999999", headers={"Accept": "text/html"}).status_code == 404
    assert client.get(f"{client.url}/id/nothing/../../etc/passwd").status_code == 404


def test_every_iri_kind_dereferences(client):
    for path in ("/id/regional-resource/miharayama-hachijo", "/id/law/419ac0000000039", "/id/source/000",
                 "/id/resource-type/tourism", "/id/basic-concept/tokyo-basic-concept-regional-resources",
                 "/id/prefecture/130001", "/id/scheme/topics", "/graph/data"):
        r = client.get(f"{client.url}{path}", headers={"Accept": "text/turtle"})
        assert r.status_code == 200 and len(r.text) > 50, path


def test_ontology_and_shapes_documents(client):
    html = client.get(f"{client.url}/ontology", headers={"Accept": "text/html"})
    assert "kgo:RegionalResource" in html.text and "地域産業資源" in html.text
    ttl = client.get(f"{client.url}/ontology", headers={"Accept": "text/turtle"})
    assert len(Graph().parse(data=ttl.text, format="turtle")) > 500
    shapes = client.get(f"{client.url}/shapes", headers={"Accept": "text/turtle"})
    assert "sh:NodeShape" in shapes.text
    assert "kgs:RegionalResourceShape" in client.get(f"{client.url}/shapes", headers={"Accept": "text/html"}).text


def test_dumps_listing_and_conditional_get(client):
    listing = client.get(f"{client.url}/dumps/").json()
    files = {f["name"]: f for f in listing["files"]}
    assert {"kg.ttl", "kg.nt", "kg.jsonld", "kg.trig", "void.ttl"} <= set(files)
    r = client.get(f"{client.url}/dumps/kg.nt", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip"
    import hashlib
    assert hashlib.sha256(r.content).hexdigest() == files["kg.nt"]["sha256"]
    assert client.get(f"{client.url}/dumps/kg.nt", headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    assert client.get(f"{client.url}/dumps/kg.nt",
                     headers={"If-Modified-Since": r.headers["last-modified"]}).status_code == 304
    assert client.get(f"{client.url}/dumps/nope.ttl").status_code == 404
    raw = client.get(f"{client.url}/dumps/kg.ttl", headers={"Accept-Encoding": "gzip"})
    assert raw.headers.get("content-encoding") == "gzip" and raw.text.startswith("@prefix")


def test_void_and_dataset(client):
    for path in ("/.well-known/void", "/dataset"):
        g = Graph().parse(data=client.get(f"{client.url}{path}", headers={"Accept": "text/turtle"}).text,
                          format="turtle")
        ds = URIRef("https://w3id.org/tokyo-sme-kg/dataset")
        assert g.value(ds, VOID.sparqlEndpoint) == URIRef(f"{client.url}/sparql")
        dumps = set(g.objects(ds, VOID.dataDump))
        assert URIRef(f"{client.url}/dumps/kg.nt") in dumps
        assert any(g.triples((None, DCAT.downloadURL, URIRef(f"{client.url}/dumps/kg.ttl"))))
    html = client.get(f"{client.url}/dataset", headers={"Accept": "text/html"})
    assert "VoID" in html.text
