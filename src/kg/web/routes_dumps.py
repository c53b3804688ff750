"""Dumps and dataset metadata: /dumps/, /dumps/{file}, /.well-known/void, /dataset."""

from __future__ import annotations

from email.utils import formatdate, parsedate_to_datetime

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response

from ..dist import DumpFile
from .common import ERRORS, FILE, JSON_OR_HTML, RDF_OR_HTML, templates
from .context import context
from .negotiation import prefers_html, requested_types
from .pages import dataset_answer

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


@router.get("/.well-known/void", summary="VoID description of the dataset", responses=RDF_OR_HTML)
@router.get("/dataset", summary="VoID + DCAT description of the dataset", responses=RDF_OR_HTML)
async def dataset(request: Request, format: str | None = None) -> Response:
    return dataset_answer(request, requested_types(request.headers.get("accept"), format))
