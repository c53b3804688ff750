"""Every common SHACL engine gives our graph and every fixture the same verdict and the same results.

Engines, each run as its users run it: pySHACL (reference) and the Rust `shacl` through
kg.validation.shacl, rudof through pyrudof, and the JavaScript engines shacl-engine (with its SHACL-SPARQL
plugin) and rdf-validate-shacl (SHACL Core only) through tests/js/validate.mjs, one Node process
per engine for all files. The Python engines read ontology/shapes.ttl as published; the JavaScript
engines read what we ship for them: `kg shapes --standalone` (no owl:imports, the ontology's
subclass axioms included) and, for the engine without SHACL-SPARQL, `kg shapes --standalone --core`.

Results are compared as (focus node, result path, source shape) for IRI focus nodes: every
engine must give pySHACL's set exactly, except that an engine without SHACL-SPARQL gives it less
the results of the constraints listed in kg.validation.shapes.SPARQL_ONLY — and so misses the intended
violation of exactly the fixtures listed there, and of no other.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph

from kg.pipeline.builder import choose_engines
from kg.validation import SPARQL_ONLY
from kg.validation import standalone_shapes as standalone
from kg.validation.shacl import run_validation

from .conftest import FIXTURES, ROOT

pytestmark = pytest.mark.slow  # runs other people's engines, installs or real servers

JS = ROOT / "tests" / "js"
VALID = sorted((FIXTURES / "valid").glob("*.ttl"))
INVALID = sorted((FIXTURES / "invalid").glob("*.ttl"))
PREFIXES = {"kgs": "https://w3id.org/tokyo-sme-kg/shapes#", "kgo": "https://w3id.org/tokyo-sme-kg/ontology#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "prov": "http://www.w3.org/ns/prov#",
            "time": "http://www.w3.org/2006/time#", "skos": "http://www.w3.org/2004/02/skos/core#"}
JS_ENGINES = {"shacl-engine": False, "rdf-validate-shacl": True}  # engine -> reads the Core-only shapes


def _expand(curie: str) -> str:
    prefix, local = curie.split(":", 1)
    return PREFIXES[prefix] + local


def _expected(fixture: Path) -> tuple[str, str]:
    header = dict(re.findall(r"^# expect-(shape|path): (\S+)$", fixture.read_text(encoding="utf-8"), re.M))
    return _expand(header["shape"]), _expand(header["path"])


def _key(results) -> set[tuple[str, str, str]]:
    """(focus, path, source shape) of each result whose focus node has an IRI."""
    return {(f, p, s) for f, p, s in results if not f.startswith("_:") and f.startswith("http")}


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """tests/js installed with `npm ci` (once, again only when package-lock.json changes)."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are not installed (.ci/run installs them with apt-get)")
    lock = hashlib.sha256((JS / "package-lock.json").read_bytes()).hexdigest()
    stamp = JS / "node_modules" / ".kg-package-lock.sha256"
    if not stamp.exists() or stamp.read_text().strip() != lock:
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(JS)], capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        stamp.write_text(lock + "\n")
    return JS / "node_modules"


@pytest.fixture(scope="module")
def files(tmp_path_factory, graphs, settings):
    """The file sets validated: our graph (data + ontology), and each fixture with the ontology."""
    tmp = tmp_path_factory.mktemp("engines")
    (graphs.data + graphs.ontology).serialize(tmp / "graph.nt", format="nt", encoding="utf-8")
    graphs.ontology.serialize(tmp / "ontology.nt", format="nt", encoding="utf-8")
    shapes = Graph().parse(settings.ontology_dir / "shapes.ttl")
    standalone(shapes, graphs.ontology).serialize(tmp / "standalone.ttl", format="turtle", encoding="utf-8")
    standalone(shapes, graphs.ontology, core=True).serialize(tmp / "core.ttl", format="turtle", encoding="utf-8")
    jobs = {"graph": [tmp / "graph.nt"]}
    for fixture in VALID + INVALID:
        jobs[f"{fixture.parent.name}/{fixture.stem}"] = [fixture, tmp / "ontology.nt"]
    (tmp / "jobs.json").write_text(json.dumps([{"name": k, "files": [str(f) for f in v]} for k, v in jobs.items()]))
    return tmp, jobs, shapes


@pytest.fixture(scope="module")
def reports(files, node_modules, graphs, settings, request):
    """{engine: {job: (conforms, [(focus, path, source shape), ...])}} for all five engines.

    The two Node processes run while the Python engines do (shacl-engine's SPARQL plugin starts a
    query engine for every focus node: about 50 s on our graph).
    """
    tmp, jobs, shapes = files
    procs = {
        engine: subprocess.Popen(["node", str(JS / "validate.mjs"), engine, str(tmp / ("core.ttl" if core else
                                 "standalone.ttl")), str(tmp / "jobs.json")], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        for engine, core in JS_ENGINES.items()
    }
    out: dict[str, dict] = {"pyshacl": {}, "shacl": {}, "rudof": {}}
    intended: dict[str, set[tuple[str, str, str]]] = {}
    import pyrudof

    rudof = pyrudof.Rudof(pyrudof.RudofConfig())
    rudof.read_shacl(str(ROOT / "ontology" / "shapes.ttl"), pyrudof.ShaclFormat.Turtle)
    for job, paths in jobs.items():
        data = graphs.data + graphs.ontology if job == "graph" else Graph().parse(paths[0]) + graphs.ontology
        for engine in ("pyshacl", "shacl"):
            if engine == "pyshacl" and job == "graph" and choose_engines(settings, len(graphs.data)).validator == "pyshacl":
                # the build validates our graph with pySHACL and stops unless it conforms with no result
                request.getfixturevalue("built")
                out[engine][job] = (True, [])
                continue
            report = run_validation(data, shapes, engine=engine)
            out[engine][job] = (report.conforms, [(v.focus, v.path, v.shape) for v in report.violations])
            if engine == "pyshacl" and job.startswith("invalid/"):  # the fixture's intended violation
                shape, path = _expected(paths[0])
                intended[job] = {(v.focus, v.path, v.shape) for v in report.violations
                                 if (v.node_shape, v.path) == (shape, path)}
        rudof.reset_data()
        for i, path in enumerate(paths):
            fmt = pyrudof.RDFFormat.NTriples if path.suffix == ".nt" else pyrudof.RDFFormat.Turtle
            rudof.read_data(str(path), fmt, merge=i > 0)
        report = rudof.validate_shacl()
        out["rudof"][job] = (report.conforms, [(v.focus_node, v.path or "", str(v.source_shape))
                                               for v in report.violations])
    for engine, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        parsed = json.loads(stdout)
        out[engine] = {}
        for job, r in parsed.items():
            assert "error" not in r, f"{engine} on {job}: {r.get('error')}"
            out[engine][job] = (r["conforms"], [(x["focus"], x["path"], x["shape"]) for x in r["results"]])
    out["intended"] = intended
    return out


ENGINES = ["shacl", "rudof", *JS_ENGINES]


def _without_sparql(engine: str) -> bool:
    return JS_ENGINES.get(engine, False)


def test_every_file_set_validated(reports, files):
    _, jobs, _ = files
    assert len(jobs) == 1 + len(VALID) + len(INVALID) and len(INVALID) >= 24
    for engine in ("pyshacl", *ENGINES):
        assert set(reports[engine]) == set(jobs), engine


@pytest.mark.parametrize("engine", ENGINES)
def test_same_verdict(engine, reports):
    reference = reports["pyshacl"]
    assert reference["graph"][0] is True
    assert all(reference[f"valid/{p.stem}"][0] for p in VALID)
    assert not any(reference[f"invalid/{p.stem}"][0] for p in INVALID)
    differ = {job: (reference[job][0], c) for job, (c, _) in reports[engine].items() if c != reference[job][0]}
    assert not differ, differ


@pytest.mark.parametrize("engine", ENGINES)
def test_same_results(engine, reports):
    """pySHACL's results exactly; without SHACL-SPARQL, less those of the SPARQL_ONLY constraints."""
    differ = {}
    for job, (_, results) in reports[engine].items():
        expected = _key(reports["pyshacl"][job][1])
        if _without_sparql(engine):
            expected = {r for r in expected if r[2] not in SPARQL_ONLY}
        got = _key(results)
        if got != expected:
            differ[job] = {"missing": sorted(expected - got)[:5], "extra": sorted(got - expected)[:5]}
    assert not differ, json.dumps(differ, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_intended_violation_reported(engine, reports):
    """Each invalid fixture's intended violation (focus node + path, from its shape): every engine reports it, except
    that an engine without SHACL-SPARQL misses exactly the fixtures named in SPARQL_ONLY."""
    missed = set()
    for fixture in INVALID:
        job = f"invalid/{fixture.stem}"
        shape, path = _expected(fixture)
        intended = reports["intended"][job]
        assert intended, (job, shape, path)
        got = set(reports[engine][job][1])
        if not intended <= got:
            missed.add(fixture.stem)
    expected = {name for name, _ in SPARQL_ONLY.values()} if _without_sparql(engine) else set()
    assert missed == expected


def test_sparql_only_list_matches_the_shapes(settings):
    """The list names exactly the shapes that carry sh:sparql, one constraint each, and real fixtures."""
    from rdflib.namespace import SH

    shapes = Graph().parse(settings.ontology_dir / "shapes.ttl")
    carriers = [str(s) for s, _ in shapes.subject_objects(SH.sparql)]
    assert sorted(carriers) == sorted(SPARQL_ONLY) and len(carriers) == len(set(carriers))
    assert {name for name, _ in SPARQL_ONLY.values()} <= {p.stem for p in INVALID}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for shape, (fixture, _) in SPARQL_ONLY.items():
        assert "kgs:" + shape.rsplit("#", 1)[1] in readme and fixture in readme


def test_cli_prints_standalone_shapes(files):
    tmp, _, _ = files
    for flags, name in ((["--standalone"], "standalone.ttl"), (["--standalone", "--core"], "core.ttl")):
        done = subprocess.run([sys.executable, "-m", "kg.cli", "shapes", *flags], cwd=ROOT, capture_output=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        printed = Graph().parse(data=done.stdout.decode("utf-8"), format="turtle")
        from rdflib.compare import isomorphic
        from rdflib.namespace import OWL, RDFS, SH
        assert isomorphic(printed, Graph().parse(tmp / name))
        assert not list(printed.triples((None, OWL.imports, None)))
        assert len(list(printed.triples((None, RDFS.subClassOf, None)))) >= 30
        assert bool(list(printed.triples((None, SH.sparql, None)))) == (name == "standalone.ttl")


def test_readme_javascript_validator(node_modules, tmp_path):
    """The README's JavaScript CI snippet, run as written: 0 on a valid file, 1 with the check-digit message."""
    from .readme_blocks import section_blocks

    blocks = section_blocks()
    (tmp_path / "validate.mjs").write_text(blocks["js"], encoding="utf-8")
    (tmp_path / "package.json").write_text('{"type": "module"}\n')
    (tmp_path / "node_modules").symlink_to(node_modules)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(tmp_path)}
    script = "set -e\n" + "\n".join(line.split("  #", 1)[0] for line in blocks["js_cli"][:-1])
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rdf = tmp_path / "rdf"
    rdf.mkdir()
    for fixture, code in ((FIXTURES / "valid" / "chiyoda.ttl", 0), (FIXTURES / "invalid" / "bad-check-digit.ttl", 1)):
        for old in rdf.iterdir():
            old.unlink()
        shutil.copy(fixture, rdf / fixture.name)
        run = subprocess.run(["bash", "-c", blocks["js_cli"][-1]], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == code, run.stdout + run.stderr
        if code:
            assert "check digit" in run.stdout and "検査数字" in run.stdout
