"""The build publishes the tables with their CSVW metadata as dist/tables.zip, described in void.ttl."""

from __future__ import annotations

import zipfile

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, VOID

from kg.namespaces import CC_BY
from kg.pipeline.builder import TABLES_FOLDER, write_tables_zip
from kg.pipeline.table_schema import METADATA_FILE, read_schema

from .conftest import ROOT
from .test_tables_metadata import _csvw_errors


def test_zip_holds_the_metadata_and_every_table_unchanged(built):
    with zipfile.ZipFile(built / "tables.zip") as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        tables = [t.file for t in read_schema(ROOT / "data" / METADATA_FILE).tables]
        assert names == sorted(f"{TABLES_FOLDER}/{n}" for n in [METADATA_FILE, *tables])
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        for info in infos:
            assert zf.read(info) == (ROOT / "data" / info.filename.split("/", 1)[1]).read_bytes()


def test_zip_is_byte_identical_between_builds(tmp_path, built):
    write_tables_zip(ROOT / "data", tmp_path / "again.zip")
    assert (tmp_path / "again.zip").read_bytes() == (built / "tables.zip").read_bytes()


def test_unzipped_tables_are_valid_csvw_on_their_own(tmp_path, built):
    with zipfile.ZipFile(built / "tables.zip") as zf:
        zf.extractall(tmp_path)
    assert _csvw_errors(tmp_path / TABLES_FOLDER / METADATA_FILE) == []


def test_void_describes_the_tables_distribution(built):
    g = Graph().parse(built / "void.ttl", format="turtle")
    (dist,) = [d for d in g.subjects(RDF.type, DCAT.Distribution) if str(d).endswith("/tables.zip")]
    (url,) = g.objects(dist, DCAT.downloadURL)
    assert str(url).endswith("/dumps/tables.zip")
    assert (dist, DCTERMS.license, CC_BY) in g
    assert (dist, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/application/zip")) in g
    assert (dist, DCTERMS.conformsTo, URIRef("http://www.w3.org/TR/tabular-metadata/")) in g
    assert (None, DCAT.distribution, dist) in g
    assert not list(g.subjects(VOID.dataDump, url)), "a zip of CSV files is not an RDF dump"
    size = (built / "tables.zip").stat().st_size
    assert any(o == Literal(size) or str(o) == str(size) for o in g.objects(dist, DCAT.byteSize))


def test_server_lists_and_serves_the_tables(client, built):
    listing = {f["name"]: f for f in client.get(f"{client.url}/dumps/").json()["files"]}
    assert listing["tables.zip"]["media_type"] == "application/zip"
    r = client.get(f"{client.url}/dumps/tables.zip")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert r.content == (built / "tables.zip").read_bytes()
