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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
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
from ..settings import REFERENCE_ENGINES_MAX_TRIPLES, Settings
from ..validation import VALIDATORS, Report, run_validation, validate_ntriples_file
from .mapping import map_into, map_records, search_keys
from .memory import NotEnoughMemory
from .memory import check as check_memory
from .ntriples import (
    LineSink,
    TermError,
    Terms,
    merged,
    minus,
    parse_lines,
    read_lines,
    sort_unique,
    subject_of,
    write_lines,
)
from .reasoning import REASONERS, CompiledReasoner, Unsupported, infer
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


class OutOfMemory(BuildError):
    """The build would need, or needed, more memory than it may have."""


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
    _check_ontology(ontology)
    inferred = infer(ontology, data, settings.reasoner) if reason else Graph()
    return Graphs(ontology, data, inferred)


def _bind(g: Graph, base: str) -> None:
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, rebase(str(ns), base), override=True, replace=True)


def _prefixes(base: str, instances: bool = True) -> dict[str, str]:
    """The project's prefixes; without ``id:`` for Turtle, where instance IRIs read better whole."""
    return {p: rebase(str(ns), base) for p, ns in PREFIXES.items() if instances or p != "id"}


@dataclass
class DataFacts:
    """What the dataset description says of the data: its entities and the days its periods cover."""

    entities: int
    temporal: tuple[str, str] | None


@dataclass
class Lines:
    """The three named graphs as sorted, unique N-Triples lines (IRIs under the build's base), and facts of the data."""

    ontology: list[str]
    data: list[str]
    inferred: list[str]
    facts: DataFacts


def graph_lines(g: Graph, base: str = DEFAULT_BASE) -> list[str]:
    """The triples of ``g`` as sorted, unique N-Triples lines, IRIs moved to ``base``."""
    terms = Terms(base)
    try:
        return sort_unique([terms.line(s, p, o) for s, p, o in g])
    except TermError as exc:
        raise BuildError(str(exc)) from None


def rebased_lines(lines: list[str], base: str) -> list[str]:
    """``lines`` (written with the default base) with subject, predicate and IRI object moved to ``base``, sorted."""
    if base == DEFAULT_BASE:
        return lines
    old, new = "<" + DEFAULT_BASE, "<" + base

    def move(term: str) -> str:
        return new + term[len(old) :] if term.startswith(old) else term

    out = []
    for line in lines:
        s, p, rest = line.split(" ", 2)
        out.append(f"{move(s)} {move(p)} {move(rest)}")  # an IRI object starts the rest; a literal never moves
    return sort_unique(out)


def _facts(data_lines: Iterable[str], days: Iterable[str]) -> DataFacts:
    """Entities (subjects under …/id/ without a fragment) and the first and last day of the data's periods.

    ``data_lines`` are sorted and written with the default base (a subject's lines are together).
    """
    prefix = f"<{ID}"
    entities = 0
    last = None
    for line in data_lines:
        s = subject_of(line)
        if s != last:
            last = s
            if s.startswith(prefix) and "#" not in s:
                entities += 1
    ordered = sorted(days)
    return DataFacts(entities, (ordered[0], ordered[-1]) if ordered else None)


def _graph_facts(data: Graph) -> DataFacts:
    entities = {
        s for s in data.subjects() if isinstance(s, URIRef) and str(s).startswith(str(ID)) and "#" not in str(s)
    }
    days = sorted(str(o) for o in data.objects(None, TIME.inXSDDate))
    return DataFacts(len(entities), (days[0], days[-1]) if days else None)


def _serialize(quads: Iterable[ox.Quad], fmt: ox.RdfFormat, target: Path, prefixes: dict[str, str]) -> None:
    """Write Turtle or TriG with pyoxigraph, streaming, then put its @prefix lines in sorted order."""
    raw = target.with_name(f".{target.name}.raw")
    with open(raw, "wb") as f:
        ox.serialize(quads, f, format=fmt, prefixes=prefixes)
    with open(raw, "rb") as src, open(target, "wb") as dst:
        head = []
        line = src.readline()
        while line.startswith(b"@prefix "):
            head.append(line.rstrip(b"\n"))
            line = src.readline()
        while line == b"\n":
            line = src.readline()
        dst.write(b"\n".join(sorted(head)) + b"\n\n" + line)
        shutil.copyfileobj(src, dst, 1 << 20)
    raw.unlink()


def _write_jsonld(quads: Iterable[ox.Quad], context: dict[str, str], target: Path) -> None:
    """Write flattened JSON-LD of ``quads`` (sorted): one node object per subject, in order.

    IRIs are written as compact IRIs of the context's prefixes; a JSON-LD processor expands them
    back, so the document is the same graph as kg.nt (tests parse both and compare). The bytes are
    those of ``json.dumps({"@context": …, "@graph": [nodes]}, indent=1, sort_keys=True)``, written
    one node at a time.
    """
    by_length = sorted(context.items(), key=lambda kv: -len(kv[1]))
    enc = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) writes strings with
    compacted: dict[str, str] = {}
    xsd_string, rdf_type = str(XSD.string), str(RDF.type)

    def compact(iri: str) -> str:
        known = compacted.get(iri)
        if known is not None:
            return known
        out = iri
        for prefix, ns in by_length:
            if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns) :].startswith("//"):
                out = f"{prefix}:{iri[len(ns) :]}"
                break
        if len(compacted) < 100_000:  # predicates, classes, datatypes repeat; instance IRIs mostly not
            compacted[iri] = out
        return out

    def node_id(n: ox.NamedNode | ox.BlankNode) -> str:
        return f"_:{n.value}" if isinstance(n, ox.BlankNode) else compact(n.value)

    # json.dumps(indent=1) encodes in Python; the same text is put together here from strings encoded
    # by json's C string encoder: a node at depth 2, its lists' items at depth 4, their keys at depth 5.
    def value(o: ox.NamedNode | ox.BlankNode | ox.Literal) -> str:
        if isinstance(o, ox.NamedNode | ox.BlankNode):
            pairs = [("@id", node_id(o))]
        elif o.language:
            pairs = [("@language", o.language), ("@value", o.value)]
        elif o.datatype.value == xsd_string:
            pairs = [("@value", o.value)]
        else:
            pairs = [("@type", compact(o.datatype.value)), ("@value", o.value)]
        return "    {\n" + ",\n".join(f"     {enc(k)}: {enc(v)}" for k, v in pairs) + "\n    }"

    def node_text(node: dict[str, Any]) -> str:
        parts = []
        for key in sorted(node):
            items = node[key]
            if key == "@id":
                parts.append(f"   {enc(key)}: {enc(items)}")
            else:
                parts.append(f"   {enc(key)}: [\n" + ",\n".join(items) + "\n   ]")
        return "  {\n" + ",\n".join(parts) + "\n  }"

    empty = json.dumps({"@context": context, "@graph": []}, ensure_ascii=False, indent=1, sort_keys=True)
    assert empty.endswith('"@graph": []\n}')
    with open(target, "w", encoding="utf-8") as f:
        written = 0

        def flush(node: dict[str, Any]) -> None:
            nonlocal written
            f.write((",\n" if written else empty[: -len("[]\n}")] + "[\n") + node_text(node))
            written += 1

        node: dict[str, Any] | None = None  # "@id": the node's id; every other key: its items' JSON texts
        current = None
        for t in quads:
            subject, obj = t.subject, t.object
            assert not isinstance(subject, ox.Triple) and not isinstance(obj, ox.Triple)  # no RDF-star in dumps
            if subject != current:
                if node is not None:
                    flush(node)
                current = subject
                node = {"@id": node_id(subject)}
            assert node is not None
            if t.predicate.value == rdf_type and isinstance(obj, ox.NamedNode):
                node.setdefault("@type", []).append("    " + enc(compact(obj.value)))
            else:
                node.setdefault(compact(t.predicate.value), []).append(value(obj))
        if node is not None:
            flush(node)
        f.write("\n ]\n}\n" if written else empty + "\n")


OUTSIDE_OWL2_NT = tuple(f'"^^<{d}>' for d in OUTSIDE_OWL2_DATATYPE_MAP)


def dl_profile(lines: Iterable[str]) -> Iterator[str]:
    """Yield ``lines`` (sorted) with every literal of a datatype outside OWL 2's datatype map as a plain literal.

    The lexical form is kept character for character (``"2007-06-29"^^xsd:date`` becomes
    ``"2007-06-29"``); the ontology gives those properties range rdfs:Literal, which plain literals
    satisfy. Everything else is unchanged. Only objects change, so the lines stay sorted once each
    subject-and-predicate group is sorted again (and repeats dropped).
    """
    group: list[str] = []
    head = None
    for line in lines:
        s, p, rest = line.split(" ", 2)
        o = rest[:-2]
        if o.endswith(OUTSIDE_OWL2_NT):
            line = f"{s} {p} {o[: o.rindex('^^<')]} ."
        if (s, p) != head:
            yield from sort_unique(group)
            group, head = [], (s, p)
        group.append(line)
    yield from sort_unique(group)


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


def write_dumps(graphs: Graphs | Lines, out: Path, settings: Settings) -> Manifest:
    """Write all dump files into the (empty) folder ``out``; return the manifest.

    Every dump is written from sorted N-Triples lines, streaming: N-Triples directly, Turtle and
    TriG by pyoxigraph from the lines parsed back (fast at millions of triples, deterministic),
    JSON-LD as flattened node objects with the project's context, one subject at a time.
    """
    base = settings.base_iri
    if isinstance(graphs, Graphs):
        onto_, data_, inf_ = (graph_lines(g, base) for g in (graphs.ontology, graphs.data, graphs.inferred))
        lines = Lines(onto_, data_, inf_, _graph_facts(graphs.data))
    else:
        lines = graphs
    prefixes = _prefixes(base, instances=False)
    onto, data, inf = lines.ontology, lines.data, lines.inferred
    scratch = out / ".scratch"
    scratch.mkdir()
    write_lines(merged(onto, data), out / "kg.nt")
    _serialize(parse_lines(out / "kg.nt"), ox.RdfFormat.TURTLE, out / "kg.ttl", prefixes)
    context = _prefixes(base)  # the JSON-LD context: our prefixes, id: included
    (out / "context.jsonld").write_text(
        json.dumps({"@context": context}, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    _write_jsonld(parse_lines(out / "kg.nt"), context, out / "kg.jsonld")

    def named(name: URIRef, part: list[str]) -> Iterator[ox.Quad]:
        path = scratch / f"{name.rsplit('/', 1)[-1]}.nt"
        write_lines(part, path)
        graph = ox.NamedNode(rebase(str(name), base))
        for q in parse_lines(path):
            yield ox.Quad(q.subject, q.predicate, q.object, graph)

    quads = chain(named(GRAPH_ONTOLOGY, onto), named(GRAPH_DATA, data), named(GRAPH_INFERRED, inf))
    _serialize(quads, ox.RdfFormat.TRIG, out / "kg.trig", prefixes)
    write_lines(dl_profile(read_lines(out / "kg.nt")), scratch / "dl.nt")
    _serialize(parse_lines(scratch / "dl.nt"), ox.RdfFormat.TURTLE, out / DL_EXPORT, prefixes)
    shutil.rmtree(scratch)
    write_tables_zip(settings.data_dir, out / "tables.zip")
    counts = {"ontology": len(onto), "data": len(data), "inferred": len(inf)}
    files: dict[str, DumpFile] = {}
    for name, (media, _desc) in DUMP_FILES.items():
        files[name] = _digest(out / name, media)
    version = hashlib.sha256("".join(files[n]["sha256"] for n in sorted(files)).encode()).hexdigest()[:16]
    void = void_graph(settings, counts, files, version, lines.facts)
    (out / "void.ttl").write_text(void.serialize(format="turtle"), encoding="utf-8")
    files["void.ttl"] = _digest(out / "void.ttl", "text/turtle")
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


def _digest(path: Path, media_type: str) -> DumpFile:
    """Size and SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": h.hexdigest(), "media_type": media_type}


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
    settings: Settings, counts: dict[str, int], files: dict[str, DumpFile], version: str, facts: DataFacts
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
    bounds = facts.temporal
    if bounds:
        period = _typed(g, URIRef(f"{ds}#temporal"), DCTERMS.PeriodOfTime)
        g.add((period, DCAT.startDate, Literal(bounds[0], datatype=XSD.date)))
        g.add((period, DCAT.endDate, Literal(bounds[1], datatype=XSD.date)))
        g.add((ds, DCTERMS.temporal, period))
    g.add((ds, OWL.versionInfo, Literal(version)))
    g.add((ds, DCAT3_VERSION, Literal(version)))
    g.add((ds, VOID.triples, Literal(sum(counts.values()), datatype=XSD.integer)))
    g.add((ds, VOID.entities, Literal(facts.entities, datatype=XSD.integer)))
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


# Up to this many data triples the reference engines (owlrl, pySHACL) reason and validate; above it,
# the compiled OWL RL reasoner and the Rust ``shacl`` validator, which give the same results
# (tests/test_build_scale.py) in time and memory that grow linearly with the data.


@dataclass(frozen=True)
class Engines:
    """The engines a build used, and why."""

    reasoner: str  # owlrl | reasonable | compiled | none
    validator: str  # pyshacl | shacl | none
    reason: str

    def __str__(self) -> str:
        return f"reasoner {self.reasoner}, validator {self.validator} ({self.reason})"


def choose_engines(settings: Settings, data_triples: int, reason: bool = True, validate: bool = True) -> Engines:
    """The engines for ``data_triples``: the settings' choice, or by size where it is ``auto``."""
    small = data_triples <= REFERENCE_ENGINES_MAX_TRIPLES
    reasoner = settings.reasoner if settings.reasoner != "auto" else ("owlrl" if small else "compiled")
    validator = settings.validator if settings.validator != "auto" else ("pyshacl" if small else "shacl")
    if reasoner not in REASONERS or reasoner == "auto":
        raise ValueError(f"unknown reasoner {reasoner!r}; use one of {', '.join(REASONERS)}")
    if validator not in VALIDATORS or validator == "auto":
        raise ValueError(f"unknown validator {validator!r}; use one of {', '.join(VALIDATORS)}")
    auto = "auto" in (settings.reasoner, settings.validator)
    relation = "at most" if small else "more than"
    why = f"auto: {data_triples:,} data triples, {relation} {REFERENCE_ENGINES_MAX_TRIPLES:,}" if auto else "as set"
    return Engines(reasoner if reason else "none", validator if validate else "none", why)


def _conforming(report: Report) -> Report:
    if not report.conforms:
        first = "\n".join(f"  {v.focus} {v.path}: {v.message_en}" for v in report.violations[:20])
        raise BuildError(f"the graph does not conform to the shapes ({len(report.violations)} results):\n{first}")
    return report


def _check_ontology(ontology: Graph) -> None:
    restrictions = set(ontology.subjects(RDF.type, OWL.Restriction))
    if any(isinstance(x, BNode) and x not in restrictions for t in ontology for x in t):
        raise BuildError("the ontology has blank nodes that are not OWL restrictions; give every other node an IRI")


def build_lines(
    settings: Settings, work: Path, reason: bool = True, validate: bool = True, progress: Progress | None = None
) -> tuple[Lines, Report | None, Engines]:
    """Map the tables to N-Triples lines, validate and reason; return the lines of the three graphs.

    No rdflib graph of the data is made unless a reference engine is chosen (small data): the
    data graph is a sorted list of N-Triples lines, validated from a file by the Rust engine and
    reasoned over by the compiled reasoner. ``work`` is an empty folder for files on the way.
    """
    say = progress or (lambda _text: None)
    try:
        check_memory(settings.data_dir)
    except NotEnoughMemory as exc:
        raise OutOfMemory(str(exc)) from None
    ontology = load_ontology(settings)
    _check_ontology(ontology)
    records = load_records(settings.data_dir)
    sink = LineSink(DEFAULT_BASE)
    try:
        map_into(records, sink)
        for t in search_keys(sink.labelled_names()):
            sink.add(t)
    except TermError as exc:
        raise BuildError(str(exc)) from None
    del records
    if sink.has_blank_nodes:
        raise BuildError("the data graph has blank nodes; give every node an IRI")
    data = sort_unique(sink.lines)
    facts = _facts(data, sink.days)
    del sink
    onto = graph_lines(ontology)
    engines = choose_engines(settings, len(data), reason, validate)
    say(f"mapped {len(data):,} data triples; {engines}")
    report = None
    if validate:
        asserted = work / "asserted.nt"
        write_lines(merged(onto, data), asserted)
        shapes = load_shapes(settings)
        if engines.validator == "shacl":
            report = validate_ntriples_file(asserted, shapes)
        else:
            report = run_validation(Graph().parse(asserted, format="nt"), shapes, engine=engines.validator)
        asserted.unlink()
        _conforming(report)
        say(f"validated ({engines.validator}): conforms")
    inferred: list[str] = []
    if reason:
        if engines.reasoner == "compiled":
            try:
                inferred = list(minus(CompiledReasoner(ontology, DEFAULT_BASE).infer(data), onto))
            except Unsupported as exc:
                raise BuildError(f"the compiled reasoner cannot reason here: {exc}") from None
        else:
            data_graph = Graph().parse(data="\n".join(data), format="nt")
            inferred = graph_lines(infer(ontology, data_graph, engines.reasoner))
        say(f"reasoned ({engines.reasoner}): {len(inferred):,} inferred triples")
    base = settings.base_iri
    lines = Lines(rebased_lines(onto, base), rebased_lines(data, base), rebased_lines(inferred, base), facts)
    return lines, report, engines


Progress = Callable[[str], None]


def build(
    settings: Settings,
    out: Path | None = None,
    reason: bool = True,
    validate: bool = True,
    graphs: Graphs | None = None,
    progress: Progress | None = None,
) -> tuple[Manifest, Report | None]:
    """Build the graph and write the dumps atomically to ``out`` (default ``settings.dist_dir``).

    ``graphs``, when given, is what ``assemble(settings, reason)`` returned already (it is not
    assembled again). Otherwise the tables are mapped to N-Triples lines (:func:`build_lines`),
    which scale to tens of millions of triples. ``progress`` is told the engines chosen and each
    step done. Returns the manifest and the SHACL report (None when validation is skipped).
    Raises DataError for bad tables and BuildError when the graph does not conform;
    in both cases ``out`` is untouched.
    """
    out = Path(out or settings.dist_dir)
    report = None
    if graphs is not None and validate:
        engine = choose_engines(settings, len(graphs.data)).validator
        report = _conforming(run_validation(graphs.data + graphs.ontology, load_shapes(settings), engine=engine))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    tmp.chmod(0o755)
    try:
        dumps: Graphs | Lines
        if graphs is not None:
            dumps = graphs
        else:
            work = tmp / ".work"
            work.mkdir()
            dumps, report, _engines = build_lines(settings, work, reason, validate, progress)
            work.rmdir()
        manifest = write_dumps(dumps, tmp, settings)
        _replace_dir(tmp, out)
    except MemoryError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutOfMemory(
            "not enough memory: the build ran out of it (nothing was written). Free memory, raise the limit "
            "(ulimit -v, the cgroup's memory.max), or build on a machine with more."
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest, report


__all__ = [
    "build", "build_lines", "assemble", "choose_engines", "BuildError", "OutOfMemory", "Engines", "Graphs",
    "DEFAULT_BASE",
]  # fmt: skip
