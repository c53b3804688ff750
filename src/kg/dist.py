"""What a build leaves in ``dist/``: the manifest that names its version and files.

The build pipeline writes it; the query side reads it. Both import this small module, so the
server never loads the builder to learn one file name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

MANIFEST = "manifest.json"


class DumpFile(TypedDict):
    """One file of the build, as the manifest lists it."""

    bytes: int
    sha256: str
    media_type: str


class Manifest(TypedDict):
    """``manifest.json``: the build's version (a digest of its files), software, IRIs, triple counts and files."""

    version: str
    software: str
    base_iri: str
    server_url: str
    triples: dict[str, int]  # per graph: ontology, data, inferred
    files: dict[str, DumpFile]


class StoreError(Exception):
    """The built dataset is missing or unreadable."""


def read_manifest(dist_dir: Path) -> Manifest:
    """Return the build manifest of ``dist_dir`` or raise StoreError."""
    path = dist_dir / MANIFEST
    if not path.is_file():
        raise StoreError(f"{dist_dir} holds no build (no {MANIFEST}); run `kg build` first")
    manifest: Manifest = json.loads(path.read_text(encoding="utf-8"))
    return manifest
