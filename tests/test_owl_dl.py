"""The ontology as OWL 2 DL tools see it: the OWL API's profile checker, HermiT, Pellet, pyLODE.

- The OWL API (Debian's libowlapi-java 5.1) checks ontology/kg.ttl against the OWL 2 DL profile:
  0 violations. In the published dumps the only violations are the datatypes OWL 2's datatype map
  lacks (xsd:date, xsd:gYear, xsd:gYearMonth); the DL export kg-dl.ttl has none.
- HermiT and Pellet (the jars the owlready2 package ships, driven by our tests/java/Classify.java
  with their default configuration: no "ignore unsupported datatypes") load ontology + data, find
  them consistent with no unsatisfiable class, and give every individual exactly the ontology's
  classes that our OWL RL inferred graph gives it.
- pyLODE renders the ontology with its restrictions spelled out (property + value), not named.

Java sources are compiled once per session into a temporary folder.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib.namespace import RDF

from kg.namespaces import KGO

pytestmark = pytest.mark.slow  # runs other people's engines, installs or real servers

ROOT = Path(__file__).resolve().parents[1]
JAVA_SRC = ROOT / "tests" / "java"
SHARE = Path("/usr/share/java")
# The OWL API's jars and what it needs at run time (Debian's libowlapi-java and its dependencies;
# jaxb-api and javax.activation come with librdf4j-java, whose Turtle parser needs them for blank nodes).
OWLAPI_JARS = ("owlapi-distribution", "guava", "caffeine", "commons-codec", "commons-io", "commons-logging",
               "commons-rdf-api", "commons-rdf-simple", "commons-text", "commons-lang3", "slf4j-api", "slf4j-nop",
               "jsr305", "hppcrt", "jackson-annotations", "jackson-core", "jackson-databind", "xz",
               "atinject-jsr330-api", "httpclient", "httpcore", "jaxb-api", "javax.activation")
OUTSIDE_DATATYPE_MAP = {"xsd:date", "xsd:gYear", "xsd:gYearMonth"}
DATATYPE_KINDS = {"UseOfUndeclaredDatatype", "UseOfDefinedDatatypeInLiteral"}
REGIONAL = ("FarmForestFisheryResource", "MiningManufacturingResource", "TourismResource")


def _need_java() -> None:
    if not (shutil.which("java") and shutil.which("javac")):
        pytest.skip("java/javac not installed (.ci/run installs default-jdk-headless)")


def _compile(source: str, classpath: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["javac", "-nowarn", "-encoding", "UTF-8", "-d", str(out), "-cp", classpath,
                    str(JAVA_SRC / source)], check=True, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="session")
def owlapi(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The classpath to run ProfileCheck (compiled) with the OWL API 5."""
    _need_java()
    if not (SHARE / "owlapi-distribution.jar").exists():
        pytest.skip("libowlapi-java not installed (.ci/run installs it)")
    jars = [SHARE / f"{name}.jar" for name in OWLAPI_JARS]
    jars += sorted(SHARE.glob("rdf4j-*.jar"))
    missing = [str(j) for j in jars if not j.exists()]
    assert not missing, f"libowlapi-java's dependencies are missing: {missing}"
    classpath = ":".join(map(str, jars))
    out = tmp_path_factory.mktemp("profilecheck")
    _compile("ProfileCheck.java", classpath, out)
    return f"{out}:{classpath}"


@pytest.fixture(scope="session")
def reasoners(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Classpaths to run Classify (compiled against the OWL API 3 in HermiT.jar) with HermiT and with Pellet."""
    _need_java()
    spec = importlib.util.find_spec("owlready2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("owlready2 not installed (pip install -e '.[test]')")
    home = Path(spec.submodule_search_locations[0])
    hermit = f"{home / 'hermit'}:{home / 'hermit' / 'HermiT.jar'}"  # as owlready2's sync_reasoner_hermit
    pellet = ":".join(str(j) for j in sorted((home / "pellet").glob("*.jar")))  # as sync_reasoner_pellet
    out = tmp_path_factory.mktemp("classify")
    _compile("Classify.java", hermit, out)
    return {"hermit": f"{out}:{hermit}", "pellet": f"{out}:{pellet}"}


def _profile(classpath: str, *files: Path) -> dict[str, dict[str, object]]:
    """Run ProfileCheck on ``files``; return per file its unparsed triples and violations (kind, text)."""
    proc = subprocess.run(["java", "-cp", classpath, "ProfileCheck", *map(str, files)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    results: dict[str, dict[str, object]] = {}
    unparsed: list[str] = []
    violations: list[tuple[str, str]] = []
    for line in proc.stdout.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "UNPARSED":
            unparsed.append(rest)
        elif kind == "VIOLATION":
            name, _, text = rest.partition("\t")
            violations.append((name, text))
        elif kind == "SUMMARY":
            path, *counts = rest.split("\t")
            numbers = dict(c.split("=") for c in counts)
            assert int(numbers["violations"]) == len(violations) and int(numbers["unparsed"]) == len(unparsed)
            results[Path(path).name] = {"unparsed": unparsed, "violations": violations,
                                        "axioms": int(numbers["axioms"])}
            unparsed, violations = [], []
    assert len(results) == len(files), proc.stdout[-2000:]
    return results


def test_ontology_is_owl2_dl(owlapi):
    result = _profile(owlapi, ROOT / "ontology" / "kg.ttl")["kg.ttl"]
    assert result["unparsed"] == [], "the OWL API could not map these triples to OWL 2"
    assert result["violations"] == [], "\n".join(f"{k}: {t[:300]}" for k, t in result["violations"])
    assert result["axioms"] > 900


def test_profile_checker_reports_what_it_should(owlapi, tmp_path):
    """The same checker on the faults the ontology had: a named restriction, annotation/object punning."""
    bad = tmp_path / "bad.ttl"
    bad.write_text("""
@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dct: <http://purl.org/dc/terms/> . @prefix ex: <http://example.org/> .
ex:o a owl:Ontology ; dct:creator "someone" .
ex:author a owl:ObjectProperty ; rdfs:subPropertyOf dct:creator .
ex:C a owl:Class ; owl:equivalentClass ex:HasValueR .
ex:HasValueR a owl:Restriction ; owl:onProperty ex:author ; owl:hasValue ex:x .
""", encoding="utf-8")
    result = _profile(owlapi, bad)["bad.ttl"]
    kinds = {k for k, _ in result["violations"]}
    assert "IllegalPunning" in kinds and "UseOfUndeclaredClass" in kinds, kinds
    assert result["unparsed"], "the named restriction should be left unparsed"


def test_published_dumps_keep_only_dates_outside_the_datatype_map(owlapi, built):
    results = _profile(owlapi, built / "kg.ttl", built / "kg.nt", built / "kg-dl.ttl")
    for name in ("kg.ttl", "kg.nt"):
        result = results[name]
        assert result["unparsed"] == []
        other = [(k, t[:300]) for k, t in result["violations"] if k not in DATATYPE_KINDS]
        assert not other, other
        named = Counter(m for _, t in result["violations"]
                        for m in re.findall(r'(?:datatype: |"\^\^)(xsd:\w+)', t))
        assert set(named) == OUTSIDE_DATATYPE_MAP, named
    dl = results["kg-dl.ttl"]
    assert dl["unparsed"] == [] and dl["violations"] == [], dl["violations"][:5]
    assert dl["axioms"] == results["kg.ttl"]["axioms"]


def _ours(built: Path) -> dict[str, set[str]]:
    """Individual → the ontology's classes it has in ontology + data + OWL RL inferred graph (kg.trig)."""
    types: dict[str, set[str]] = {}
    for q in ox.parse(path=str(built / "kg.trig"), format=ox.RdfFormat.TRIG):  # all three named graphs
        if q.predicate.value == str(RDF.type) and q.object.value.startswith(str(KGO)):
            types.setdefault(q.subject.value, set()).add(q.object.value)
    return types


def _classify(classpath: str, reasoner: str, file: Path) -> tuple[list[str], dict[str, set[str]]]:
    proc = subprocess.run(["java", "-Xmx2g", "-cp", classpath, "Classify", reasoner, str(file), str(KGO)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{reasoner} on {file.name}: {proc.stderr[-3000:]}"
    head, types = [], {}
    for line in proc.stdout.splitlines():
        if line.startswith("TYPE "):
            _, individual, cls = line.split(" ")
            types.setdefault(individual, set()).add(cls)
        else:
            head.append(line)
    return head, types


@pytest.fixture(scope="module")
def classified(reasoners, built) -> dict[tuple[str, str], tuple[list[str], dict[str, set[str]]]]:
    """HermiT and Pellet on the published kg.ttl and on the DL export kg-dl.ttl, run side by side."""
    runs = [(r, f) for r in ("hermit", "pellet") for f in ("kg.ttl", "kg-dl.ttl")]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        futures = {run: pool.submit(_classify, reasoners[run[0]], run[0], built / run[1]) for run in runs}
        return {run: f.result() for run, f in futures.items()}


@pytest.fixture(scope="module")
def ours(built) -> dict[str, set[str]]:
    return _ours(built)


@pytest.mark.parametrize("file", ["kg.ttl", "kg-dl.ttl"])
@pytest.mark.parametrize("reasoner", ["hermit", "pellet"])
def test_dl_reasoner_agrees_with_owl_rl(classified, ours, reasoner, file):
    head, types = classified[(reasoner, file)]
    if reasoner == "hermit":
        assert "CONFIG ignoreUnsupportedDatatypes=false" in head
    assert "CONSISTENT true" in head, head
    assert not [h for h in head if h.startswith("UNSATISFIABLE")], head
    # every individual: exactly the ontology's classes of our inferred graph, no more, no fewer
    assert types.keys() == ours.keys()
    differ = {i: (sorted(ours[i] - types[i]), sorted(types[i] - ours[i])) for i in ours if ours[i] != types[i]}
    assert not differ, list(differ.items())[:5]
    # the regional resources in particular, each in one type class defined by its resource type
    regional = {i for i, t in ours.items() if str(KGO.RegionalResource) in t}
    counts = Counter(c.rsplit("#", 1)[1] for i in regional for c in types[i] if c.rsplit("#", 1)[1] in REGIONAL)
    assert sum(counts.values()) == len(regional) > 0, counts
    assert all(len([c for c in types[i] if c.rsplit("#", 1)[1] in REGIONAL]) == 1 for i in regional)
    print(f"{reasoner} on {file}: {len(regional)} regional resources, {dict(counts)}")


def test_pylode_spells_out_restrictions():
    pylode = pytest.importorskip("pylode", reason="pyLODE not installed (pip install -e '.[test]')")
    html = pylode.OntPub(ontology=str(ROOT / "ontology" / "kg.ttl")).make_html()
    assert "HasType" not in html  # no opaque restriction names
    for name, value in (("TourismResource", "tourism"), ("MiningManufacturingResource", "mining-manufacturing"),
                        ("FarmForestFisheryResource", "farm-forest-fishery")):
        section = html[html.index(f'id="{name}"'):]
        section = section[:section.index("</table>")]  # the class's own table
        cell = section[section.index("#equivalentClass"):]
        cell = re.sub(r"\s+", " ", cell[:cell.index("</td>")])
        assert '<a href="#resourceType">' in cell and "value" in cell, cell
        assert f"https://w3id.org/tokyo-sme-kg/id/resource-type/{value}" in cell, cell
