"""Saved queries written for the planner (issue 21, criterion 3): the same rows as before, and
precomputed answers that are the query's own answer.

The texts before the rewrite are kept in ``tests/fixtures/queries-before-21/``. Each rewritten
query is run the way the old one ran (SEP-0007 substitution only) and the way queries run now
(substitution plus the leading VALUES row of ``kg.query.binding``), on the real data and on a
small synthetic national edition (``kg synth --scale 20000``, built once here), with its default
parameters and with parameter values read from each dataset; the rows must be the same multiset.
``shared-resources`` concatenated its municipalities' names in no fixed order before; now they
are sorted, so there the names are compared as sets and the new ones checked to be in order.
No timings here: ``bench/run.py --parts scale-queries`` measures them.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.pipeline.builder import build
from kg.query import Kind, QueryRequest, QueryService, ensure_store, load_saved_queries, open_store, run_query
from kg.query.binding import values_first
from kg.query.execution import execute, term_to_tuple
from kg.query.precomputed import answer_key, ensure_answers, precomputed_queries, read_answer
from kg.query.remote import bind_by_rewriting
from kg.query.saved import parse_saved_query

from .conftest import FIXTURES, ROOT

BEFORE = FIXTURES / "queries-before-21"
REWRITTEN = sorted(p.stem for p in BEFORE.glob("*.rq"))
KGO = "PREFIX kgo: <https://w3id.org/tokyo-sme-kg/ontology#>\n"
JSON = "application/sparql-results+json"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory, settings) -> Path:
    """A small national edition's build (fast engines), for the shapes the real data does not have."""
    folder = tmp_path_factory.mktemp("synth20k")
    data = folder / "data"
    made = subprocess.run([sys.executable, "-m", "kg.cli", "synth", "--scale", "20000", "--out", str(data)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    build(replace(settings, data_dir=data, reasoner="reasonable", validator="shacl"), folder / "dist")
    return folder / "dist"


@pytest.fixture(scope="module")
def synthetic_store(synthetic: Path) -> ox.Store:
    return open_store(synthetic)


def _first(store: ox.Store, query: str, n: int = 3) -> list[str]:
    return [row[0].value for row in run_query(store, KGO + query)][:n]


def parameter_values(store: ox.Store) -> dict[str, list[dict[str, str]]]:
    """Other values than the defaults, read from the dataset (never typed in)."""
    plans = _first(store, "SELECT ?v WHERE { ?m kgo:measureOf ?v } GROUP BY ?v ORDER BY DESC(COUNT(?m)) ?v")
    prefectures = _first(store, "SELECT ?v WHERE { ?v a kgo:Prefecture ; kgo:localGovernmentCode ?c } "
                                "ORDER BY DESC(?c)")
    labels = _first(store, "SELECT ?k WHERE { ?r a kgo:RegionalResource ; kgo:searchKey ?k } ORDER BY ?k", 2)
    words = [key.split(" | ")[-1][:4] for key in labels]  # the start of a resource's name
    return {
        "plan-programs": [{"plan": p} for p in plans],
        "strategy-structure": [{"plan": p} for p in plans[:2]],
        "prefecture-timeline": [{"prefecture": p} for p in prefectures],
        "plans-in-force": [{"year": y} for y in ("2010", "2020", "2025")],
        "shared-resources": [{"min": m} for m in ("1", "3")],
        "label-search": [{"text": w} for w in [*words, "tokyo"]],
        "programs-by-topic": [{"keyword": k} for k in ("finance", "創業", "事業")],
    }


def rows(answer: ox.QuerySolutions, names_column: bool = False) -> tuple[list[str], Counter]:
    variables = [v.value for v in answer.variables]
    out: Counter = Counter()
    for solution in answer:
        row = []
        for v in variables:
            term = solution[v]
            if names_column and v == "municipalityNames" and term is not None:
                row.append(" / ".join(sorted(term.value.split("、"))))
            else:
                row.append(str(term) if term is not None else "")
        out[tuple(row)] += 1
    return variables, out


def old_way(store: ox.Store, text: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> ox.QuerySolutions:
    """How a saved query ran before: SEP-0007 substitution only."""
    subs = {ox.Variable(k): v for k, v in bindings.items()}
    answer = store.query(text, use_default_graph_as_union=True, substitutions=subs or None)
    assert isinstance(answer, ox.QuerySolutions)
    return answer


def check_same(store: ox.Store, name: str, params: dict[str, str]) -> int:
    old = parse_saved_query(BEFORE / f"{name}.rq")
    new = parse_saved_query(ROOT / "queries" / f"{name}.rq")
    names = name == "shared-resources"
    before = rows(old_way(store, old.text, old.bindings(params)), names)
    now = run_query(store, new.text, new.bindings(params))
    assert isinstance(now, ox.QuerySolutions)
    after = rows(now, names)
    assert after[0] == before[0], f"{name}: the columns changed"
    assert after[1] == before[1], f"{name} {params}: rows differ: only before {list(before[1] - after[1])[:2]}, " \
                                  f"only now {list(after[1] - before[1])[:2]}"
    return sum(after[1].values())


@pytest.mark.parametrize("name", REWRITTEN)
def test_rewritten_query_gives_the_same_rows_on_the_real_data(store, name):
    counted = [check_same(store, name, {})]
    for params in parameter_values(store).get(name, []):
        counted.append(check_same(store, name, params))
    assert any(counted), f"{name}: no rows at all on the real data"


@pytest.mark.parametrize("name", REWRITTEN)
def test_rewritten_query_gives_the_same_rows_on_a_synthetic_edition(synthetic_store, name):
    counted = [check_same(synthetic_store, name, {})]
    for params in parameter_values(synthetic_store).get(name, []):
        counted.append(check_same(synthetic_store, name, params))
    if name not in ("strategy-programs", "strategy-structure"):  # Tokyo's strategy: not in a synthetic edition
        assert any(counted), f"{name}: no rows at all on the synthetic edition"


def test_shared_resources_names_are_sorted(store, synthetic_store):
    q = parse_saved_query(ROOT / "queries" / "shared-resources.rq")
    for s in (store, synthetic_store):
        answer = run_query(s, q.text, q.bindings({}))
        assert isinstance(answer, ox.QuerySolutions)
        names = [row["municipalityNames"].value.split("、") for row in answer]
        assert names and all(n == sorted(n) for n in names)
        assert any(len(n) > 1 for n in names)


def test_every_saved_query_answers_the_same_with_the_values_row(store):
    """The planning hint (VALUES first) and the textual binding (remote backends, the benchmark's oxigraph)
    give the rows SEP-0007 substitution gives, for every saved query with its defaults."""
    for name, q in load_saved_queries(ROOT / "queries").items():
        bindings = q.bindings({})
        expected = rows(old_way(store, q.text, bindings))
        answer = run_query(store, q.text, bindings)
        assert isinstance(answer, ox.QuerySolutions)
        assert rows(answer) == expected, name
        written = store.query(bind_by_rewriting(q.text, bindings), use_default_graph_as_union=True)
        assert isinstance(written, ox.QuerySolutions)
        assert rows(written) == expected, f"{name}: bound by rewriting"


def test_values_first_goes_into_the_outermost_where():
    term = ox.NamedNode("https://example.org/x")
    text = '# WHERE { in a comment\nSELECT ?p ?o WHERE { "WHERE {" ?p ?o { SELECT ?p WHERE { ?p ?q ?r } } }'
    out = values_first(text, {"p": term})
    assert out.count("VALUES") == 1
    assert out.index("VALUES (?p) { (<https://example.org/x>) }") == out.index("WHERE {", text.index("SELECT")) + 8
    assert values_first(text, {}) == text
    assert values_first("ASK { ?s ?p ?o }", {"p": term}) == "ASK { ?s ?p ?o }"  # no WHERE: unchanged


def test_precomputed_answers_are_the_queries_own(synthetic: Path, tmp_path: Path):
    registry = load_saved_queries(ROOT / "queries")
    marked = [q for q in registry.values() if q.precompute]
    assert {"municipality-pairs", "shared-resources", "timeline"} <= {q.name for q in marked}
    store_dir = tmp_path / "store"
    ensure_store(synthetic, store_dir)
    opened = open_store(synthetic, store_dir, ensure=False)
    found = ensure_answers(opened, store_dir, registry)
    assert len(found) == len(marked)
    for q in marked:
        bindings = {k: term_to_tuple(v) for k, v in q.bindings({}).items()}
        path = found[answer_key(q.text, bindings)]
        live = run_query(opened, q.text, q.bindings({}))
        assert isinstance(live, ox.QuerySolutions)
        assert rows(read_answer(path)) == rows(live), q.name
    # an edited query is not answered from its old text's answer
    q = marked[0]
    assert answer_key(q.text + "\n# edited", {}) not in found
    before = {p.name for p in (store_dir / "answers").glob("*.srj")}
    assert {p.name for p in ensure_answers(opened, store_dir, registry).values()} == before  # computed once


def test_the_service_answers_a_precomputed_query_from_the_store(synthetic: Path, tmp_path: Path, settings):
    """With the defaults the stored answer (in the media type asked for); other values run the query."""
    store_dir = tmp_path / "store"
    ensure_store(synthetic, store_dir)
    registry = load_saved_queries(ROOT / "queries")
    service = QueryService(settings.with_overrides(dist_dir=synthetic, store_dir=str(store_dir)), "test")
    service.store = open_store(synthetic, store_dir, ensure=False)
    service.precomputed = ensure_answers(service.store, store_dir, registry)
    q = registry["shared-resources"]
    defaults = {k: term_to_tuple(v) for k, v in q.bindings({}).items()}
    result = asyncio.run(service.run(QueryRequest(q.text, ["text/csv"], defaults), Kind.SAVED))
    assert result.where == "precomputed" and result.media_type == "text/csv"
    live = run_query(service.store, q.text, q.bindings({}))
    assert isinstance(live, ox.QuerySolutions)
    assert result.rows == sum(rows(live)[1].values()) > 0
    assert result.body.decode().splitlines()[0] == ",".join(v.value for v in live.variables)
    stored = asyncio.run(service.run(QueryRequest(q.text, [JSON], defaults), Kind.SAVED))
    assert stored.where == "precomputed"
    assert stored.body == execute(service.store, QueryRequest(q.text, [JSON], defaults)).body  # the same bytes
    cut = asyncio.run(service.run(QueryRequest(q.text, [JSON], defaults, max_rows=2), Kind.SAVED))
    assert cut.rows == 2 and cut.truncated  # the row limit holds for a stored answer too
    other = {k: term_to_tuple(v) for k, v in q.bindings({"min": "3"}).items()}
    assert service._precomputed(QueryRequest(q.text, [JSON], other), Kind.SAVED) is None
    assert service._precomputed(QueryRequest(q.text, [JSON], defaults), Kind.SPARQL) is None


def test_a_server_does_not_wait_for_missing_precomputed_answers(synthetic: Path, tmp_path: Path, settings):
    """Answers missing from a store (kg load makes them ahead) are computed beside the running server:
    its start does not wait for them (minutes at 10M); until one is ready its query just runs."""
    store_dir = tmp_path / "store"
    ensure_store(synthetic, store_dir)
    registry = load_saved_queries(ROOT / "queries")
    wanted = len(precomputed_queries(registry))
    service = QueryService(settings.with_overrides(dist_dir=synthetic, store_dir=str(store_dir)), "test")
    service.store = open_store(synthetic, store_dir, ensure=False)

    async def start_then_wait() -> tuple[int, int]:
        service._start_precomputing(store_dir)
        at_start = len(service.precomputed)  # returned at once, with what the store already had
        for _ in range(1200):
            if len(service.precomputed) == wanted:
                break
            await asyncio.sleep(0.05)
        return at_start, len(service.precomputed)

    at_start, later = asyncio.run(start_then_wait())
    assert (at_start, later) == (0, wanted)
    again = QueryService(settings.with_overrides(dist_dir=synthetic, store_dir=str(store_dir)), "test")
    again.store = service.store

    async def restart() -> int:
        again._start_precomputing(store_dir)
        return len(again.precomputed)

    assert asyncio.run(restart()) == wanted  # all stored now: served from the first request
