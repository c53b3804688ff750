"""`kg publish` in chunks into a real Virtuoso (Debian `virtuoso-opensource`) on loopback, and
Virtuoso's own limits as `KG_BACKEND` sees them.

A small synthetic edition (`kg synth --scale 20000`, built with the fast engines) is published in
small chunks (several requests per named graph): Virtuoso then holds, graph by graph, the same
triples as `kg.trig` (blank nodes: as many distinct ones); publishing again replaces each graph
instead of adding to it; a store that refuses a request is a clear error naming the graph, not a
traceback. Against a Virtuoso whose own row cap and time limit are low, an answer it cut is
flagged as cut and a query it stopped is a timeout (503) — never a complete-looking answer.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from kg.query.remote import RemoteEngine
from kg.query.types import QueryRequest, QueryTimeout

from .virtuoso import UNLIMITED, Virtuoso, available

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not available(), reason="needs the Debian package virtuoso-opensource (.ci/run installs it)"),
]
CHUNK = 2_000  # triples per request: the edition's data graph takes several


def kg(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "kg.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth")
    made = kg("synth", "--scale", "20000", "--out", str(folder / "data"))
    assert made.returncode == 0, made.stderr
    built = kg("build", "--out", str(folder / "dist"), "--reasoner", "reasonable", "--validator", "shacl",
               env={"KG_DATA_DIR": str(folder / "data")})
    assert built.returncode == 0, built.stderr
    return folder / "dist"


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory):
    v = Virtuoso(tmp_path_factory.mktemp("virtuoso") / "db", UNLIMITED)
    yield v
    v.stop()


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory):
    """A Virtuoso with low limits of its own (its system graphs hold about 5,600 triples)."""
    v = Virtuoso(tmp_path_factory.mktemp("limited") / "db", {"ResultSetMaxRows": "500", "MaxQueryExecutionTime": "1"})
    yield v
    v.stop()


def by_graph(quads) -> dict[str, list[ox.Triple]]:
    out: dict[str, list[ox.Triple]] = {}
    for q in quads:
        if isinstance(q.graph_name, ox.NamedNode):
            out.setdefault(q.graph_name.value, []).append(ox.Triple(q.subject, q.predicate, q.object))
    return out


def held(v: Virtuoso, graph: str) -> list[ox.Triple]:
    r = httpx.get(v.graph_store, params={"graph": graph}, headers={"Accept": "application/n-triples"}, timeout=60)
    r.raise_for_status()
    return [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(r.content, format=ox.RdfFormat.N_TRIPLES)]


DECIMAL = "http://www.w3.org/2001/XMLSchema#decimal"


def by_value(t: ox.Triple) -> tuple:
    """A triple with its xsd:decimal read as a number: Virtuoso keeps the value, not the lexical form
    (it writes the budgets' "15290000000"^^xsd:decimal back as "15290000000.0")."""
    o = t.object
    if isinstance(o, ox.Literal) and o.datatype.value == DECIMAL:
        return (t.subject, t.predicate, Decimal(o.value), DECIMAL)
    return (t.subject, t.predicate, o)


def blanks(triples: list[ox.Triple]) -> int:
    return len({t for tr in triples for t in (tr.subject, tr.object) if isinstance(t, ox.BlankNode)})


def test_chunked_publish_round_trips_and_replaces(edition: Path, virtuoso: Virtuoso):
    expected = by_graph(ox.parse(path=str(edition / "kg.trig"), format=ox.RdfFormat.TRIG))
    assert len(expected) == 3 and max(map(len, expected.values())) > 3 * CHUNK
    assert any(blanks(t) for t in expected.values())  # the ontology's lists and restrictions
    for _round in range(2):  # the second publish must replace, not add
        done = kg("publish", "--to", virtuoso.graph_store, "--dist", str(edition), "--chunk", str(CHUNK))
        assert done.returncode == 0, done.stderr
        for graph, triples in expected.items():
            got = held(virtuoso, graph)
            assert len(got) == len(triples), graph
            named = Counter(by_value(t) for t in triples if not blanks([t]))
            assert Counter(by_value(t) for t in got if not blanks([t])) == named, graph
            assert blanks(got) == blanks(triples), graph
            assert f"{graph}: {len(triples)} triples" in done.stderr


def test_a_refused_request_names_the_graph(edition: Path, virtuoso: Virtuoso):
    done = kg("publish", "--to", f"{virtuoso.url}/no-such-graph-store", "--dist", str(edition))
    assert done.returncode != 0
    message = " ".join(done.stderr.split())
    assert "publish failed" in message and "https://w3id.org/tokyo-sme-kg/graph/" in message and " 501 " in message
    assert "tries" not in message  # refused as such: not tried again
    assert "Traceback" not in done.stderr


def test_virtuoso_own_limits_are_not_passed_over(limited: Virtuoso):
    async def ask(query: str):
        engine = RemoteEngine(limited.sparql)
        try:
            return await engine.execute(QueryRequest(query=query, accept=["application/sparql-results+json"], max_rows=10_000), timeout=60)
        finally:
            await engine.close()

    cut = asyncio.run(ask("SELECT * WHERE { ?s ?p ?o }"))  # blank nodes among them, labelled nodeID://…
    assert cut.rows == 500 and cut.truncated  # Virtuoso's ResultSetMaxRows, said in X-SPARQL-MaxRows
    whole = asyncio.run(ask("SELECT * WHERE { ?s ?p ?o } LIMIT 499"))
    assert whole.rows == 499 and not whole.truncated
    with pytest.raises(QueryTimeout, match="MaxQueryExecutionTime"):  # 30 million string comparisons: > 1 s
        asyncio.run(ask("SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?o . ?b ?q ?c FILTER (STR(?o) < STR(?c)) }"))
    with pytest.raises(QueryTimeout, match="MaxQueryCostEstimationTime"):  # refused at once: 10^11 rows
        asyncio.run(ask("SELECT (COUNT(*) AS ?n) WHERE { ?a ?p ?o . ?b ?q ?c . ?d ?r ?e }"))
