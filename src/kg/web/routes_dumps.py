"""Dumps and dataset metadata: /dumps/, /dumps/{file}, /.well-known/void, /dataset."""

from __future__ import annotations

import json
from email.utils import formatdate, parsedate_to_datetime

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS
from rdflib.term import Node

from ..dist import DumpFile
from .common import ERRORS, FILE, JSON_OR_HTML, RDF_OR_HTML, graph_response, templates
from .context import context
from .negotiation import choose_rdf, prefers_html, requested_types

router = APIRouter(tags=["Dumps and metadata"], responses=ERRORS)


def _files(request: Request) -> dict[str, DumpFile]:
    return context(request).manifest["files"]


@router.get("/dumps/", summary="List the dump files with size and checksum", responses=JSON_OR_HTML)
async def list_dumps(request: Request, format: str | None = None) -> Response:
    files = _files(request)
    types = requested_types(request.headers.get("accept"), format)
    if prefers_html(types):
        return templates.TemplateResponse(request, "dumps.html", {"files": files, "version": context(request).version})
    return JSONResponse(
        {
            "version": context(request).version,
            "files": [{"name": n, "url": f"/dumps/{n}", **info} for n, info in sorted(files.items())],
        }
    )


@router.get("/dumps/{name}", summary="Download one dump file (conditional GET supported)", responses=FILE)
async def get_dump(name: str, request: Request) -> Response:
    files = _files(request)
    if name not in files:
        return PlainTextResponse(f"no dump named {name!r}\n", status_code=404)
    path = context(request).settings.dist_dir / name
    info = files[name]
    etag = f'"{info["sha256"]}"'
    mtime = path.stat().st_mtime
    last_modified = formatdate(mtime, usegmt=True)
    headers = {"ETag": etag, "Last-Modified": last_modified, "Cache-Control": "public, max-age=3600"}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    since = request.headers.get("if-modified-since")
    if since and "if-none-match" not in request.headers:
        try:
            if int(mtime) <= parsedate_to_datetime(since).timestamp():
                return Response(status_code=304, headers=headers)
        except (TypeError, ValueError):
            pass
    media = str(info["media_type"])
    if media.startswith("text/") or media.endswith(("json", "trig", "n-triples")):
        media += "; charset=utf-8"
    return FileResponse(path, media_type=media, headers=headers)


def void_graph(request: Request) -> Graph:
    """Return the VoID + DCAT description with this server's real endpoint and dump URLs."""
    settings = context(request).settings
    text = (settings.dist_dir / "void.ttl").read_text(encoding="utf-8")
    built_for = str(context(request).manifest.get("server_url", ""))
    if built_for and built_for != settings.server_url:
        text = text.replace(f"<{built_for}/", f"<{settings.server_url}/")
    return Graph().parse(data=text, format="turtle")


def _text(g: Graph, s: Node | None, p: Node, lang: str) -> str | None:
    values = {getattr(o, "language", None): str(o) for o in g.objects(s, p)}
    return values.get(lang)


def schema_org_dataset(request: Request) -> str:
    """Return schema.org ``Dataset`` JSON-LD (for dataset search engines), built from the DCAT description.

    The text is safe inside ``<script type="application/ld+json">`` (a data block: not executed,
    so the CSP's script-src does not apply; ``</`` is escaped so the block cannot be closed early).
    """
    ctx = context(request)
    key = (ctx.version, ctx.settings.server_url)
    cached = ctx.schema_org_dataset.get(key)
    if cached is not None:
        return cached
    g = void_graph(request)
    ds = next(g.subjects(RDF.type, DCAT.Dataset))
    publisher = g.value(ds, DCTERMS.publisher)
    agent = {
        "@type": "Organization",
        "name": _text(g, publisher, FOAF.name, "en"),
        "alternateName": _text(g, publisher, FOAF.name, "ja"),
        "url": str(g.value(publisher, FOAF.homepage)),
    }
    period = g.value(ds, DCTERMS.temporal)
    spatial = g.value(ds, DCTERMS.spatial)
    doc: dict[str, object] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": str(ds),
        "name": _text(g, ds, DCTERMS.title, "en"),
        "alternateName": _text(g, ds, DCTERMS.title, "ja"),
        "description": _text(g, ds, DCTERMS.description, "en"),
        "url": f"{ctx.settings.server_url}/dataset",
        "identifier": str(ds),
        "license": str(g.value(ds, DCTERMS.license)),
        "isAccessibleForFree": True,
        "creator": agent,
        "publisher": agent,
        "keywords": sorted(str(k) for k in g.objects(ds, DCAT.keyword)),
        "inLanguage": ["ja", "en"],
        "version": str(g.value(ds, OWL.versionInfo)),
        "datePublished": str(g.value(ds, DCTERMS.issued)),
        "dateModified": str(g.value(ds, DCTERMS.modified)),
        "spatialCoverage": {
            "@type": "Place",
            "@id": str(spatial),
            "name": _text(g, spatial, RDFS.label, "ja"),
            "alternateName": _text(g, spatial, RDFS.label, "en"),
        },
        "temporalCoverage": f"{g.value(period, DCAT.startDate)}/{g.value(period, DCAT.endDate)}",
        "distribution": [
            {
                "@type": "DataDownload",
                "name": _text(g, dist, DCTERMS.title, "en"),
                "contentUrl": str(g.value(dist, DCAT.downloadURL)),
                "encodingFormat": str(g.value(dist, DCAT.mediaType)).rsplit("media-types/", 1)[-1],
            }
            for dist in sorted(g.objects(ds, DCAT.distribution), key=str)
        ],
    }
    text = json.dumps(doc, ensure_ascii=False, indent=1).replace("</", "<\\/")
    return ctx.schema_org_dataset.put(key, text)


@router.get("/.well-known/void", summary="VoID description of the dataset", responses=RDF_OR_HTML)
@router.get("/dataset", summary="VoID + DCAT description of the dataset", responses=RDF_OR_HTML)
async def dataset(request: Request, format: str | None = None) -> Response:
    types = requested_types(request.headers.get("accept"), format)
    g = void_graph(request)
    if prefers_html(types):
        manifest = context(request).manifest
        return templates.TemplateResponse(
            request,
            "dataset.html",
            {
                "manifest": manifest,
                "settings": context(request).settings,
                "turtle": g.serialize(format="turtle"),
                "schema_jsonld": schema_org_dataset(request),
            },
        )
    media = choose_rdf(types)
    if media is None:
        return PlainTextResponse(
            "available as text/turtle, application/n-triples, application/ld+json, "
            "application/rdf+xml, application/trig\n",
            status_code=406,
        )
    return graph_response(g, media)
