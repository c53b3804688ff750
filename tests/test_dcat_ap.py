"""The dataset description (dist/void.ttl, /.well-known/void, /dataset) against the DCAT-AP 3.0.0 shapes.

The shapes are SEMIC's, unchanged, in ../shared/reference/dcat-ap/ (CI has that folder; without it
the validation tests skip and say why). Portals validate both with RDFS inference and without, so
both are checked here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SH, XSD

from kg.namespaces import DATASET_IRI, VCARD

from .conftest import ROOT as PROJECT_ROOT

SHAPES = PROJECT_ROOT.parent / "shared" / "reference" / "dcat-ap" / "dcat-ap-3.0.0-SHACL.ttl"
needs_shapes = pytest.mark.skipif(
    not SHAPES.exists(), reason=f"needs the DCAT-AP 3.0.0 shapes at {SHAPES} (the ../shared folder CI provides)"
)


@pytest.fixture(scope="module")
def dcat_ap_shapes() -> Graph:
    return Graph().parse(SHAPES, format="turtle")


def _violations(data: Graph, shapes: Graph, inference: str) -> list[str]:
    conforms, report, _ = validate(data, shacl_graph=shapes, inference=inference)
    messages = sorted(
        f"{report.value(r, SH.focusNode)} {report.value(r, SH.resultPath)}: {report.value(r, SH.resultMessage)}"
        for r in report.subjects(RDF.type, SH.ValidationResult)
    )
    assert conforms == (not messages)
    return messages


def _served(client, path: str) -> Graph:
    r = client.get(f"{client.url}{path}", headers={"Accept": "text/turtle"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/turtle")
    return Graph().parse(data=r.text, format="turtle")


@needs_shapes
@pytest.mark.parametrize("inference", ["rdfs", "none"])
def test_built_description_conforms(built: Path, dcat_ap_shapes: Graph, inference: str):
    assert _violations(Graph().parse(built / "void.ttl"), dcat_ap_shapes, inference) == []


@needs_shapes
@pytest.mark.parametrize("path", ["/.well-known/void", "/dataset"])
@pytest.mark.parametrize("inference", ["rdfs", "none"])
def test_served_description_conforms(client, dcat_ap_shapes: Graph, path: str, inference: str):
    assert _violations(_served(client, path), dcat_ap_shapes, inference) == []


@needs_shapes
def test_the_shapes_do_catch_untyped_values(built: Path, dcat_ap_shapes: Graph):
    """The check can fail: drop the class of the licence and the shapes report it."""
    g = Graph().parse(built / "void.ttl")
    licence = next(g.objects(DATASET_IRI, DCTERMS.license))
    g.remove((licence, RDF.type, None))
    found = _violations(g, dcat_ap_shapes, "rdfs")
    assert found and all("license" in m for m in found)


def test_recommended_properties_we_can_state(built: Path):
    g = Graph().parse(built / "void.ttl")
    ds = DATASET_IRI
    publisher = g.value(ds, DCTERMS.publisher)
    assert publisher is not None and {o.language for o in g.objects(publisher, FOAF.name)} == {"ja", "en"}
    contact = g.value(ds, DCAT.contactPoint)
    assert (contact, RDF.type, VCARD.Kind) in g and g.value(contact, VCARD.hasURL) is not None
    assert {k.language for k in g.objects(ds, DCAT.keyword)} == {"ja", "en"}
    spatial = g.value(ds, DCTERMS.spatial)
    assert str(spatial).endswith("/id/prefecture/130001")
    period = g.value(ds, DCTERMS.temporal)
    # The plans' periods run from FY2008 (000 1 (1): Tokyo's guideline for 平成20年度～22年度) to FY2025
    # (001: 令和5年度～令和7年度).
    assert g.value(period, DCAT.startDate) == Literal("2008-04-01", datatype=XSD.date)
    assert g.value(period, DCAT.endDate) == Literal("2026-03-31", datatype=XSD.date)
    for p in (DCTERMS.issued, DCTERMS.modified):
        assert g.value(ds, p).datatype == XSD.date
    assert URIRef("https://semiceu.github.io/DCAT-AP/releases/3.0.0/") in set(g.objects(ds, DCTERMS.conformsTo))
    assert str(g.value(ds, DCTERMS.accessRights)).endswith("/access-right/PUBLIC")
    distributions = list(g.objects(ds, DCAT.distribution))
    files = json.loads((built / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert {str(d).rsplit("/", 1)[-1] for d in distributions} == set(files)  # every dump, void.ttl included
    for dist in distributions:
        assert g.value(dist, DCTERMS.license) is not None, dist
        assert g.value(dist, DCAT.mediaType) is not None, dist
