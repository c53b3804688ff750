"""A CKAN portal harvests /dataset whole: CKAN + ckanext-dcat's DCAT-AP 3 parser, as portals run it.

The parse runs in a separate environment, .venv/ckan (made once, kept until pyproject.toml's
``ckan`` extra changes): CKAN pins its own requirements exactly, and those pins would downgrade a
dozen packages this project's environment shares (see the ``ckan`` extra in pyproject.toml). It
gets the packages of that extra and CKAN's own pinned requirements less psycopg2 (the PostgreSQL
driver; a parse uses no database), from PyPI. tests/ckan_harvest.py is what runs there.

What a harvest must keep: one dataset; the licence as CKAN's ``cc-by`` entry; the title and the
description in the portal's language (CKAN as installed keeps one language: its
``ckan.locale_default``; its licence register's titles are in that language too), and in both where the portal has translated fields (ckanext-scheming
with fluent title and description); every distribution as a resource with its format, and its
size and checksum (all but void.ttl, which cannot hold its own).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, OWL, RDF, RDFS

from kg.namespaces import CC_BY, SPDX
from kg.pipeline.builder import DUMP_FILES
from kg.settings import Settings
from kg.web.app import create_app

from .conftest import ROOT

pytestmark = pytest.mark.slow  # runs other people's engines, installs or real servers

VENV = ROOT / ".venv" / "ckan"  # inside .venv: ignored by git and by copies of the tree, gone with .venv
HARVEST = Path(__file__).with_name("ckan_harvest.py")
NO_DATABASE = {"psycopg2"}  # CKAN's PostgreSQL driver (compiled against libpq): unused by a parse


def _pip(python: Path, *args: str) -> None:
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *args], capture_output=True, text=True)
    if done.returncode:
        pytest.fail(f"installing CKAN into {VENV} failed:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def ckan_python() -> Path:
    """CKAN's Python: .venv/ckan with the ``ckan`` extra and CKAN's pinned requirements."""
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["ckan"]
    python, stamp = VENV / "bin" / "python", VENV / ".installed"
    if python.exists() and stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    _pip(python, *wanted)
    listed = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m, json; print(json.dumps(m.requires('ckan')))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    pins = [Requirement(r) for r in json.loads(listed.stdout)]
    _pip(python, *(str(r).split(";")[0] for r in pins
                   if r.marker and r.marker.evaluate({"extra": "requirements"}) and r.name not in NO_DATABASE))  # fmt: skip
    stamp.write_text(json.dumps(wanted))
    return python


@pytest.fixture(scope="module")
def served(built: Path, settings: Settings) -> str:
    """The Turtle that GET /dataset answers (the application in process, over ASGI)."""
    app = create_app(replace(settings, dist_dir=built))

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.server_url) as client:
            return await client.get("/dataset", headers={"Accept": "text/turtle"})

    r = asyncio.run(get())
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/turtle")
    return r.text


@pytest.fixture(scope="module")
def description(served: str) -> Graph:
    return Graph().parse(data=served, format="turtle")


@pytest.fixture(scope="module")
def harvest(ckan_python: Path, served: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("ckan")
    (work / "dataset.ttl").write_text(served, encoding="utf-8")
    done = subprocess.run(
        [str(ckan_python), str(HARVEST), str(work / "dataset.ttl"), str(work)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _dataset(harvest: dict, portal: str) -> dict:
    datasets = harvest["portals"][portal]
    assert len(datasets) == 1, [d.get("title") for d in datasets]
    return datasets[0]


def _texts(g: Graph, s: URIRef, p: URIRef) -> dict[str, str]:
    return {o.language: str(o) for o in g.objects(s, p)}


def test_served_description_is_the_built_one(description: Graph, built: Path):
    assert isomorphic(description, Graph().parse(built / "void.ttl", format="turtle"))


@pytest.mark.parametrize("portal", ["en", "ja", "multilingual"])
def test_licence_maps_to_ccs_cc_by_entry(harvest: dict, portal: str):
    assert _dataset(harvest, portal)["license_id"] == "cc-by"


def test_licence_is_stated_as_it_is(harvest: dict, description: Graph):
    """CC BY 4.0 by its own IRI everywhere; CKAN matches it by its title, the name of the licence."""
    ds = next(description.subjects(RDF.type, DCAT.Dataset))
    dists = list(description.objects(ds, DCAT.distribution))
    assert {description.value(x, DCTERMS.license) for x in [ds, *dists]} == {CC_BY}
    assert str(CC_BY) == "https://creativecommons.org/licenses/by/4.0/"
    # not matched by IRI (CKAN's entry is any version of CC BY) but by title, in the portal's language
    entries = {lang: register["cc-by"] for lang, register in harvest["registers"].items()}
    assert {e["url"] for e in entries.values()} == {"http://www.opendefinition.org/licenses/cc-by"}
    assert _texts(description, CC_BY, DCTERMS.title) == {lang: e["title"] for lang, e in entries.items()}
    assert entries["ja"]["title"] != entries["en"]["title"]  # a ja portal's register is in Japanese
    assert str(description.value(CC_BY, OWL.versionInfo)) == "4.0 International"
    label = str(description.value(CC_BY, RDFS.label))
    assert label == "Creative Commons Attribution 4.0 International"
    # each resource keeps the licence's full name
    assert {r["license"] for r in _dataset(harvest, "en")["resources"]} == {label}


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_title_and_description_in_the_portals_language(harvest: dict, description: Graph, lang: str):
    ds = next(description.subjects(RDF.type, DCAT.Dataset))
    got = _dataset(harvest, lang)
    assert got["title"] == _texts(description, ds, DCTERMS.title)[lang]
    assert got["notes"] == _texts(description, ds, DCTERMS.description)[lang]


def test_title_and_description_in_both_languages_on_a_ja_en_portal(harvest: dict, description: Graph):
    ds = next(description.subjects(RDF.type, DCAT.Dataset))
    got = _dataset(harvest, "multilingual")
    titles, descriptions = _texts(description, ds, DCTERMS.title), _texts(description, ds, DCTERMS.description)
    assert set(titles) == set(descriptions) == {"ja", "en"}
    assert got["title_translated"] == titles
    assert got["notes_translated"] == descriptions
    assert (got["title"], got["notes"]) == (titles["ja"], descriptions["ja"])  # the portal's default language


def test_keywords_coverage_and_publisher_survive(harvest: dict, description: Graph):
    ds = next(description.subjects(RDF.type, DCAT.Dataset))
    got = _dataset(harvest, "en")
    extras = {e["key"]: e["value"] for e in got["extras"]}
    assert {t["name"] for t in got["tags"]} == {str(k) for k in description.objects(ds, DCAT.keyword)}
    assert {t["name"] for t in got["tags"]} & {"東京都", "Tokyo"} == {"東京都", "Tokyo"}
    assert extras["uri"] == str(ds)
    assert extras["spatial_uri"] == str(description.value(ds, DCTERMS.spatial))
    period = description.value(ds, DCTERMS.temporal)
    assert (extras["temporal_start"], extras["temporal_end"]) == (
        str(description.value(period, DCAT.startDate)),
        str(description.value(period, DCAT.endDate)),
    )
    assert extras["publisher_uri"] == str(description.value(ds, DCTERMS.publisher))


def test_every_distribution_is_a_resource_with_format_size_and_checksum(
    harvest: dict, description: Graph, built: Path
):
    ds = next(description.subjects(RDF.type, DCAT.Dataset))
    dists = {str(d): d for d in description.objects(ds, DCAT.distribution)}
    resources = {r["uri"]: r for r in _dataset(harvest, "en")["resources"]}
    assert len(dists) == len(DUMP_FILES) + 1  # the dumps and the description itself (void.ttl)
    assert set(resources) == set(dists)
    for uri, dist in dists.items():
        r, name = resources[uri], uri.rsplit("/", 1)[-1]
        assert r["url"] == r["download_url"] == str(description.value(dist, DCAT.downloadURL)), name
        assert r["format"] == str(description.value(dist, DCTERMS["format"])), name
        assert r["mimetype"] == str(description.value(dist, DCAT.mediaType)), name
        if name == "void.ttl":  # a file cannot state its own size and checksum
            assert "size" not in r and "hash" not in r
            continue
        data = (built / name).read_bytes()
        assert r["size"] == len(data), name
        assert r["hash"] == hashlib.sha256(data).hexdigest(), name
        assert r["hash_algorithm"] == str(SPDX.checksumAlgorithm_sha256), name
