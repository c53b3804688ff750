"""Fast engines give the reference engines' results (owlrl ↔ reasonable, pyshacl ↔ shacl).

Documented differences (README, "Engines"): the Rust validator did not apply a typed
xsd:date comparison inside SPARQL constraints, so our shapes compare ISO dates lexically,
which both engines do; its messages carry no language tag (ja is told from en by script).
`reasonable` returns xsd:string-typed literals, normalised to simple literals, and derives
no ontology-level (TBox) entailments, which the inferred graph leaves out for both engines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from kg.pipeline.builder import choose_engines
from kg.pipeline.reasoning import infer
from kg.validation.shacl import run_validation

from .conftest import FIXTURES

INVALID = sorted((FIXTURES / "invalid").glob("*.ttl"))


def _key(report):
    return {(v.focus, v.node_shape, v.component) for v in report.violations}


def test_reasoners_agree_on_our_data(graphs):
    reference = graphs.inferred
    fast = infer(graphs.ontology, graphs.data, "reasonable")
    missing = set(reference) - set(fast)
    extra = set(fast) - set(reference)
    assert not missing, sorted(missing)[:5]
    assert not extra, sorted(extra)[:5]


@pytest.fixture(scope="module")
def shapes(settings):
    return Graph().parse(settings.ontology_dir / "shapes.ttl")


def test_validators_agree_on_our_data(graphs, shapes, build_report, settings):
    data = graphs.data + graphs.ontology
    # pySHACL's verdict on this data and these shapes is the session build's report (the build validates with it)
    _, reference = build_report
    assert choose_engines(settings, len(graphs.data)).validator == "pyshacl"  # auto: the reference on our data
    assert reference is not None and reference.conforms
    assert run_validation(data, shapes, engine="shacl").conforms


@pytest.mark.parametrize("fixture", INVALID, ids=[p.stem for p in INVALID])
def test_validators_agree_on_mutated_inputs(fixture: Path, shapes, graphs):
    data = Graph().parse(fixture) + graphs.ontology
    reference = run_validation(data, shapes, engine="pyshacl")
    fast = run_validation(data, shapes, engine="shacl")
    assert reference.conforms == fast.conforms
    assert _key(reference) == _key(fast)
    for v in fast.violations:
        assert v.message_en and v.message_ja


def test_reasoners_agree_on_mutated_data(graphs):
    # Drop every resource's type link for one type and add a new one: both engines must follow.
    from rdflib import URIRef

    from kg.namespaces import KGO, entity
    data = Graph()
    for t in graphs.data:
        data.add(t)
    r = entity("regional-resource", "nerimadaikon")
    data.remove((r, KGO.resourceType, None))
    data.add((r, KGO.resourceType, URIRef("https://w3id.org/tokyo-sme-kg/id/resource-type/tourism")))
    a = infer(graphs.ontology, data, "owlrl")
    b = infer(graphs.ontology, data, "reasonable")
    assert set(a) == set(b)
    from rdflib.namespace import RDF
    assert (r, RDF.type, KGO.TourismResource) in a
    assert (r, RDF.type, KGO.FarmForestFisheryResource) not in a
