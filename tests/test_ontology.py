"""The ontology document: metadata, bilingual terms, domains and ranges, alignments."""

from __future__ import annotations

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from kg.namespaces import KGO, ONTOLOGY_IRI


def _langs(g: Graph, s, p) -> set[str]:
    return {o.language for o in g.objects(s, p)}


def test_ontology_header(graphs):
    g = graphs.ontology
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in g
    assert g.value(ONTOLOGY_IRI, OWL.versionIRI) is not None
    assert g.value(ONTOLOGY_IRI, DCTERMS.license) == URIRef("https://creativecommons.org/licenses/by/4.0/")
    assert _langs(g, ONTOLOGY_IRI, DCTERMS.title) == {"ja", "en"}
    assert _langs(g, ONTOLOGY_IRI, DCTERMS.description) == {"ja", "en"}


def test_terms_bilingual_with_domain_and_range(graphs):
    g = graphs.ontology
    terms = {s for s in g.subjects() if isinstance(s, URIRef) and str(s).startswith(str(KGO))}
    assert len(terms) > 90
    for t in terms:
        if (t, RDF.type, OWL.Restriction) in g:
            continue
        assert _langs(g, t, RDFS.label) == {"ja", "en"}, t
        assert _langs(g, t, SKOS.definition) == {"ja", "en"}, t
        if (t, RDF.type, OWL.ObjectProperty) in g or (t, RDF.type, OWL.DatatypeProperty) in g:
            assert g.value(t, RDFS.domain) is not None and g.value(t, RDFS.range) is not None, t


def test_alignments(graphs):
    g = graphs.ontology
    expected = {
        (KGO.LegalBasis, "http://data.europa.eu/eli/ontology#LegalResource"),
        (KGO.Program, "http://purl.org/vocab/cpsv#PublicService"),
        (KGO.ResourceType, "http://www.w3.org/2004/02/skos/core#Concept"),
        (KGO.Organization, "http://www.w3.org/ns/org#Organization"),
        (KGO.BudgetAllocation, "http://schema.org/MonetaryAmount"),
        (KGO.SourceDocument, "http://www.w3.org/ns/prov#Entity"),
    }
    for cls, sup in expected:
        assert (cls, RDFS.subClassOf, URIRef(sup)) in g
    assert (KGO.period, RDFS.range, URIRef("http://www.w3.org/2006/time#ProperInterval")) in g
    assert (KGO.partOfAct, RDFS.subPropertyOf, URIRef("http://data.europa.eu/eli/ontology#is_part_of")) in g


def test_one_subclass_per_type_defined_by_value(graphs):
    g = graphs.ontology
    for name in ("FarmForestFishery", "MiningManufacturing", "Tourism"):
        cls = KGO[f"{name}Resource"]
        restriction = g.value(cls, OWL.equivalentClass)
        assert g.value(restriction, OWL.onProperty) == KGO.resourceType
        assert g.value(restriction, OWL.hasValue) is not None
