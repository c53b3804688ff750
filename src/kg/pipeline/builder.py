"""Assemble the graph (tables → data graph, ontology, inferred graph) and write the dumps.

Writing is atomic: every file goes to a fresh temporary folder beside ``dist/`` which then
replaces it, so a failed or interrupted build leaves the previous ``dist/`` as it was.
Output is deterministic: two builds of the same input give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, TIME, VOID, XSD

from .. import FIRST_RELEASE_DATE, RELEASE_DATE, __version__
from ..dist import MANIFEST, DumpFile, Manifest
from ..namespaces import (
    CC_BY,
    DATASET_IRI,
    DCAT_AP_3,
    DEFAULT_BASE,
    EU_ACCESS_RIGHT,
    EU_FILE_TYPE,
    EU_FREQUENCY,
    EU_LANGUAGE,
    EU_THEME,
    GRAPH_DATA,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    IANA_MEDIA,
    ID,
    KGO,
    ONTOLOGY_IRI,
    PREFIXES,
    SD,
    SHAPES_IRI,
    SPARQL_PROTOCOL,
    SPDX,
    VCARD,
    entity,
    rebase,
)
from ..settings import Settings
from ..validation import Report, run_validation
from .mapping import map_records
from .reasoning import infer
from .table_schema import METADATA_FILE, read_schema
from .tables import load_records

DUMP_FILES = {  # file → (media type, description)
    "kg.ttl": ("text/turtle", "Ontology and data, Turtle"),
    "kg.nt": ("application/n-triples", "Ontology and data, N-Triples, sorted lines"),
    "kg.jsonld": ("application/ld+json", "Ontology and data, JSON-LD"),
    "context.jsonld": ("application/ld+json", "JSON-LD context of kg.jsonld"),
    "kg.trig": ("application/trig", "Named graphs: ontology, data, inferred (OWL RL)"),
    "kg-dl.ttl": ("text/turtle", "Ontology and data for OWL 2 DL tools: dates, years, months as plain text; Turtle"),
    "tables.zip": ("application/zip", "The curated tables (CSV) with their CSV on the Web metadata"),
}
NOT_RDF = ("context.jsonld", "tables.zip")  # distributions that are not RDF dumps (no void:dataDump)
DL_EXPORT = "kg-dl.ttl"  # ontology + data with literals retyped for OWL 2 DL tools: not the dataset's own dump
# Datatypes of our literals that OWL 2's datatype map lacks (HermiT and Pellet reject them). In the DL
# export their values become plain literals with the same characters: no OWL 2 datatype has their value
# space (a day, a year, a month), and xsd:dateTime would invent a time of day and a time zone (and a
# fiscal year is no calendar instant), so text keeps the value and says nothing false.
OUTSIDE_OWL2_DATATYPE_MAP = (XSD.date, XSD.gYear, XSD.gYearMonth)
TABLES_FOLDER = "tokyo-sme-kg-tables"  # the one folder inside tables.zip
CSVW_SPEC = URIRef("http://www.w3.org/TR/tabular-metadata/")
VOID_FILE = ("text/turtle", "Dataset description (VoID + DCAT-AP 3.0.0), Turtle")
DESCRIPTION = {
    "ja": "東京都の中小企業政策の知識グラフ。根拠法令、基本構想と地域産業資源、区市町村、計画、事業と予算を"
    "五つの行政文書から収録する。",
    "en": "Legal bases, the basic concept and regional industrial resources, municipalities, plans, "
    "programs and budgets of small-business policy in Tokyo, from five government documents.",
}
DCAT3_VERSION = URIRef("http://www.w3.org/ns/dcat#version")  # DCAT 3 term, not in rdflib's DCAT


class BuildError(Exception):
    """The build cannot produce a valid graph (the message says why)."""


@dataclass
class Graphs:
    """The three named graphs of a build."""

    ontology: Graph
    data: Graph
    inferred: Graph


def load_ontology(settings: Settings) -> Graph:
    """Return the ontology graph from ``ontology/kg.ttl``.

    Its blank nodes (the OWL restrictions, which OWL 2's mapping to RDF needs as blank nodes) get
    canonical labels, the same every build, so that the dumps stay byte for byte the same.
    """
    parsed = Graph().parse(settings.ontology_dir / "kg.ttl", format="turtle")
    g = Graph()
    for prefix, ns in parsed.namespaces():
        g.bind(prefix, ns)
    for t in to_canonical_graph(parsed):
        g.add(t)
    return g


def load_shapes(settings: Settings) -> Graph:
    """Return the SHACL shapes graph from ``ontology/shapes.ttl``."""
    return Graph().parse(settings.ontology_dir / "shapes.ttl", format="turtle")


def assemble(settings: Settings, reason: bool = True) -> Graphs:
    """Read tables and ontology; return ontology, data and (optionally) inferred graphs."""
    ontology = load_ontology(settings)
    data = map_records(load_records(settings.data_dir))
    if any(isinstance(x, BNode) for t in data for x in t):
        raise BuildError("the data graph has blank nodes; give every node an IRI")
    restrictions = set(ontology.subjects(RDF.type, OWL.Restriction))
    if any(isinstance(x, BNode) and x not in restrictions for t in ontology for x in t):
        raise BuildError("the ontology has blank nodes that are not OWL restrictions; give every other node an IRI")
    inferred = infer(ontology, data, settings.reasoner) if reason else Graph()
    return Graphs(ontology, data, inferred)


def _bind(g: Graph, base: str) -> None:
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, rebase(str(ns), base), override=True, replace=True)


def _ox_term(x: object, base: str) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(x, URIRef):
        return ox.NamedNode(rebase(str(x), base))
    if isinstance(x, BNode):  # an OWL restriction of the ontology, canonically labelled
        return ox.BlankNode(str(x))
    if isinstance(x, Literal):
        if x.language:
            return ox.Literal(str(x), language=x.language)
        if x.datatype is not None and x.datatype != XSD.string:
            return ox.Literal(str(x), datatype=ox.NamedNode(str(x.datatype)))
        return ox.Literal(str(x))
    raise BuildError(f"cannot write {x!r}: only IRIs, literals and restriction blank nodes are allowed in dumps")


def _ox_triples(g: Graph, base: str) -> list[ox.Triple]:
    """Return the triples of ``g`` as pyoxigraph triples, IRIs moved to ``base``, in sorted order."""
    triples = set()
    for s, p, o in g:
        subject, predicate = _ox_term(s, base), _ox_term(p, base)
        if isinstance(subject, ox.Literal) or not isinstance(predicate, ox.NamedNode):
            raise BuildError(f"cannot write {s!r} {p!r}: a literal as subject or a predicate that is no IRI")
        triples.add(ox.Triple(subject, predicate, _ox_term(o, base)))
    return sorted(triples, key=str)


def _prefixes(base: str, instances: bool = True) -> dict[str, str]:
    """The project's prefixes; without ``id:`` for Turtle, where instance IRIs read better whole."""
    return {p: rebase(str(ns), base) for p, ns in PREFIXES.items() if instances or p != "id"}


def _with_sorted_prefixes(text: bytes | None) -> bytes:
    """Put the @prefix lines of an oxigraph Turtle / TriG serialization in sorted order."""
    assert text is not None  # ox.serialize returns the bytes when given no output file
    lines = text.split(b"\n")
    head = sorted(line for line in lines if line.startswith(b"@prefix "))
    body = [line for line in lines if not line.startswith(b"@prefix ")]
    return b"\n".join(head) + b"\n\n" + b"\n".join(body).lstrip(b"\n")


def _jsonld(triples: list[ox.Triple], context: dict[str, str]) -> dict[str, object]:
    """Return flattened JSON-LD of ``triples`` (sorted): one node object per subject, in order.

    IRIs are written as compact IRIs of the context's prefixes; a JSON-LD processor expands them
    back, so the document is the same graph as kg.nt (tests parse both and compare).
    """
    by_length = sorted(context.items(), key=lambda kv: -len(kv[1]))

    def compact(iri: str) -> str:
        for prefix, ns in by_length:
            if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns) :].startswith("//"):
                return f"{prefix}:{iri[len(ns) :]}"
        return iri

    def node_id(n: ox.NamedNode | ox.BlankNode) -> str:
        return f"_:{n.value}" if isinstance(n, ox.BlankNode) else compact(n.value)

    def value(o: ox.NamedNode | ox.BlankNode | ox.Literal) -> dict[str, str]:
        if isinstance(o, ox.NamedNode | ox.BlankNode):
            return {"@id": node_id(o)}
        if o.language:
            return {"@value": o.value, "@language": o.language}
        if o.datatype.value == str(XSD.string):
            return {"@value": o.value}
        return {"@value": o.value, "@type": compact(o.datatype.value)}

    nodes: list[dict[str, Any]] = []  # JSON-LD node objects: "@id" a string, every other key a list
    current = None
    for t in triples:
        subject, obj = t.subject, t.object
        assert not isinstance(subject, ox.Triple) and not isinstance(obj, ox.Triple)  # no RDF-star in dumps
        if subject != current:
            current = subject
            nodes.append({"@id": node_id(subject)})
        node = nodes[-1]
        if t.predicate.value == str(RDF.type) and isinstance(obj, ox.NamedNode):
            node.setdefault("@type", []).append(compact(obj.value))
        else:
            node.setdefault(compact(t.predicate.value), []).append(value(obj))
    return {"@context": context, "@graph": nodes}


def dl_profile(triples: list[ox.Triple]) -> list[ox.Triple]:
    """Return ``triples`` (sorted) with every literal of a datatype outside OWL 2's datatype map as a plain literal.

    The lexical form is kept character for character (``"2007-06-29"^^xsd:date`` becomes
    ``"2007-06-29"``); the ontology gives those properties range rdfs:Literal, which plain literals
    satisfy. Everything else is unchanged.
    """
    outside = {str(d) for d in OUTSIDE_OWL2_DATATYPE_MAP}
    out = set()
    for t in triples:
        o = t.object
        if isinstance(o, ox.Literal) and o.datatype.value in outside:
            o = ox.Literal(o.value)
        out.add(ox.Triple(t.subject, t.predicate, o))
    return sorted(out, key=str)


def write_tables_zip(data_dir: Path, target: Path) -> None:
    """Write the tables and their CSVW metadata to the zip file ``target``, byte for byte the same every build.

    One folder holds the metadata document and every table it lists, sorted by name, with fixed
    timestamps and permissions.
    """
    names = [METADATA_FILE, *(t.file for t in read_schema(data_dir / METADATA_FILE).tables)]
    with zipfile.ZipFile(target, "w") as zf:
        for name in sorted(names):
            info = zipfile.ZipInfo(f"{TABLES_FOLDER}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever system builds it
            info.external_attr = 0o644 << 16
            zf.writestr(info, (data_dir / name).read_bytes())


def write_dumps(graphs: Graphs, out: Path, settings: Settings) -> Manifest:
    """Write all dump files into the (empty) folder ``out``; return the manifest.

    Turtle, TriG and N-Triples are written by pyoxigraph from sorted triples (fast at millions of
    triples, deterministic); JSON-LD as flattened node objects with the project's context.
    """
    base = settings.base_iri
    prefixes = _prefixes(base, instances=False)
    onto, data, inf = (_ox_triples(g, base) for g in (graphs.ontology, graphs.data, graphs.inferred))
    asserted = sorted(set(onto) | set(data), key=str)
    (out / "kg.ttl").write_bytes(
        _with_sorted_prefixes(ox.serialize(asserted, format=ox.RdfFormat.TURTLE, prefixes=prefixes))
    )
    nt = ox.serialize(asserted, format=ox.RdfFormat.N_TRIPLES)
    assert nt is not None  # returned when given no output file
    nt_lines = sorted(line for line in nt.split(b"\n") if line.strip())
    (out / "kg.nt").write_bytes(b"\n".join(nt_lines) + b"\n")
    context = _prefixes(base)  # the JSON-LD context: our prefixes, id: included
    (out / "context.jsonld").write_text(
        json.dumps({"@context": context}, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    (out / "kg.jsonld").write_text(
        json.dumps(_jsonld(asserted, context), ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    quads = [
        ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(rebase(str(name), base)))
        for name, triples in ((GRAPH_ONTOLOGY, onto), (GRAPH_DATA, data), (GRAPH_INFERRED, inf))
        for t in triples
    ]
    (out / "kg.trig").write_bytes(
        _with_sorted_prefixes(ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=prefixes))
    )
    (out / DL_EXPORT).write_bytes(
        _with_sorted_prefixes(ox.serialize(dl_profile(asserted), format=ox.RdfFormat.TURTLE, prefixes=prefixes))
    )
    write_tables_zip(settings.data_dir, out / "tables.zip")
    counts = {"ontology": len(onto), "data": len(data), "inferred": len(inf)}
    files: dict[str, DumpFile] = {}
    for name, (media, _desc) in DUMP_FILES.items():
        raw = (out / name).read_bytes()
        files[name] = {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(), "media_type": media}
    version = hashlib.sha256("".join(files[n]["sha256"] for n in sorted(files)).encode()).hexdigest()[:16]
    void = void_graph(settings, counts, files, version, graphs.data)
    (out / "void.ttl").write_text(void.serialize(format="turtle"), encoding="utf-8")
    raw = (out / "void.ttl").read_bytes()
    files["void.ttl"] = {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(), "media_type": "text/turtle"}
    manifest: Manifest = {
        "version": version,
        "software": __version__,
        "base_iri": base,
        "server_url": settings.server_url,
        "triples": counts,
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


KEYWORDS = {
    "ja": ("中小企業", "中小企業政策", "地域産業資源", "地域産業活性化計画", "東京都", "区市町村", "ナレッジグラフ"),
    "en": ("small and medium-sized enterprises", "SME policy", "regional industrial resources",
           "regional industry revitalization plans", "Tokyo", "municipalities", "knowledge graph"),
}
EU_FILE_TYPES = {  # media type → EU file-type authority code, for dct:format
    "text/turtle": "RDF_TURTLE",
    "application/n-triples": "RDF_N_TRIPLES",
    "application/ld+json": "JSON_LD",
    "application/trig": "RDF_TRIG",
    "application/zip": "ZIP",
}


def _typed(g: Graph, node: URIRef, *classes: URIRef, label: str | None = None) -> URIRef:
    """Type ``node`` with ``classes`` (DCAT-AP checks the class of every value) and return it."""
    for cls in classes:
        g.add((node, RDF.type, cls))
    if label:
        g.add((node, RDFS.label, Literal(label, lang="en")))
    return node


def _temporal_bounds(data: Graph) -> tuple[str, str] | None:
    """Return the first and last day of the periods the data describes (OWL-Time instants)."""
    days = sorted(str(o) for o in data.objects(None, TIME.inXSDDate))
    return (days[0], days[-1]) if days else None


def _agents(g: Graph, ds: URIRef, url: str) -> tuple[URIRef, URIRef]:
    """Add the publisher (this project) and its contact point; return both."""
    publisher = URIRef(f"{ds}#publisher")
    _typed(g, publisher, FOAF.Agent, FOAF.Organization)
    g.add((publisher, FOAF.name, Literal("東京都中小企業政策ナレッジグラフ プロジェクト", lang="ja")))
    g.add((publisher, FOAF.name, Literal("Tokyo SME Policy Knowledge Graph project", lang="en")))
    g.add((publisher, FOAF.homepage, _typed(g, URIRef(f"{url}/"), FOAF.Document)))
    contact = URIRef(f"{ds}#contact")
    _typed(g, contact, VCARD.Kind, VCARD.Organization)
    g.add((contact, VCARD.fn, Literal("Tokyo SME Policy Knowledge Graph project", lang="en")))
    g.add((contact, VCARD.hasURL, _typed(g, URIRef(f"{url}/"), RDFS.Resource)))
    return publisher, contact


def _rights(g: Graph) -> tuple[URIRef, URIRef]:
    """Return the licence (typed dct:LicenseDocument) and the access rights (public).

    The licence's title is its name, "Creative Commons Attribution", and its version, 4.0
    International, is stated on its own (the IRI and the label name both): CKAN's DCAT harvester
    (ckanext-dcat) maps a licence to the portal's licence register by its IRI or by its exact
    dct:title in the portal's language, and CKAN's default register has "Creative Commons
    Attribution" (``cc-by``, any version; "クリエイティブ・コモンズ 表示" on a Japanese portal) but no
    CC BY 4.0 IRI (tests/test_ckan.py).
    """
    licence = _typed(g, CC_BY, DCTERMS.LicenseDocument, label="Creative Commons Attribution 4.0 International")
    g.add((licence, DCTERMS.title, Literal("Creative Commons Attribution", lang="en")))
    g.add((licence, DCTERMS.title, Literal("クリエイティブ・コモンズ 表示", lang="ja")))  # CKAN's ja title of cc-by
    g.add((licence, OWL.versionInfo, Literal("4.0 International")))
    public = _typed(g, EU_ACCESS_RIGHT.PUBLIC, DCTERMS.RightsStatement, label="public")
    return licence, public


def void_graph(
    settings: Settings, counts: dict[str, int], files: dict[str, DumpFile], version: str, data: Graph
) -> Graph:
    """Return the VoID + DCAT description of the dataset (IRIs only, no blank nodes).

    It conforms to the DCAT-AP 3.0.0 shapes with and without RDFS inference: every value whose
    range is a class is typed with that class (tests/test_dcat_ap.py checks both).
    """
    base, url = settings.base_iri, settings.server_url
    g = Graph()
    _bind(g, base)
    for prefix, ns in (("spdx", SPDX), ("vcard", VCARD)):
        g.bind(prefix, ns)
    ds = URIRef(rebase(str(DATASET_IRI), base))
    endpoint = URIRef(f"{url}/sparql")
    publisher, contact = _agents(g, ds, url)
    licence, public = _rights(g)
    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal("東京都中小企業政策ナレッジグラフ", lang="ja")))
    g.add((ds, DCTERMS.title, Literal("Tokyo SME Policy Knowledge Graph", lang="en")))
    g.add((ds, DCTERMS.description, Literal(DESCRIPTION["ja"], lang="ja")))
    g.add((ds, DCTERMS.description, Literal(DESCRIPTION["en"], lang="en")))
    for lang, words in KEYWORDS.items():
        for word in words:
            g.add((ds, DCAT.keyword, Literal(word, lang=lang)))
    g.add((ds, DCTERMS.license, licence))
    g.add((ds, DCTERMS.accessRights, public))
    g.add((ds, DCTERMS.publisher, publisher))
    g.add((ds, DCTERMS.creator, publisher))
    g.add((ds, DCAT.contactPoint, contact))
    g.add((ds, DCAT.landingPage, URIRef(f"{url}/")))
    g.add((ds, DCTERMS.issued, Literal(FIRST_RELEASE_DATE, datatype=XSD.date)))
    g.add((ds, DCTERMS.modified, Literal(RELEASE_DATE, datatype=XSD.date)))
    g.add((ds, DCTERMS.conformsTo, _typed(g, URIRef(rebase(str(SHAPES_IRI), base)), DCTERMS.Standard,
                                           label="SHACL shapes of the Tokyo SME Policy Knowledge Graph")))
    g.add((ds, DCTERMS.accrualPeriodicity, _typed(g, EU_FREQUENCY.IRREG, DCTERMS.Frequency, label="irregular")))
    for code in ("JPN", "ENG"):
        g.add((ds, DCTERMS.language, _typed(g, EU_LANGUAGE[code], DCTERMS.LinguisticSystem)))
    for code, label in (("ECON", "Economy and finance"), ("GOVE", "Government and public sector")):
        g.add((ds, DCAT.theme, _typed(g, EU_THEME[code], SKOS.Concept)))
        g.add((EU_THEME[code], SKOS.prefLabel, Literal(label, lang="en")))
    tokyo = URIRef(rebase(str(entity("prefecture", "130001")), base))
    g.add((ds, DCTERMS.spatial, _typed(g, tokyo, DCTERMS.Location)))
    g.add((tokyo, RDFS.label, Literal("東京都", lang="ja")))
    g.add((tokyo, RDFS.label, Literal("Tokyo", lang="en")))
    bounds = _temporal_bounds(data)
    if bounds:
        period = _typed(g, URIRef(f"{ds}#temporal"), DCTERMS.PeriodOfTime)
        g.add((period, DCAT.startDate, Literal(bounds[0], datatype=XSD.date)))
        g.add((period, DCAT.endDate, Literal(bounds[1], datatype=XSD.date)))
        g.add((ds, DCTERMS.temporal, period))
    g.add((ds, OWL.versionInfo, Literal(version)))
    g.add((ds, DCAT3_VERSION, Literal(version)))
    g.add((ds, VOID.triples, Literal(sum(counts.values()), datatype=XSD.integer)))
    entities = {
        s for s in data.subjects() if isinstance(s, URIRef) and str(s).startswith(str(ID)) and "#" not in str(s)
    }
    g.add((ds, VOID.entities, Literal(len(entities), datatype=XSD.integer)))
    g.add((ds, VOID.uriSpace, Literal(rebase(str(ID), base))))
    g.add((ds, VOID.vocabulary, URIRef(rebase(str(ONTOLOGY_IRI), base))))
    g.add((ds, VOID.vocabulary, URIRef(rebase(str(KGO), base))))
    g.add((ds, VOID.sparqlEndpoint, endpoint))
    service = URIRef(f"{url}/sparql#service")
    g.add((service, RDF.type, DCAT.DataService))
    g.add((service, RDF.type, SD.Service))
    g.add((service, DCAT.endpointURL, _typed(g, endpoint, RDFS.Resource)))
    g.add((service, DCAT.endpointDescription, endpoint))  # GET /sparql without a query: the sd: description
    g.add((service, DCAT.servesDataset, ds))
    g.add((service, DCTERMS.title, Literal("SPARQL endpoint", lang="en")))
    g.add((service, DCTERMS.description, Literal("Read-only SPARQL 1.1 query endpoint over the dataset.", lang="en")))
    g.add((service, DCTERMS.conformsTo, _typed(g, SPARQL_PROTOCOL, DCTERMS.Standard,
                                                label="SPARQL 1.1 Protocol")))
    g.add((service, DCTERMS.license, licence))
    g.add((service, DCTERMS.accessRights, public))
    g.add((service, DCTERMS.publisher, publisher))
    g.add((service, DCAT.contactPoint, contact))
    g.add((ds, DCAT.accessService, service))
    for name, graph_iri in (("ontology", GRAPH_ONTOLOGY), ("data", GRAPH_DATA), ("inferred", GRAPH_INFERRED)):
        sub = URIRef(rebase(str(graph_iri), base))
        g.add((ds, VOID.subset, sub))
        g.add((sub, RDF.type, VOID.Dataset))
        g.add((sub, DCTERMS.title, Literal(f"{name} graph", lang="en")))
        g.add((sub, VOID.triples, Literal(counts[name], datatype=XSD.integer)))
        g.add((sub, SD.name, sub))
    described = {**files, "void.ttl": {"media_type": "text/turtle"}}  # void.ttl cannot hold its own checksum
    for name, info in described.items():
        dump = _typed(g, URIRef(f"{url}/dumps/{name}"), RDFS.Resource)
        dist = URIRef(f"{ds}/distribution/{name}")
        media = str(info["media_type"])
        if name not in (*NOT_RDF, DL_EXPORT, "void.ttl"):
            g.add((ds, VOID.dataDump, dump))
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(DUMP_FILES.get(name, VOID_FILE)[1], lang="en")))
        g.add((dist, DCAT.downloadURL, dump))
        g.add((dist, DCAT.accessURL, dump))
        g.add((dist, DCAT.mediaType, _typed(g, URIRef(IANA_MEDIA + media), DCTERMS.MediaType,
                                            DCTERMS.MediaTypeOrExtent)))
        g.add((dist, DCTERMS["format"], _typed(g, EU_FILE_TYPE[EU_FILE_TYPES[media]], DCTERMS.MediaTypeOrExtent)))
        g.add((dist, DCTERMS.license, licence))
        g.add((dist, DCTERMS.accessRights, public))
        g.add((dist, DCTERMS.modified, Literal(RELEASE_DATE, datatype=XSD.date)))
        if name == "void.ttl":
            g.add((dist, DCTERMS.conformsTo, _typed(g, DCAT_AP_3, DCTERMS.Standard, label="DCAT-AP 3.0.0")))
            continue
        if name == "tables.zip":
            g.add((dist, DCTERMS.conformsTo, _typed(g, CSVW_SPEC, DCTERMS.Standard,
                                                    label="Metadata Vocabulary for Tabular Data (CSV on the Web)")))
        checksum = URIRef(f"{dist}#checksum")
        g.add((dist, DCAT.byteSize, Literal(info["bytes"], datatype=XSD.nonNegativeInteger)))
        g.add((dist, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, _typed(g, SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm)))
        g.add((checksum, SPDX.checksumValue, Literal(info["sha256"], datatype=XSD.hexBinary)))
    g.add((ds, DCTERMS.conformsTo, DCAT_AP_3))  # the description of the dataset follows DCAT-AP 3.0.0
    g.add((ds, RDFS.seeAlso, URIRef(rebase(str(ONTOLOGY_IRI), base))))
    return g


def _replace_dir(tmp: Path, out: Path) -> None:
    """Put ``tmp`` in the place of ``out``; on failure ``out`` is left as it was."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    had_old = out.exists()
    if had_old:
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if had_old:
            os.replace(old, out)
        raise
    if had_old:
        shutil.rmtree(old, ignore_errors=True)


def build(
    settings: Settings,
    out: Path | None = None,
    reason: bool = True,
    validate: bool = True,
    graphs: Graphs | None = None,
) -> tuple[Manifest, Report | None]:
    """Build the graph and write the dumps atomically to ``out`` (default ``settings.dist_dir``).

    ``graphs``, when given, is what ``assemble(settings, reason)`` returned already (it is not
    assembled again). Returns the manifest and the SHACL report (None when validation is skipped).
    Raises DataError for bad tables and BuildError when the graph does not conform;
    in both cases ``out`` is untouched.
    """
    out = Path(out or settings.dist_dir)
    graphs = graphs or assemble(settings, reason=reason)
    report = None
    if validate:
        report = run_validation(graphs.data + graphs.ontology, load_shapes(settings), engine=settings.validator)
        if not report.conforms:
            first = "\n".join(f"  {v.focus} {v.path}: {v.message_en}" for v in report.violations[:20])
            raise BuildError(f"the graph does not conform to the shapes ({len(report.violations)} results):\n{first}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp.chmod(0o755)
    try:
        manifest = write_dumps(graphs, tmp, settings)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest, report


__all__ = ["build", "assemble", "BuildError", "Graphs", "DEFAULT_BASE"]
