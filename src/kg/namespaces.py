"""Namespaces and IRI construction: the one place where IRI strings are written."""

from __future__ import annotations

from rdflib import Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SH, SKOS, TIME, VOID, XSD

DEFAULT_BASE = "https://w3id.org/tokyo-sme-kg/"

KGO = Namespace(DEFAULT_BASE + "ontology#")
KGS = Namespace(DEFAULT_BASE + "shapes#")
ID = Namespace(DEFAULT_BASE + "id/")
ONTOLOGY_IRI = URIRef(DEFAULT_BASE + "ontology")
SHAPES_IRI = URIRef(DEFAULT_BASE + "shapes")
DATASET_IRI = URIRef(DEFAULT_BASE + "dataset")
GRAPH_ONTOLOGY = URIRef(DEFAULT_BASE + "graph/ontology")
GRAPH_DATA = URIRef(DEFAULT_BASE + "graph/data")
GRAPH_INFERRED = URIRef(DEFAULT_BASE + "graph/inferred")

SCHEMA = Namespace("http://schema.org/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
CPSV = Namespace("http://purl.org/vocab/cpsv#")
CV = Namespace("http://data.europa.eu/m8g/")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VANN = Namespace("http://purl.org/vocab/vann/")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU_FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
EU_LANGUAGE = Namespace("http://publications.europa.eu/resource/authority/language/")
EU_ACCESS_RIGHT = Namespace("http://publications.europa.eu/resource/authority/access-right/")
EU_FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
EU_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
IANA_MEDIA = "https://www.iana.org/assignments/media-types/"
DCAT_AP_3 = URIRef("https://semiceu.github.io/DCAT-AP/releases/3.0.0/")
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")

ESTAT_SAC = "http://data.e-stat.go.jp/lod/sac/C"
EGOV_LAW = "https://laws.e-gov.go.jp/law/"
CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")

PREFIXES: dict[str, Namespace] = {
    "kgo": KGO,
    "kgs": KGS,
    "id": ID,
    "rdf": Namespace(str(RDF)),
    "rdfs": Namespace(str(RDFS)),
    "owl": Namespace(str(OWL)),
    "xsd": Namespace(str(XSD)),
    "skos": Namespace(str(SKOS)),
    "dct": Namespace(str(DCTERMS)),
    "prov": Namespace(str(PROV)),
    "foaf": Namespace(str(FOAF)),
    "org": Namespace(str(ORG)),
    "schema": SCHEMA,
    "time": Namespace(str(TIME)),
    "dcat": Namespace(str(DCAT)),
    "void": Namespace(str(VOID)),
    "eli": ELI,
    "cpsv": CPSV,
    "cv": CV,
    "sh": Namespace(str(SH)),
    "sd": SD,
    "vann": VANN,
    "spdx": SPDX,
}


def entity(kind: str, key: str) -> URIRef:
    """Return the IRI of an instance: ``{base}id/{kind}/{key}``."""
    return URIRef(f"{ID}{kind}/{key}")


def curie(iri: str) -> str:
    """Return a prefixed name for ``iri`` when a project prefix covers it (the longest), else the IRI."""
    for prefix, ns in sorted(PREFIXES.items(), key=lambda kv: -len(str(kv[1]))):
        if iri.startswith(str(ns)) and prefix != "id":
            return f"{prefix}:{iri[len(str(ns)) :]}"
    return iri


def sparql_prefixes() -> str:
    """Return PREFIX declarations for all project prefixes, one per line."""
    return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in PREFIXES.items())


def rebase(iri: str, base: str) -> str:
    """Return ``iri`` with the default base replaced by ``base`` (identity if not under it)."""
    if base != DEFAULT_BASE and iri.startswith(DEFAULT_BASE):
        return base + iri[len(DEFAULT_BASE) :]
    return iri
