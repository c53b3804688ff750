"""The shapes are versioned: a shape that changes without a new version fails here."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from kg.validation.shapes import RECORD_FILE, SHAPES_FILE, ShapesVersionError, check, digest, read_version, set_version

from .conftest import ROOT

SHAPES = "https://w3id.org/tokyo-sme-kg/shapes"


def test_shapes_match_their_recorded_version(settings):
    """Fails when ontology/shapes.ttl changed but its version did not; the message says how to fix it."""
    try:
        version, iri = check(settings.ontology_dir)
    except ShapesVersionError as exc:
        pytest.fail(str(exc))
    assert iri == f"{SHAPES}/{version}"


def test_a_changed_shape_without_new_version_is_caught(settings, tmp_path):
    folder = tmp_path / "ontology"
    shutil.copytree(settings.ontology_dir, folder)
    text = (folder / SHAPES_FILE).read_text(encoding="utf-8")
    (folder / SHAPES_FILE).write_text(text.replace("sh:minCount 2 ;", "sh:minCount 1 ;", 1), encoding="utf-8")
    with pytest.raises(ShapesVersionError) as caught:
        check(folder)
    assert "make shapes-version VERSION=" in str(caught.value) and "did not" in str(caught.value)
    # ... and the command it names fixes it (with the next patch version after the current one)
    current, _ = check(settings.ontology_dir)
    major, minor, patch = (int(x) for x in current.split("."))
    new = f"{major}.{minor}.{patch + 1}"
    result = subprocess.run([sys.executable, "-m", "kg.cli", "shapes", "--set-version", new], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env={"KG_ONTOLOGY_DIR": str(folder),
                                                                             "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert check(folder) == (new, f"{SHAPES}/{new}")
    g = Graph().parse(folder / SHAPES_FILE)
    assert g.value(URIRef(SHAPES), OWL.versionIRI) == URIRef(f"{SHAPES}/{new}")
    with pytest.raises(ShapesVersionError):
        set_version(folder, new)  # a version is never reused


def test_digest_ignores_layout_and_version_triples(settings):
    g = Graph().parse(settings.ontology_dir / SHAPES_FILE)
    again = Graph().parse(data=g.serialize(format="nt"), format="nt")  # other blank-node ids, other order
    again.set((URIRef(SHAPES), OWL.versionInfo, OWL.Nothing))
    assert digest(again) == digest(g)
    assert (settings.ontology_dir / RECORD_FILE).is_file()


def test_version_printed_and_shapes_served(client, settings):
    result = subprocess.run([sys.executable, "-m", "kg.cli", "validate", "--version"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0
    version, iri = read_version(Graph().parse(settings.ontology_dir / SHAPES_FILE))
    assert f"shapes {version} <{iri}>" in result.stdout and "tokyo-sme-kg" in result.stdout
    served = client.get(f"{client.url}/shapes", headers={"Accept": "text/turtle"}, timeout=30)
    assert served.status_code == 200
    assert served.content == (settings.ontology_dir / SHAPES_FILE).read_bytes()
    printed = subprocess.run([sys.executable, "-m", "kg.cli", "shapes"], cwd=ROOT, capture_output=True, timeout=300)
    assert printed.stdout == served.content
    # the versionIRI dereferences while it is the current version; an older or unknown one is 404
    at_version = client.get(f"{client.url}/shapes/{version}", headers={"Accept": "text/turtle"}, timeout=30)
    assert at_version.status_code == 200 and at_version.content == served.content
    assert client.get(f"{client.url}/shapes/0.0.1", timeout=30).status_code == 404
