"""`kg query`: what it prints for each query form and format, and which queries it refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT


def _query(built: Path, text: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `kg query - --dist BUILT ARGS` on ``text``; stdout as bytes (CSV lines end in CRLF), stderr as text."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KG_")} | env
    done = subprocess.run([sys.executable, "-m", "kg.cli", "query", "-", "--dist", str(built), *args],
                          input=text.encode(), cwd=ROOT, capture_output=True, timeout=300, env=environment)
    done.stderr = done.stderr.decode()
    return done


@pytest.mark.parametrize("text, answer", [("ASK { ?s ?p ?o }", True), ("ASK { <urn:x:nothing> ?p ?o }", False)])
def test_ask_prints_the_boolean(built, text, answer):
    table = _query(built, text)
    assert table.returncode == 0, table.stderr
    assert table.stdout == f"{answer}\n".encode()
    for fmt in ("json", "csv", "tsv"):
        other = _query(built, text, "--format", fmt)
        assert other.returncode == 0, other.stderr
        assert json.loads(other.stdout) == {"boolean": answer}


@pytest.mark.parametrize("fmt, media", [("csv", "text/csv"), ("tsv", "text/tab-separated-values"),
                                        ("json", "application/sparql-results+json")])
def test_select_prints_what_the_server_answers(built, client, fmt, media):
    """The same query service and serializers: the CLI prints the bytes /sparql sends."""
    text = "SELECT ?law ?label WHERE { ?law a <https://w3id.org/tokyo-sme-kg/ontology#Act> ; " \
           "<http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?law ?label"
    printed = _query(built, text, "--format", fmt)
    assert printed.returncode == 0, printed.stderr
    served = client.get("/sparql", params={"query": text}, headers={"Accept": media})
    assert served.status_code == 200
    assert printed.stdout == served.content
    assert served.headers["x-kg-rows"] != "0"


def test_construct_prints_turtle_as_the_server_does(built, client):
    text = "CONSTRUCT { ?law a <https://w3id.org/tokyo-sme-kg/ontology#Act> } " \
           "WHERE { ?law a <https://w3id.org/tokyo-sme-kg/ontology#Act> }"
    printed = _query(built, text, "--format", "csv")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == client.get("/sparql", params={"query": text},
                                                 headers={"Accept": "text/turtle"}).content


@pytest.mark.parametrize("text, says", [
    ("INSERT DATA { <urn:x:a> <urn:x:b> <urn:x:c> }", "read-only"),
    ("PREFIX x: <urn:x:> DELETE WHERE { ?s ?p ?o }", "read-only"),
    ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE (federated query) is disabled"),
])
def test_refuses_what_the_server_refuses(built, client, text, says):
    printed = _query(built, text)
    assert printed.returncode == 2, printed.stderr
    assert says in " ".join(printed.stderr.split())
    assert "Traceback" not in printed.stderr
    assert client.get("/sparql", params={"query": text}).status_code == 403


def test_row_limit_is_the_servers(built):
    """KG_MAX_ROWS cuts the answer, as on the server, and says so."""
    text = "SELECT ?s WHERE { ?s ?p ?o }"
    printed = _query(built, text, "--format", "csv", KG_MAX_ROWS="3")
    assert printed.returncode == 0, printed.stderr
    assert len(printed.stdout.splitlines()) == 1 + 3
    assert "row limit of 3" in printed.stderr
