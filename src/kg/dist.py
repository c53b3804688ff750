"""What a build leaves in ``dist/``: the manifest that names its version and files.

The build pipeline writes it; the query side reads it. Both import this small module, so the
server never loads the builder to learn one file name.
"""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = "manifest.json"


class StoreError(Exception):
    """The built dataset is missing or unreadable."""


def read_manifest(dist_dir: Path) -> dict[str, object]:
    """Return the build manifest of ``dist_dir`` or raise StoreError."""
    path = dist_dir / MANIFEST
    if not path.is_file():
        raise StoreError(f"{dist_dir} holds no build (no {MANIFEST}); run `kg build` first")
    return json.loads(path.read_text(encoding="utf-8"))
