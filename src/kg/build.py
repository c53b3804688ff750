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

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, RDFS, VOID, XSD

from . import __version__
from .mapping import map_records
from .metadata import METADATA_FILE, read_schema
from .namespaces import (
    CC_BY,
    DATASET_IRI,
    DEFAULT_BASE,
    GRAPH_DATA,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    ID,
    KGO,
    ONTOLOGY_IRI,
    PREFIXES,
    SD,
    SPDX,
    rebase,
)
from .reason import infer
from .settings import Settings
from .sources import load_records
from .validate import Report, run_validation

DUMP_FILES = {  # file → (media type, description)
    "kg.ttl": ("text/turtle", "Ontology and data, Turtle"),
    "kg.nt": ("application/n-triples", "Ontology and data, N-Triples, sorted lines"),
    "kg.jsonld": ("application/ld+json", "Ontology and data, JSON-LD"),
    "context.jsonld": ("application/ld+json", "JSON-LD context of kg.jsonld"),
    "kg.trig": ("application/trig", "Named graphs: ontology, data, inferred (OWL RL)"),
    "tables.zip": ("application/zip", "The curated tables (CSV) with their CSV on the Web metadata"),
}
NOT_RDF = ("context.jsonld", "tables.zip")  # distributions that are not RDF dumps (no void:dataDump)
TABLES_FOLDER = "tokyo-sme-kg-tables"  # the one folder inside tables.zip
CSVW_SPEC = URIRef("http://www.w3.org/TR/tabular-metadata/")
MANIFEST = "manifest.json"
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
    """Return the ontology graph from ``ontology/kg.ttl``."""
    return Graph().parse(settings.ontology_dir / "kg.ttl", format="turtle")


def load_shapes(settings: Settings) -> Graph:
    """Return the SHACL shapes graph from ``ontology/shapes.ttl``."""
    return Graph().parse(settings.ontology_dir / "shapes.ttl", format="turtle")


def assemble(settings: Settings, reason: bool = True) -> Graphs:
    """Read tables and ontology; return ontology, data and (optionally) inferred graphs."""
    ontology = load_ontology(settings)
    data = map_records(load_records(settings.data_dir))
    for g, name in ((ontology, "ontology"), (data, "data")):
        if any(isinstance(x, BNode) for t in g for x in t):
            raise BuildError(f"the {name} graph has blank nodes; give every node an IRI")
    inferred = infer(ontology, data, settings.reasoner) if reason else Graph()
    return Graphs(ontology, data, inferred)


def _bind(g: Graph, base: str) -> None:
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, rebase(str(ns), base), override=True, replace=True)


def _ox_term(x: object, base: str) -> ox.NamedNode | ox.Literal:
    if isinstance(x, URIRef):
        return ox.NamedNode(rebase(str(x), base))
    if isinstance(x, Literal):
        if x.language:
            return ox.Literal(str(x), language=x.language)
        if x.datatype is not None and x.datatype != XSD.string:
            return ox.Literal(str(x), datatype=ox.NamedNode(str(x.datatype)))
        return ox.Literal(str(x))
    raise BuildError(f"cannot write {x!r}: only IRIs and literals are allowed in dumps")


def _ox_triples(g: Graph, base: str) -> list[ox.Triple]:
    """Return the triples of ``g`` as pyoxigraph triples, IRIs moved to ``base``, in sorted order."""
    triples = {ox.Triple(_ox_term(s, base), _ox_term(p, base), _ox_term(o, base)) for s, p, o in g}  # type: ignore[arg-type]
    return sorted(triples, key=str)


def _prefixes(base: str, instances: bool = True) -> dict[str, str]:
    """The project's prefixes; without ``id:`` for Turtle, where instance IRIs read better whole."""
    return {p: rebase(str(ns), base) for p, ns in PREFIXES.items() if instances or p != "id"}


def _with_sorted_prefixes(text: bytes) -> bytes:
    """Put the @prefix lines of an oxigraph Turtle / TriG serialization in sorted order."""
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

    def value(o: ox.NamedNode | ox.Literal) -> dict[str, str]:
        if isinstance(o, ox.NamedNode):
            return {"@id": compact(o.value)}
        if o.language:
            return {"@value": o.value, "@language": o.language}
        if o.datatype.value == str(XSD.string):
            return {"@value": o.value}
        return {"@value": o.value, "@type": compact(o.datatype.value)}

    nodes: list[dict[str, object]] = []
    current = None
    for t in triples:
        if t.subject != current:
            current = t.subject
            nodes.append({"@id": compact(t.subject.value)})  # type: ignore[union-attr]
        node = nodes[-1]
        if t.predicate.value == str(RDF.type) and isinstance(t.object, ox.NamedNode):
            node.setdefault("@type", []).append(compact(t.object.value))  # type: ignore[union-attr]
        else:
            node.setdefault(compact(t.predicate.value), []).append(value(t.object))  # type: ignore[arg-type, union-attr]
    return {"@context": context, "@graph": nodes}


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


def write_dumps(graphs: Graphs, out: Path, settings: Settings) -> dict[str, object]:
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
    write_tables_zip(settings.data_dir, out / "tables.zip")
    counts = {"ontology": len(onto), "data": len(data), "inferred": len(inf)}
    files = {}
    for name, (media, _desc) in DUMP_FILES.items():
        raw = (out / name).read_bytes()
        files[name] = {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(), "media_type": media}
    version = hashlib.sha256("".join(files[n]["sha256"] for n in sorted(files)).encode()).hexdigest()[:16]
    void = void_graph(settings, counts, files, version, graphs.data)
    (out / "void.ttl").write_text(void.serialize(format="turtle"), encoding="utf-8")
    raw = (out / "void.ttl").read_bytes()
    files["void.ttl"] = {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(), "media_type": "text/turtle"}
    manifest = {
        "version": version,
        "software": __version__,
        "base_iri": base,
        "server_url": settings.server_url,
        "triples": counts,
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def void_graph(
    settings: Settings, counts: dict[str, int], files: dict[str, dict[str, object]], version: str, data: Graph
) -> Graph:
    """Return the VoID + DCAT description of the dataset (IRIs only, no blank nodes)."""
    base, url = settings.base_iri, settings.server_url
    g = Graph()
    _bind(g, base)
    g.bind("spdx", SPDX)
    ds = URIRef(rebase(str(DATASET_IRI), base))
    endpoint = URIRef(f"{url}/sparql")
    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal("東京都中小企業政策ナレッジグラフ", lang="ja")))
    g.add((ds, DCTERMS.title, Literal("Tokyo SME Policy Knowledge Graph", lang="en")))
    g.add(
        (
            ds,
            DCTERMS.description,
            Literal(
                "Legal bases, the basic concept and regional industrial resources, municipalities, plans, "
                "programs and budgets of small-business policy in Tokyo, from five government documents.",
                lang="en",
            ),
        )
    )
    g.add((ds, DCTERMS.license, CC_BY))
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
    g.add((service, DCAT.endpointURL, endpoint))
    g.add((service, DCAT.servesDataset, ds))
    g.add((service, DCTERMS.title, Literal("SPARQL endpoint", lang="en")))
    g.add((ds, DCAT.accessService, service))
    for name, graph_iri in (("ontology", GRAPH_ONTOLOGY), ("data", GRAPH_DATA), ("inferred", GRAPH_INFERRED)):
        sub = URIRef(rebase(str(graph_iri), base))
        g.add((ds, VOID.subset, sub))
        g.add((sub, RDF.type, VOID.Dataset))
        g.add((sub, DCTERMS.title, Literal(f"{name} graph", lang="en")))
        g.add((sub, VOID.triples, Literal(counts[name], datatype=XSD.integer)))
        g.add((sub, SD.name, sub))
    for name, info in files.items():
        dump = URIRef(f"{url}/dumps/{name}")
        dist = URIRef(f"{rebase(str(DATASET_IRI), base)}/distribution/{name}")
        checksum = URIRef(f"{dist}#checksum")
        if name not in NOT_RDF:
            g.add((ds, VOID.dataDump, dump))
        if name == "tables.zip":
            g.add((dist, DCTERMS.conformsTo, CSVW_SPEC))
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(DUMP_FILES[name][1], lang="en")))
        g.add((dist, DCAT.downloadURL, dump))
        g.add((dist, DCAT.accessURL, dump))
        g.add((dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{info['media_type']}")))
        g.add((dist, DCAT.byteSize, Literal(info["bytes"], datatype=XSD.nonNegativeInteger)))
        g.add((dist, DCTERMS.license, CC_BY))
        g.add((dist, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(info["sha256"], datatype=XSD.hexBinary)))
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
    settings: Settings, out: Path | None = None, reason: bool = True, validate: bool = True
) -> tuple[dict[str, object], Report | None]:
    """Build the graph and write the dumps atomically to ``out`` (default ``settings.dist_dir``).

    Returns the manifest and the SHACL report (None when validation is skipped).
    Raises DataError for bad tables and BuildError when the graph does not conform;
    in both cases ``out`` is untouched.
    """
    out = Path(out or settings.dist_dir)
    graphs = assemble(settings, reason=reason)
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
