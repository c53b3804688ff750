"""Dereferenced RDF in the order linked-data browsers use; pages without ``None``; schema.org JSON-LD."""

from __future__ import annotations

import copy
import json
import re
from collections import defaultdict

import httpx
import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, SH

from kg.namespaces import KGO

from .conftest import ROOT as PROJECT_ROOT

ENTITIES = ["/id/municipality/131016", "/id/program/smrj-kodoka", "/id/law/419ac0000000039", "/id/source/003",
            "/id/organization/tiri"]
BASE = "https://w3id.org/tokyo-sme-kg"


def _get(client, path: str, accept: str) -> httpx.Response:
    r = client.get(f"{client.url}{path}", headers={"Accept": accept})
    assert r.status_code == 200, (path, r.text)
    assert r.headers["content-type"].startswith(accept)
    return r


def _statements(turtle: str) -> list[str]:
    """Subjects of the top-level statements, in order (a statement starts at column 0)."""
    return [line.split()[0] for line in turtle.splitlines() if line and not line[0].isspace()
            and not line.startswith("@prefix")]


@pytest.mark.parametrize("path", ENTITIES)
def test_turtle_starts_with_the_entity_grouped_and_minimal(client, path: str):
    r = _get(client, path, "text/turtle")
    text = r.text
    subjects = _statements(text)
    assert subjects[0] == f"<{BASE}{path}>"
    assert len(subjects) == len(set(subjects)), "each subject's triples are together"
    prefixes = re.findall(r"^@prefix (\w+): ", text, re.M)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("@prefix"))
    for p in prefixes:
        assert f"{p}:" in body, f"prefix {p} declared but not used"
    assert "\\/" not in text and "\\#" not in text
    same = client.get(f"{client.url}{path}", headers={"Accept": "text/turtle"})
    assert same.content == r.content
    g = Graph().parse(data=text, format="turtle")
    reference = Graph().parse(data=_get(client, path, "application/rdf+xml").text, format="xml")
    assert isomorphic(g, reference)


@pytest.mark.parametrize("path", ENTITIES[:2])
def test_jsonld_and_trig_same_graph_entity_first(client, path: str):
    turtle = Graph().parse(data=_get(client, path, "text/turtle").text, format="turtle")
    doc = _get(client, path, "application/ld+json").json()
    assert doc["@graph"][0]["@id"] == f"{BASE}{path}"
    ids = [n["@id"] for n in doc["@graph"]]
    assert len(ids) == len(set(ids))
    text = json.dumps(doc)
    for prefix in doc["@context"]:
        assert f'"{prefix}:' in text, f"context prefix {prefix} unused"
    assert isomorphic(Graph().parse(data=json.dumps(doc), format="json-ld"), turtle)
    trig = _get(client, path, "application/trig").text
    ds = Dataset()
    ds.parse(data=trig, format="trig")
    assert isomorphic(Graph().parse(data=trig, format="turtle"), turtle)


def test_property_shapes_have_iris():
    shapes = Graph().parse(PROJECT_ROOT / "ontology" / "shapes.ttl")
    property_shapes = set(shapes.objects(None, SH.property))
    assert property_shapes and all(isinstance(s, URIRef) for s in property_shapes)
    assert all((s, RDF.type, SH.PropertyShape) in shapes for s in property_shapes)


PAGES = ["/", "/dataset", "/dumps/", "/ontology", "/shapes", "/api/queries", *ENTITIES, "/id/source/ref",
         "/id/municipality/131016#source-ref".split("#")[0], "/id/program/small-commerce-vitality",
         "/id/law/shotengai-kasseika-bill"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_html_pages_never_show_none(client, path: str, lang: str):
    r = client.get(f"{client.url}{path}", headers={"Accept": "text/html", "Accept-Language": lang})
    assert r.status_code == 200, (path, r.status_code)
    visible = re.sub(r"<script.*?</script>", "", r.text, flags=re.S)
    assert not re.search(r">\s*None\s*<", visible), path
    assert "None" not in re.sub(r"<[^>]+>", " ", visible), path


def test_sources_panel_labels_its_classes(client):
    r = client.get(f"{client.url}/id/municipality/131016", headers={"Accept": "text/html", "Accept-Language": "ja"})
    assert "出典参照" in r.text  # kgo:SourceCitation by its label
    assert "prov:Derivation" in r.text  # an external class without a label in the data: its prefixed name


def test_every_fragment_hangs_off_its_entity_and_is_on_its_page(client, store):
    """An entity's page finds its ``#…`` fragments (citations) through its links out, not by reading every
    subject in the store: that holds only while every fragment in the data is linked from its entity."""
    fragments = defaultdict(set)
    for quad in store.quads_for_pattern(None, None, None, None):
        s = quad.subject
        if isinstance(s, ox.NamedNode) and "#" in s.value and s.value.startswith(f"{BASE}/id/"):
            fragments[s.value.split("#", 1)[0]].add(s.value)
    assert sum(len(f) for f in fragments.values()) > 500
    for entity, own in fragments.items():
        linked = {q.object.value for q in store.quads_for_pattern(ox.NamedNode(entity), None, None, None)
                  if isinstance(q.object, ox.NamedNode)}
        assert own <= linked, entity
    for entity in sorted(fragments)[:: max(1, len(fragments) // 25)]:  # the pages of a sample of them
        path = entity.removeprefix(BASE)
        turtle = Graph().parse(data=_get(client, path, "text/turtle").text, format="turtle")
        assert {str(s) for s in turtle.subjects() if "#" in str(s)} >= fragments[entity], entity
        html = client.get(f"{client.url}{path}", headers={"Accept": "text/html"}).text
        assert all(f"<code>#{f.split('#', 1)[1]}</code>" in html for f in fragments[entity]), entity


def _schema_blocks(html: str) -> list[dict]:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    return [json.loads(b) for b in blocks]


@pytest.mark.parametrize("path", ["/", "/dataset"])
def test_schema_org_dataset_jsonld(client, path: str):
    r = client.get(f"{client.url}{path}", headers={"Accept": "text/html"})
    (doc,) = _schema_blocks(r.text)
    assert doc["@context"] == "https://schema.org/" and doc["@type"] == "Dataset"
    for key in ("name", "description", "license", "creator", "distribution", "spatialCoverage", "temporalCoverage"):
        assert doc[key], key
    assert doc["temporalCoverage"] == "2008-04-01/2026-03-31"  # from FY2008 (000 1 (1): the guideline of 平成20年度～22年度)
    assert doc["spatialCoverage"]["name"] == "東京都"
    urls = [d["contentUrl"] for d in doc["distribution"]]
    assert {u.rsplit("/", 1)[-1] for u in urls} >= {"kg.ttl", "kg.nt", "kg.jsonld", "kg.trig"}
    for url in urls:
        assert client.head(url).status_code in (200, 405) or client.get(url).status_code == 200
    # As JSON-LD: schema.org's context, offline, is (for these terms) the vocabulary itself.
    local = copy.deepcopy(doc)
    local["@context"] = {"@vocab": "https://schema.org/"}
    g = Graph().parse(data=json.dumps(local), format="json-ld")
    SDO = "https://schema.org/"
    datasets = list(g.subjects(RDF.type, URIRef(SDO + "Dataset")))
    assert datasets == [URIRef(f"{BASE}/dataset")]
    assert len(list(g.objects(datasets[0], URIRef(SDO + "distribution")))) == len(urls)


def test_summary_term_in_ontology_page(client):
    r = client.get(f"{client.url}/ontology", headers={"Accept": "text/html", "Accept-Language": "en"})
    assert "summary (written by this project)" in r.text
    assert str(KGO.summary).rsplit("#", 1)[-1] in r.text
