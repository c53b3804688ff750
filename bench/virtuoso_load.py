"""Issue 21, criterion 6: the synthetic editions in Virtuoso (Debian `virtuoso-opensource`).

For each edition with a built dist (1M; 10M once it can be built): the time to load it

- with Virtuoso's bulk loader (`ld_dir` of `kg.trig` + `rdf_loader_run()` through `isql`, then a
  `checkpoint`), into a fresh database;
- with `kg publish` (chunked Graph Store Protocol requests) into another fresh database, then a
  `checkpoint`;
- beside them, `oxigraph load` of the same `kg.trig` (the engine's own loader) and `kg load` (our
  on-disk store, what the embedded server opens);

each load checked by counting the triples of every named graph against the manifest. Then our
server twice — `KG_BACKEND` at the bulk-loaded Virtuoso, and the embedded on-disk store — answers
every saved query with its defaults, first request each, nothing cached, alternating between the
two: the row sets are compared (as multisets; where the query has ORDER BY, the order too) and the
first-answer times written side by side.

Virtuoso's own limits are lifted (`tests.virtuoso.UNLIMITED`: ResultSetMaxRows, MaxQueryExecutionTime,
MaxQueryCostEstimationTime) so it never cuts an answer; both servers run with KG_MAX_ROWS and
KG_QUERY_TIMEOUT high enough that ours do not either (a cut answer would be flagged and reported).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.virtuoso import UNLIMITED, Virtuoso, available  # noqa: E402
from tests.webserver import Server  # noqa: E402

SECTION = "## Beyond one machine: Virtuoso (issue 21, criterion 6)"
KG = [sys.executable, "-m", "kg.cli"]
XSD = "http://www.w3.org/2001/XMLSchema#"
NUMERIC = {XSD + t for t in ("decimal", "integer", "double", "float", "long", "int")}
MAX_ROWS = "100000000"


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def settings_for(triples: int) -> dict[str, str]:
    """Virtuoso's buffers sized to the edition (its guide: 170,000 buffers = 1.3 GB for 2 GB of RAM;
    680,000 = 5.3 GB for 8 GB), with its own answer limits lifted."""
    buffers = 170_000 if triples <= 2_000_000 else 680_000
    return {**UNLIMITED, "NumberOfBuffers": str(buffers), "MaxDirtyBuffers": str(buffers * 3 // 4)}


def graph_counts(v: Virtuoso, timeout: float) -> dict[str, int]:
    q = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    r = httpx.post(v.sparql, data={"query": q}, headers={"Accept": "application/sparql-results+json"},
                   timeout=timeout)
    r.raise_for_status()
    return {b["g"]["value"]: int(b["n"]["value"]) for b in r.json()["results"]["bindings"]}


def expected_counts(dist: Path) -> dict[str, int]:
    manifest = json.loads((dist / "manifest.json").read_text())
    base = manifest["base_iri"]
    return {f"{base}graph/{name}": n for name, n in manifest["triples"].items()}


def checked(v: Virtuoso, dist: Path, timeout: float) -> str:
    """'' when every named graph holds the manifest's count, else what differs."""
    got = graph_counts(v, timeout)
    wrong = [f"{g}: {got.get(g, 0):,} of {n:,}" for g, n in expected_counts(dist).items() if got.get(g, 0) != n]
    return "; ".join(wrong)


def bulk_load(dist: Path, folder: Path, cap: float) -> tuple[Virtuoso, dict[str, object]]:
    """A fresh Virtuoso loaded with its bulk loader; returns it (running) and the timings."""
    shutil.rmtree(folder, ignore_errors=True)
    triples = sum(expected_counts(dist).values())
    v = Virtuoso(folder, settings_for(triples), dirs=(dist.resolve(),))
    out: dict[str, object] = {"load_avg": load_average()}
    began = time.perf_counter()
    v.sql(f"ld_dir('{dist.resolve()}', 'kg.trig', 'urn:kg:bulk-default');")
    v.sql("rdf_loader_run();", timeout=cap)
    out["bulk_s"] = time.perf_counter() - began
    began = time.perf_counter()
    v.sql("checkpoint;", timeout=cap)
    out["bulk_checkpoint_s"] = time.perf_counter() - began
    errors = v.sql("SELECT ll_file, ll_error FROM DB.DBA.load_list WHERE ll_error IS NOT NULL;")
    out["bulk_errors"] = "" if "0 Rows" in errors else errors.strip()[-500:]
    out["bulk_check"] = checked(v, dist, cap)
    return v, out


def publish_load(dist: Path, folder: Path, cap: float) -> dict[str, object]:
    """A fresh Virtuoso loaded by `kg publish` (chunked Graph Store Protocol); stopped afterwards."""
    shutil.rmtree(folder, ignore_errors=True)
    triples = sum(expected_counts(dist).values())
    v = Virtuoso(folder, settings_for(triples))
    out: dict[str, object] = {"publish_load_avg": load_average()}
    try:
        began = time.perf_counter()
        done = subprocess.run([*KG, "publish", "--to", v.graph_store, "--dist", str(dist)], cwd=ROOT,
                              capture_output=True, text=True, timeout=cap)
        out["publish_s"] = time.perf_counter() - began
        out["publish_error"] = "" if done.returncode == 0 else " ".join(done.stderr.split())[-500:]
        began = time.perf_counter()
        v.sql("checkpoint;", timeout=cap)
        out["publish_checkpoint_s"] = time.perf_counter() - began
        out["publish_check"] = checked(v, dist, cap)
    finally:
        v.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def timed_run(cmd: list[str], cap: float) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=cap)
    return time.perf_counter() - began, "" if done.returncode == 0 else done.stderr.strip()[-300:]


# ------------------------------------------------------------------ rows

def _key(b: dict[str, str]) -> tuple:
    return (b.get("type", "").replace("typed-literal", "literal"), b["value"], b.get("datatype", ""),
            b.get("xml:lang", "").lower())


def _by_value(k: tuple) -> tuple:
    """A term with its numeric value in place of its lexical form ("36" and "36.0" as xsd:decimal)."""
    kind, value, datatype, lang = k
    if datatype in NUMERIC:
        try:
            return (kind, Decimal(value), "numeric", lang)
        except InvalidOperation:
            pass
    return k


def rows_of(doc: dict) -> tuple[list[str], list[tuple]]:
    variables = doc["head"]["vars"]
    return variables, [tuple(_key(b[v]) if v in b else None for v in variables) for b in doc["results"]["bindings"]]


def ordered(text: str) -> bool:
    body = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # comments out (no '#' in IRIs here)
    return re.search(r"\bORDER\s+BY\b", body, re.I) is not None


def concatenated(text: str) -> dict[str, str]:
    """Projected variables made by GROUP_CONCAT, with the separator their values end up with (the
    last string in the expression that is no language tag: the separator, or what REPLACE puts in
    its place)."""
    out = {}
    for expr, var in re.findall(r"\((.*GROUP_CONCAT.*)\s+AS\s+\?(\w+)\)", text):
        strings = [x for x in re.findall(r'"((?:[^"\\]|\\.)*)"', expr) if not re.fullmatch(r"[a-z]{2,3}", x)]
        out[var] = strings[-1] if strings else " "
    return out


def _unordered_lists(rows: list[tuple], variables: list[str], lists: dict[str, str]) -> list[tuple]:
    """Rows with each GROUP_CONCAT value's items sorted (SPARQL leaves their order to the engine)."""
    where = {variables.index(v): sep for v, sep in lists.items() if v in variables}
    def fix(i, t):
        if t is None or i not in where:
            return t
        return (t[0], where[i].join(sorted(t[1].split(where[i]))), t[2], t[3])
    return [tuple(fix(i, t) for i, t in enumerate(r)) for r in rows]


def compare(a: list[tuple], b: list[tuple], is_ordered: bool, variables: list[str] | None = None,
            lists: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """A verdict on two answers and up to three rows only in each."""
    if Counter(a) == Counter(b):
        if is_ordered and a != b:
            return "same rows, other order", _order_sample(a, b)
        return "same", []
    if lists and variables:
        ua, ub = _unordered_lists(a, variables, lists), _unordered_lists(b, variables, lists)
        if Counter(ua) == Counter(ub):
            return "same rows; items of GROUP_CONCAT in another order", _samples(a, b, 1)
    def norm(rows):
        return [tuple(None if t is None else _by_value(t) for t in r) for r in rows]
    if Counter(norm(a)) == Counter(norm(b)):
        return "same values (numbers written differently)", _samples(a, b)
    return "differ", _samples(a, b)


def _order_sample(a: list[tuple], b: list[tuple]) -> list[str]:
    i = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    return [f"first difference at row {i + 1}: embedded {a[i]}"[:300], f"virtuoso {b[i]}"[:300]]


def _samples(a: list[tuple], b: list[tuple], most: int = 3) -> list[str]:
    only_a, only_b = Counter(a) - Counter(b), Counter(b) - Counter(a)
    show = [f"embedded only: {_row(r)}" for r in list(only_a)[:most]]
    show += [f"virtuoso only: {_row(r)}" for r in list(only_b)[:most]]
    return [s[:400] for s in show] + [f"({sum(only_a.values())} rows only embedded, {sum(only_b.values())} only Virtuoso)"]


def _row(r: tuple) -> str:
    """A row as N-Triples-like terms, shortest first to read."""
    def term(t):
        if t is None:
            return "UNDEF"
        kind, value, datatype, lang = t
        if kind == "uri":
            return f"<{value}>"
        return f'"{value}"' + (f"@{lang}" if lang else f"^^<{datatype}>" if datatype else "")
    return " ".join(term(t) for t in r)


def first_answer(url: str, name: str, timeout: float) -> dict[str, object]:
    began = time.perf_counter()
    try:
        r = httpx.get(f"{url}/api/queries/{name}", headers={"Accept": "application/sparql-results+json"},
                      timeout=timeout)
    except httpx.HTTPError as exc:
        return {"seconds": time.perf_counter() - began, "status": type(exc).__name__}
    out: dict[str, object] = {"seconds": time.perf_counter() - began, "status": r.status_code}
    if r.status_code == 200:
        out["doc"] = r.json()
        out["cut"] = "row limit" in r.headers.get("warning", "")
    else:
        out["error"] = r.text[:300]
    return out


def same_rows(dist: Path, store: Path, virtuoso: Virtuoso, work: Path, timeout: float) -> list[dict[str, object]]:
    from kg.query.saved import load_saved_queries

    saved = load_saved_queries(ROOT / "queries")
    limits = {"KG_QUERY_TIMEOUT": str(timeout), "KG_MAX_ROWS": MAX_ROWS, "KG_LONG_QUERY_SECONDS": str(timeout)}
    embedded = Server(dist, work / "virtuoso-embedded.log", KG_STORE_DIR=str(store), **limits)
    try:
        remote = Server(dist, work / "virtuoso-backend.log", KG_BACKEND=virtuoso.sparql, **limits)
    except Exception:
        embedded.stop()
        raise
    rows = []
    try:
        for name, q in sorted(saved.items()):
            load = load_average()
            e = first_answer(embedded.url, name, timeout + 60)
            v = first_answer(remote.url, name, timeout + 60)
            row: dict[str, object] = {"query": name, "load_avg": load, "embedded_s": e["seconds"],
                                      "virtuoso_s": v["seconds"], "ordered": ordered(q.text)}
            if e["status"] == 200 and v["status"] == 200:
                names, ea = rows_of(e["doc"])  # type: ignore[arg-type]
                _, va = rows_of(v["doc"])  # type: ignore[arg-type]
                row["rows_embedded"], row["rows_virtuoso"] = len(ea), len(va)
                row["verdict"], row["samples"] = compare(ea, va, bool(row["ordered"]), names, concatenated(q.text))
                if e.get("cut") or v.get("cut"):
                    row["verdict"] = f"{row['verdict']} (cut at the row limit)"
            else:
                for side, answer in (("embedded", e), ("virtuoso", v)):
                    if answer["status"] == 200:
                        row[f"rows_{side}"] = len(answer["doc"]["results"]["bindings"])  # type: ignore[index]
                row["verdict"] = f"not compared: embedded {e['status']}, virtuoso {v['status']}"
                row["samples"] = [str(x.get("error", ""))[:300] for x in (e, v) if x.get("error")]
            rows.append(row)
            print({k: row[k] for k in ("query", "embedded_s", "virtuoso_s", "verdict")}, flush=True)
    finally:
        remote.stop()
        embedded.stop()
    return rows


def run(work: Path, scales: list[int], oxigraph: str, cap: float, query_timeout: float) -> list[dict[str, object]]:
    out = []
    for scale in scales:
        dist = work / f"synth-{scale}" / "dist"
        row: dict[str, object] = {"scale": scale}
        if not available():
            row["pending"] = "virtuoso-t not installed (Debian package virtuoso-opensource)"
        elif not (dist / "manifest.json").exists():
            row["pending"] = f"no built edition at {dist.relative_to(ROOT)}"
        if "pending" in row:
            out.append(row)
            continue
        row["triples"] = sum(expected_counts(dist).values())
        row["machine_load_start"] = load_average()
        row.update(publish_load(dist, work / "virtuoso-publish", cap))
        ox_store = work / f"oxigraph-load-{scale}"
        shutil.rmtree(ox_store, ignore_errors=True)
        row["oxigraph_load_avg"] = load_average()
        row["oxigraph_load_s"], row["oxigraph_error"] = timed_run(
            [oxigraph, "load", "--location", str(ox_store), "--file", str(dist / "kg.trig")], cap)
        shutil.rmtree(ox_store, ignore_errors=True)
        store = work / f"virtuoso-compare-store-{scale}"
        shutil.rmtree(store, ignore_errors=True)
        compare = scale <= 1_000_000 or bool(os.environ.get("BENCH_VIRTUOSO_ROWS_AT_10M"))
        if compare:  # our store, for the row comparison (the 10M one's `kg load` is timed in the memory part)
            row["kg_load_avg"] = load_average()
            row["kg_load_s"], row["kg_load_error"] = timed_run(
                [*KG, "load", "--dist", str(dist), "--store", str(store)], cap)
        row["query_timeout"] = query_timeout
        virtuoso, timings = bulk_load(dist, work / "virtuoso-bulk", cap)
        row.update(timings)
        try:
            if compare:
                row["queries"] = same_rows(dist, store, virtuoso, work, query_timeout)
        finally:
            virtuoso.stop()
            shutil.rmtree(work / "virtuoso-bulk", ignore_errors=True)
        out.append(row)
        print({k: v for k, v in row.items() if k != "queries"}, flush=True)
    return out


FOUND = [
    "\n### Where Virtuoso differed, and what was done (found while making this part)\n",
    "- **One PUT of a large graph.** `kg publish` sent each named graph in one PUT: at 1M Virtuoso answered "
    "the data graph's (866,000 triples) with `SR172: Transaction deadlocked` after storing 734,384 of them. It now "
    "sends chunks of 50,000 triples (PUT, then POSTs), one request in flight while the next is prepared, a chunk "
    "refused with a 500/502/503/504 sent again, blank-node triples together in a graph's last chunk.",
    "- **Three `OPTIONAL { ?r a T . BIND (?r AS ?x) }` in a row** (resources-per-municipality, "
    "resources-in-prefecture): Virtuoso 7.2 left the second one's variable unbound, so its count was 0 "
    "everywhere (the real-data test did not look at that column; it does now). Rewritten as one "
    "`OPTIONAL { VALUES ?resourceType {…} ?r a ?resourceType }` counted with `IF`: same rows on both, on the real "
    "data and at 1M, no slower embedded.",
    "- **A non-ASCII `GROUP_CONCAT` separator** (shared-resources, `separator=\"、\"`): Virtuoso wrote `?` in its "
    "place (`\\u3001` too; string literals elsewhere in a query are read right). The names are now joined with "
    "`\\n` and `REPLACE`d by 、; and `STRLANG(STR(…), \"ja\")` tags the result @ja on both (oxigraph's "
    "`GROUP_CONCAT` kept the names' common language tag, Virtuoso's dropped it).",
    "- **Order within a `GROUP_CONCAT`**: SPARQL leaves it to the engine; the two differ (compared as sets above).",
    "- **Ties in ORDER BY** (budget-totals-by-body, `ORDER BY DESC(?total) ?body`): rows with the same total and "
    "body came in another order; the query now orders by all its group keys.",
    "- **Decimals**: Virtuoso keeps the value of an `xsd:decimal`, not its lexical form: the budgets' "
    "`\"15290000000\"^^xsd:decimal` comes back as `15290000000.0` (the same value; the saved queries that return stored amounts have no rows at 1M, their "
    "real-data tests pass on Virtuoso, the sums of budget-totals-by-body are the same rows on both; "
    "`tests/test_virtuoso_publish.py` compares decimals by value).",
    "- **Blank nodes**: Virtuoso labels them `nodeID://b10001`, which is no valid blank-node label; `KG_BACKEND` "
    "failed on any answer holding one (a 500) and now maps such labels to valid ones.",
    "- **Its own limits**: with Debian's virtuoso.ini an answer is cut at 10,000 rows (ResultSetMaxRows, said only in "
    "an `X-SPARQL-MaxRows` header), a query is stopped after 60 s (`SR171: Transaction timed out`, a 500) or refused "
    "when its cost estimate exceeds 400 s. `KG_BACKEND` now flags the first as cut and turns the others into 503s "
    "(tests/test_virtuoso_publish.py); the instance here lifts all three.",
    "- **Its system graphs** (DAV, virtrdf, …, about 5,600 triples) are part of its default graph; no saved query "
    "matches them (the same rows above).",
    "- **plan-programs** was not compared: the embedded store does not answer it with its defaults within the limit "
    "(the plan is bad there, issue 21 criterion 3; rewritten on another branch); Virtuoso answers it in 0.1–0.2 s.",
]


def _f(v: object, digits: int = 1) -> str:
    return f"{v:.{digits}f}" if isinstance(v, float) else ("—" if v is None else str(v))


def report(rows: list[dict[str, object]], when: str, max_scale: int) -> list[str]:
    lines = [
        f"\n{SECTION}\n",
        f"Measured {when} by `python bench/run.py --parts virtuoso --max-scale {max_scale}` (bench/virtuoso_load.py), "
        "Debian's virtuoso-opensource 7.2 on loopback with its buffers sized to the edition and its own answer limits "
        "lifted (ResultSetMaxRows, MaxQueryExecutionTime, MaxQueryCostEstimationTime; otherwise it would cut or stop "
        "answers — KG_BACKEND now flags an answer Virtuoso cut and turns its time-outs into 503s). Machine load "
        "(1/5/15-min load average of the 2 shared cores) beside each step.\n",
        "### Loading (seconds; every named graph counted against the manifest after each load)\n",
        "| edition | triples (data + inferred + ontology) | Virtuoso bulk loader (`ld_dir` + `rdf_loader_run`) "
        "| + checkpoint | `kg publish` (chunked GSP) | + checkpoint | `oxigraph load` (kg.trig) | `kg load` (our store) "
        "| counts | load average |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "pending" in r:
            lines.append(f"| {r['scale']:,} | pending: {r['pending']} | | | | | | | | |")
            continue
        checks = [x for x in (r.get("bulk_check"), r.get("publish_check"), r.get("bulk_errors"),
                              r.get("publish_error"), r.get("oxigraph_error"), r.get("kg_load_error")) if x]
        lines.append(
            f"| {r['scale']:,} | {r['triples']:,} | {_f(r.get('bulk_s'))} | {_f(r.get('bulk_checkpoint_s'))} | "
            f"{_f(r.get('publish_s'))} | {_f(r.get('publish_checkpoint_s'))} | {_f(r.get('oxigraph_load_s'))} | "
            f"{_f(r.get('kg_load_s'))} | {'all equal' if not checks else '; '.join(map(str, checks))} | "
            f"bulk {r.get('load_avg')}, publish {r.get('publish_load_avg')}, oxigraph {r.get('oxigraph_load_avg')} |"
        )
    if not any(r["scale"] >= 10_000_000 and "pending" not in r for r in rows):
        lines.append(
            "\n10M: pending. It needs a built 10M edition at bench/results/synth-10000000/dist, which this code "
            "cannot build yet (the build's memory grows with the data; making it scale is another branch). Once it "
            "exists, `python bench/run.py --parts virtuoso --max-scale 10000000` loads and times it the same way "
            "(the row comparison runs at 1M; `BENCH_VIRTUOSO_ROWS_AT_10M=1` adds it at 10M)."
        )
    lines += FOUND
    for r in rows:
        queries = r.get("queries")
        if not queries:
            continue
        same = sum(1 for q in queries if str(q["verdict"]).startswith("same"))
        lines += [
            f"\n### Same rows: every saved query with its defaults, {r['scale']:,} edition\n",
            f"Our server twice on the same edition: `KG_BACKEND` at the bulk-loaded Virtuoso, and the embedded "
            f"on-disk store (`KG_STORE_DIR`). First request of each query on a fresh server (nothing cached), the two "
            f"alternating; KG_QUERY_TIMEOUT {r.get('query_timeout', '—')} s and KG_MAX_ROWS {int(MAX_ROWS):,} on both, "
            f"so neither cuts an answer. Rows compared as "
            f"multisets of (type, value, datatype, language) per variable; where the query has ORDER BY, the order "
            f"too. **{same} of {len(queries)} give the same rows.**\n",
            "| query | ORDER BY | rows embedded | rows Virtuoso | same rows? | first answer embedded (s) | "
            "first answer via Virtuoso (s) | load average |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for q in queries:
            lines.append(
                f"| {q['query']} | {'yes' if q['ordered'] else ''} | {q.get('rows_embedded', '—')} | "
                f"{q.get('rows_virtuoso', '—')} | {q['verdict']} | {_f(q['embedded_s'], 2)} | "
                f"{_f(q['virtuoso_s'], 2)} | {q['load_avg']} |"
            )
        diffs = [q for q in queries if q.get("samples")]
        if diffs:
            lines.append("\nWhere the answers are not the same (rows only on one side):\n")
            for q in diffs:
                lines.append(f"- **{q['query']}** ({q['verdict']}): "
                             + " · ".join(f"`{' '.join(str(s).split())}`" for s in q["samples"]))
    return lines
