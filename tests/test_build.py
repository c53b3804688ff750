"""Dumps: all formats parse with rdflib and pyoxigraph and agree; builds are deterministic and atomic."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic
from rdflib.namespace import VOID

import kg.pipeline.builder as build_module
from kg.namespaces import DATASET_IRI, GRAPH_DATA, GRAPH_INFERRED, GRAPH_ONTOLOGY
from kg.pipeline.builder import BuildError, build
from kg.pipeline.tables import DataError

from .conftest import ROOT

OX_FORMATS = {"kg.ttl": ox.RdfFormat.TURTLE, "kg.nt": ox.RdfFormat.N_TRIPLES,
              "kg.jsonld": ox.RdfFormat.JSON_LD, "kg.trig": ox.RdfFormat.TRIG, "void.ttl": ox.RdfFormat.TURTLE}


def _snapshot(folder: Path) -> dict[str, bytes]:
    """The build's own files (what its manifest lists, and the manifest), not the server's store beside them."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def test_dump_files(built):
    names = {p.name for p in built.iterdir()}
    assert {"kg.ttl", "kg.nt", "kg.jsonld", "context.jsonld", "kg.trig", "void.ttl", "manifest.json"} <= names


def test_dumps_parse_with_both_libraries_and_agree(built):
    graphs = {}
    for name, fmt in OX_FORMATS.items():
        quads = list(ox.parse(path=str(built / name), format=fmt))
        assert quads, name
        if name == "kg.trig":
            ds = Dataset()
            ds.parse(built / name, format="trig")
            graphs[name] = {str(c.identifier): c for c in ds.graphs() if len(c)}
        elif name != "void.ttl":
            fmt_name = {"kg.ttl": "turtle", "kg.nt": "nt", "kg.jsonld": "json-ld"}[name]
            graphs[name] = Graph().parse(built / name, format=fmt_name)
            assert len(graphs[name]) == len(quads), name
    ttl = graphs["kg.ttl"]
    assert isomorphic(ttl, graphs["kg.nt"])
    assert isomorphic(ttl, graphs["kg.jsonld"])
    trig = graphs["kg.trig"]
    assert isomorphic(ttl, trig[str(GRAPH_ONTOLOGY)] + trig[str(GRAPH_DATA)])
    assert len(trig[str(GRAPH_INFERRED)]) > 1000


def test_nt_is_sorted(built):
    lines = (built / "kg.nt").read_text(encoding="utf-8").splitlines()
    assert lines == sorted(lines)


def test_void_counts_and_links(built):
    void = Graph().parse(built / "void.ttl")
    manifest = json.loads((built / "manifest.json").read_text())
    total = sum(manifest["triples"].values())
    assert int(void.value(DATASET_IRI, VOID.triples)) == total
    subsets = {int(void.value(s, VOID.triples)) for s in void.objects(DATASET_IRI, VOID.subset)}
    assert subsets == set(manifest["triples"].values())
    dumps = {str(d).rsplit("/", 1)[-1] for d in void.objects(DATASET_IRI, VOID.dataDump)}
    assert {"kg.ttl", "kg.nt", "kg.jsonld", "kg.trig"} <= dumps
    assert str(void.value(DATASET_IRI, VOID.sparqlEndpoint)).endswith("/sparql")


def _build_in_subprocess(out: Path, seed: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run([sys.executable, "-m", "kg.cli", "build", "--out", str(out), *extra],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_builds_are_byte_identical(tmp_path, built):
    out = tmp_path / "again"
    # validation writes nothing (the session build validated the same input): the dumps are what is compared
    result = _build_in_subprocess(out, "12345", ("--no-validate",))
    assert result.returncode == 0, result.stderr
    assert _snapshot(out) == _snapshot(built)


def test_no_reason_leaves_inferred_graph_empty(tmp_path, settings):
    manifest, _ = build(settings, tmp_path / "d", reason=False, validate=False)
    assert manifest["triples"]["inferred"] == 0


def test_failed_write_leaves_dist_intact(tmp_path, settings, monkeypatch, built):
    out = tmp_path / "dist"
    shutil.copytree(built, out)  # a previous build's dist
    before = _snapshot(out)

    def explode(graphs, folder, s):
        (folder / "kg.ttl").write_text("half-written")
        raise OSError("disk full")

    monkeypatch.setattr(build_module, "write_dumps", explode)
    with pytest.raises(OSError):
        build(settings, out, reason=False, validate=False)  # reasoning comes before the write: not under test
    assert _snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["dist"]


def test_bad_data_leaves_dist_intact(tmp_path, settings, data_copy):
    out = tmp_path / "dist"
    build(settings, out, validate=False, reason=False)
    before = _snapshot(out)
    (data_copy / "municipalities.csv").write_text("code6\n", encoding="utf-8")
    with pytest.raises(DataError):
        build(settings.with_overrides(data_dir=data_copy), out)
    assert _snapshot(out) == before


def test_nonconforming_graph_fails_build(tmp_path, settings, data_copy):
    # A legal-basis row whose repeal precedes its entry into force passes the table checks
    # but violates the Act shape: the build must refuse to write.
    f = data_copy / "legal_bases.csv"
    f.write_text(f.read_text(encoding="utf-8").replace("2020-10-01", "2001-10-01"), encoding="utf-8")
    out = tmp_path / "dist"
    with pytest.raises(BuildError, match="does not conform"):  # validation reads data + ontology, not the inferred graph
        build(settings.with_overrides(data_dir=data_copy), out, reason=False)
    assert not out.exists()


@pytest.mark.slow
def test_killed_build_leaves_dist_intact(tmp_path, built):
    out = tmp_path / "dist"
    out.mkdir()
    for name, data in _snapshot(built).items():
        (out / name).write_bytes(data)
    before = _snapshot(out)
    env = {**os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "build", "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)  # in the middle of mapping/reasoning
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _snapshot(out) == before
