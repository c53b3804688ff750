"""/ontology documents itself: the ontology's metadata and every kind of axiom it states, in ja and en.

Expected values are read from ontology/kg.ttl and the built data with rdflib/pyoxigraph, not
from the page's own code; the application runs in process.
"""

from __future__ import annotations

import html
import re

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DC, DCTERMS, OWL, RDF, RDFS

from kg.namespaces import KGO, SCHEMA

from .conftest import ROOT

ONTOLOGY = Graph().parse(ROOT / "ontology" / "kg.ttl")
HEADER = next(ONTOLOGY.subjects(RDF.type, OWL.Ontology))
SECTIONS = {  # axiom predicate → the section heading in (ja, en)
    OWL.equivalentClass: ("同値クラス", "Equivalent classes"),
    OWL.disjointWith: ("互いに素なクラス", "Disjoint classes"),
    OWL.inverseOf: ("逆プロパティ", "Inverse properties"),
    RDFS.subPropertyOf: ("下位プロパティ", "Subproperties"),
    RDFS.subClassOf: ("下位クラス", "Subclasses"),
}


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


def _items(page: str, heading: str) -> list[str]:
    """The text of each list item in the section headed ``heading``."""
    match = re.search(rf"<h3>{re.escape(heading)}</h3>\s*<ul[^>]*>(.*?)</ul>", page, re.S)
    assert match, f"no section {heading!r}"
    return [_text(li) for li in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)]


def _label(node, lang: str) -> str:
    return next(str(o) for o in ONTOLOGY.objects(node, RDFS.label) if o.language == lang)


def _curie(node) -> str:
    return "kgo:" + str(node)[len(str(KGO)):]


@pytest.fixture(scope="module", params=["ja", "en"])
def page(request, client) -> tuple[str, str]:
    r = client.get("/ontology", params={"lang": request.param}, headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    return request.param, r.text


def test_metadata_is_shown(page):
    lang, body = page
    text = _text(body)
    for p in (DCTERMS.title, DCTERMS.description):
        assert str(next(o for o in ONTOLOGY.objects(HEADER, p) if o.language == lang)) in text
    for p in (OWL.versionInfo, OWL.versionIRI, DCTERMS.license, DC.creator, SCHEMA.dateCreated, SCHEMA.dateModified):
        values = list(ONTOLOGY.objects(HEADER, p))
        assert values, f"the ontology header states no {p}"
        for value in values:
            shown = str(value) if isinstance(value, Literal | URIRef) else None
            if isinstance(value, URIRef) and (value, RDFS.label, None) in ONTOLOGY:
                shown = _label(value, lang)
            assert shown and shown in text, f"{p} {value} not on the {lang} page"


def test_equivalent_classes_are_spelled_out(page, store):
    lang, body = page
    items = _items(body, SECTIONS[OWL.equivalentClass][lang == "en"])
    assert "HasType" not in body
    expected = []
    for cls, restriction in ONTOLOGY.subject_objects(OWL.equivalentClass):
        prop = ONTOLOGY.value(restriction, OWL.onProperty)
        value = ONTOLOGY.value(restriction, OWL.hasValue)
        key = str(value).rsplit("/", 1)[-1]
        label = next(str(row["l"].value) for row in store.query(
            f"SELECT ?l WHERE {{ GRAPH ?g {{ <{value}> <{RDFS.label}> ?l }} FILTER(lang(?l) = '{lang}') }}"))
        expected.append(f"{_curie(cls)} {_label(cls, lang)} ≡ {_label(prop, lang)} = {key} {label}")
    assert sorted(expected) == sorted(items)
    assert len(items) == 3


@pytest.mark.parametrize("predicate", [OWL.disjointWith, OWL.inverseOf, RDFS.subPropertyOf, RDFS.subClassOf])
def test_every_axiom_of_each_kind_is_listed(page, predicate):
    lang, body = page
    items = _items(body, SECTIONS[predicate][lang == "en"])
    stated = [(s, o) for s, o in ONTOLOGY.subject_objects(predicate) if isinstance(s, URIRef) and isinstance(o, URIRef)]
    assert stated
    symmetric = predicate in (OWL.disjointWith, OWL.inverseOf)
    for s, o in stated:
        names = [_curie(x) if str(x).startswith(str(KGO)) else None for x in (s, o)]
        found = [i for i in items if all(n is None or re.search(re.escape(n) + r"\b", i) for n in names)]
        if not str(o).startswith(str(KGO)):  # an external super-term: shown by its prefixed name
            found = [i for i in items if i.startswith(names[0] + " ")]
        assert found, f"{s} {predicate} {o} not listed on the {lang} page"
    if symmetric:
        pairs = {frozenset((s, o)) for s, o in stated}
        assert len(items) == len(pairs)


def test_page_speaks_its_language(page):
    lang, body = page
    if lang == "ja":
        assert "公理" in body and _label(KGO.TourismResource, "ja") in body
    else:
        assert "Axioms" in body and _label(KGO.TourismResource, "en") in body


def test_rdf_answers_are_unchanged(client):
    r = client.get("/ontology", headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.content == (ROOT / "ontology" / "kg.ttl").read_bytes()


@pytest.mark.parametrize("core", [False, True])
def test_standalone_shapes_are_served_as_the_cli_prints_them(client, core):
    """What JavaScript engines need, from a running server: /shapes?standalone=1[&core=1] = kg shapes --standalone [--core]."""
    import subprocess
    import sys

    from rdflib.compare import isomorphic
    from rdflib.namespace import SH

    params = {"standalone": "1", **({"core": "1"} if core else {})}
    r = client.get("/shapes", params=params, headers={"Accept": "text/turtle"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/turtle")
    served = Graph().parse(data=r.text, format="turtle")
    flags = ["--standalone", *(["--core"] if core else [])]
    printed = subprocess.run([sys.executable, "-m", "kg.cli", "shapes", *flags], capture_output=True, check=True)
    assert isomorphic(served, Graph().parse(data=printed.stdout.decode("utf-8"), format="turtle"))
    assert not list(served.triples((None, OWL.imports, None)))
    assert bool(list(served.triples((None, SH.sparql, None)))) is not core
    plain = Graph().parse(data=client.get("/shapes", headers={"Accept": "text/turtle"}).text, format="turtle")
    assert list(plain.triples((None, OWL.imports, None)))  # the published shapes themselves are unchanged
