"""The project's ontology, shapes, saved queries and curated tables, as installed package data.

In a source checkout these are the top-level folders ``ontology/``, ``data/`` and ``queries/`` (the
single copy); ``pyproject.toml`` maps them to the sub-packages ``kg.resources.ontology``,
``kg.resources.data`` and ``kg.resources.queries`` (each folder holds a one-line ``__init__.py`` so that
setuptools' editable install can import it from where it is), so an editable install and a wheel find
them the same way, through :mod:`importlib.resources`.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

NAMES = ("ontology", "data", "queries")


def resource_dir(name: str) -> Path:
    """Return the folder on disk that holds the packaged resource ``name`` (ontology, data, queries).

    Raises RuntimeError when the package is not installed as plain files (e.g. imported from a zip).
    """
    if name not in NAMES:
        raise ValueError(f"unknown resource {name!r}; one of {', '.join(NAMES)}")
    root = files(f"{__name__}.{name}")
    if not isinstance(root, Path):
        raise RuntimeError(f"package resource {name!r} is not a folder on disk ({root!r})")
    return root
