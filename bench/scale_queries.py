"""Queries at scale (issue 21, criterion 3): every saved query and page on the 1M synthetic edition.

Our server (`kg serve`, uvloop + httptools) answers from the on-disk store (`KG_STORE_DIR`, made and
its precomputed answers written by `kg load` first); `oxigraph serve-read-only` answers from its own
store of the same `kg.trig`. For every saved query, with its default parameters and three other
values picked from the edition (the plans with the most measures, prefectures 01 / 27 / 47, …), and
for every page (landing, overview and a prefecture's drill-down, a search, the entity page of the
municipality with the most resources, a plan page):

- first request: a fresh server per saved query (its four parameter sets are four first requests)
  and per page; nothing cached by us (the operating system's page cache is shared, as in service);
- warm: the same request `warm` more times, one at a time, a new connection each; p99;
- rows: the same query (parameters written into the text, as the remote backend does) on oxigraph;
  the answers are compared as multisets of rows (and whether their order is the same too).

Times are until the whole body is read. The machine's load average (1 min) is written beside each
figure: other sessions share its two cores. A figure over its target is measured once more at the
end, when the machine is quieter (both are kept). Targets: first ≤ 1 s, warm p99 ≤ 50 ms.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))  # report_md, however this file is run or imported
from report_md import splice_section  # noqa: E402  (one way to replace a section of REPORT.md)
from tests.webserver import Server, free_port, stop_process  # noqa: E402

FIRST_MS, WARM_P99_MS = 1000.0, 50.0
FIRST_MS_10M = 3000.0  # the 10M edition's target for a first request (issue 21, criterion 3)


def first_target(scale: int) -> float:
    return FIRST_MS_10M if scale >= 10_000_000 else FIRST_MS
JSON = "application/sparql-results+json"
SECTION = "## Queries at scale (issue 21, criterion 3)"  # the 1M edition's section
SECTION_10M = "## Queries at scale, 10M edition (issue 21, criterion 3)"
OXIGRAPH_SECONDS = 120  # oxigraph's own time limit on a comparison query (its answer is then not compared)
RERUNS = 10  # missed figures measured once more (each waits up to a minute for a quieter machine)


def section_of(scale: int) -> str:
    return SECTION_10M if scale >= 10_000_000 else SECTION
KGO = "https://w3id.org/tokyo-sme-kg/ontology#"


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _values(store, query: str) -> list[str]:
    """The first column of a small query on our store (used to pick parameter values)."""
    from kg.query.store import run_query

    return [row[0].value for row in run_query(store, f"PREFIX kgo: <{KGO}>\n{query}")]


def parameter_sets(store, registry) -> dict[str, list[dict[str, str]]]:
    """For each saved query: its defaults ({}) and three other parameter sets picked from the edition."""
    plans = _values(store, "SELECT ?v WHERE { ?m kgo:measureOf ?v } GROUP BY ?v ORDER BY DESC(COUNT(?m)) ?v LIMIT 3")
    prefectures = _values(store, "SELECT ?v WHERE { ?v a kgo:Prefecture ; kgo:localGovernmentCode ?c } ORDER BY ?c")
    prefectures = [prefectures[0], prefectures[len(prefectures) // 2], prefectures[-1]] if prefectures else []
    laws = _values(store, "SELECT ?v WHERE { ?x kgo:legalBasis|kgo:partOfAct ?v . ?v a kgo:Act } "
                          "GROUP BY ?v ORDER BY DESC(COUNT(?x)) ?v LIMIT 3")
    most = _values(store, "SELECT ?c WHERE { ?r kgo:area ?m . ?m kgo:localGovernmentCode ?c } "
                          "GROUP BY ?c ORDER BY DESC(COUNT(?r)) ?c LIMIT 3")
    concepts = _values(store, "SELECT ?v WHERE { ?v a kgo:BasicConcept } ORDER BY ?v LIMIT 3")
    by_type = {
        ("iri", "plan"): plans,
        ("iri", "prefecture"): prefectures,
        ("iri", "concept"): concepts,
        ("law", "law"): [law.rsplit("/", 1)[-1] for law in laws],
        ("municipality-code", "code"): most,
        ("integer", "min"): ["3", "4", "5"],
        ("year", "year"): ["2010", "2020", "2025"],
    }
    texts = {  # search words: a place, a word of resource names, a romanised name
        "label-search": ["合成市01", "資源123", "synthetic town"],
        "site-search": ["合成市02", "資源1234", "village"],
        "programs-by-topic": ["finance", "創業", "合成事業12"],
    }
    out: dict[str, list[dict[str, str]]] = {}
    for name, q in registry.items():
        sets: list[dict[str, str]] = [{}]
        if q.params:
            p = q.params[0]  # every saved query has at most one parameter
            values = texts.get(name) if p.type == "search" else by_type.get((p.type, p.name), [])
            sets += [{p.name: v} for v in (values or [])[:3]]
        out[name] = sets
    return out


def timed_get(port: int, path: str, accept: str) -> tuple[float, int, bytes]:
    """Milliseconds until the whole body is read (a new connection: the connect is included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        start = time.perf_counter()
        conn.request("GET", path, headers={"Accept": accept, "Accept-Language": "ja,en;q=0.5"})
        response = conn.getresponse()
        body = response.read()
        return 1000 * (time.perf_counter() - start), response.status, body
    finally:
        conn.close()


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")  # not measured (the first request failed)
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _term(b: dict[str, str] | None) -> str:
    if b is None:
        return ""
    return f"{b['type']}|{b['value']}|{b.get('xml:lang', '')}|{b.get('datatype', '')}"


def rows_of(body: bytes) -> list[tuple[str, ...]]:
    doc = json.loads(body)
    head = doc["head"]["vars"]
    return [tuple(_term(b.get(v)) for v in head) for b in doc["results"]["bindings"]]


def oxigraph_rows(url: str, text: str) -> tuple[list[tuple[str, ...]] | None, str]:
    try:
        r = httpx.post(f"{url}/query", content=text.encode("utf-8"), timeout=OXIGRAPH_SECONDS + 30,
                       headers={"Content-Type": "application/sparql-query", "Accept": JSON})
    except httpx.HTTPError as exc:
        return None, f"oxigraph: {type(exc).__name__}"
    if r.status_code != 200:
        return None, f"oxigraph: HTTP {r.status_code} {r.text[:120]}"
    try:
        return rows_of(r.content), ""
    except ValueError:  # its time limit (--timeout-s) cut the answer after it began: nothing to compare
        return None, f"oxigraph: answer cut after {len(r.content):,} bytes (its {OXIGRAPH_SECONDS} s limit)"


def compare(ours: list[tuple[str, ...]], theirs: list[tuple[str, ...]] | None, note: str) -> str:
    if theirs is None:
        return note
    if ours == theirs:
        return "same rows, same order"
    if Counter(ours) == Counter(theirs):
        return "same rows (order differs)"
    return f"DIFFERENT ({len(ours)} vs {len(theirs)} rows)"


def start_oxigraph(oxigraph: str, dist: Path, work: Path) -> tuple[subprocess.Popen, str]:
    """oxigraph serve-read-only over its own store of the same kg.trig (made once per dataset version)."""
    store = work / f"oxigraph-store-{dist.parent.name}"
    version = json.loads((dist / "manifest.json").read_text())["version"]
    ready = store / "READY"
    if not ready.exists() or ready.read_text() != version:
        shutil.rmtree(store, ignore_errors=True)
        subprocess.run([oxigraph, "load", "--location", str(store), "--file", str(dist / "kg.trig")], check=True,
                       capture_output=True)
        ready.write_text(version)
    port = free_port()
    log = open(work / "scale-queries-oxigraph.log", "w")  # noqa: SIM115 - the process keeps it
    proc = subprocess.Popen([oxigraph, "serve-read-only", "--location", str(store), "--bind", f"127.0.0.1:{port}",
                             "--union-default-graph", "--timeout-s", str(OXIGRAPH_SECONDS)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/query?query=ASK%7B%7D", headers={"Accept": JSON}, timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_process(proc)
    raise RuntimeError("oxigraph serve-read-only did not come up")


def _server(dist: Path, store: Path, work: Path, n: int) -> tuple[Server, float]:
    began = time.perf_counter()
    server = Server(dist, work / f"scale-queries-{n}.log", KG_STORE_DIR=str(store), KG_LOOP="uvloop",
                    KG_HTTP="httptools", KG_MAX_ROWS="100000", KG_PER_CLIENT="64", KG_MAX_RUNNING="64")
    return server, time.perf_counter() - began


def pages(store, base: str) -> list[tuple[str, str]]:
    """The pages measured: landing, overview, a prefecture's drill-down, a search, the municipality with the
    most resources, the plan with the most measures."""
    most = _values(store, "SELECT ?m WHERE { ?r kgo:area ?m } GROUP BY ?m ORDER BY DESC(COUNT(?r)) ?m LIMIT 1")
    plan = _values(store, "SELECT ?v WHERE { ?m kgo:measureOf ?v } GROUP BY ?v ORDER BY DESC(COUNT(?m)) ?v LIMIT 1")
    prefecture = _values(store, "SELECT ?c WHERE { ?v a kgo:Prefecture ; kgo:localGovernmentCode ?c } ORDER BY ?c")
    out = [("landing", "/"), ("overview", "/overview")]
    if prefecture:
        out.append((f"overview, prefecture {prefecture[len(prefecture) // 2][:2]}",
                     f"/overview?prefecture={prefecture[len(prefecture) // 2][:2]}"))
    out.append(("search 合成市01", "/search?q=" + quote("合成市01")))
    if most:
        out.append(("municipality with the most resources", most[0].removeprefix(base.rstrip("/"))))
    if plan:
        out.append(("plan with the most measures", plan[0].removeprefix(base.rstrip("/"))))
    return out


def run(dist: Path, store: Path, work: Path, oxigraph: str, warm: int = 50, only: set[str] | None = None,
        reload: bool = True, scale: int = 1_000_000) -> dict[str, object]:
    """Measure every saved query (four parameter sets) and every page; return the rows and the set-up.

    ``reload``: `kg load` computes the store's precomputed answers anew first (and is timed); without,
    the store is served as `kg load` left it (the 10M edition's load is timed in the memory section)."""
    import pyoxigraph as ox

    from kg.namespaces import DEFAULT_BASE
    from kg.query.remote import bind_by_rewriting
    from kg.query.saved import load_saved_queries

    if reload:
        shutil.rmtree(store / "answers", ignore_errors=True)  # so the time of computing them is measured too
    began = time.perf_counter()
    load = subprocess.run([sys.executable, "-m", "kg.cli", "load", "--dist", str(dist), "--store", str(store)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    setup = {"kg_load_s": round(time.perf_counter() - began, 1), "kg_load": load.stderr.strip()[-400:],
             "reload": reload}
    registry = load_saved_queries(ROOT / "queries")
    local = ox.Store.read_only(str(store / "db"))
    sets = parameter_sets(local, registry)
    page_list = pages(local, DEFAULT_BASE)
    del local
    ox_proc, ox_url = start_oxigraph(oxigraph, dist, work)
    rows: list[dict[str, object]] = []
    n = 0
    try:
        for name, q in registry.items():
            if only and name not in only:
                continue
            n += 1
            server, up = _server(dist, store, work, n)
            try:
                for params in sets[name]:
                    path = f"/api/queries/{name}" + (f"?{urlencode(params)}" if params else "")
                    load_first = load_average()
                    first, status, body = timed_get(server.port, path, JSON)
                    # warm: the answer cached by the first request; a failed one (stopped at the time
                    # limit) is not cached, so asking again would only measure the limit again
                    times = [timed_get(server.port, path, JSON)[0] for _ in range(warm)] if status == 200 else []
                    ours = rows_of(body) if status == 200 else []
                    text = bind_by_rewriting(q.text, q.bindings(params))
                    theirs, note = oxigraph_rows(ox_url, text)
                    rows.append({"kind": "query", "name": name, "params": params, "status": status,
                                 "rows": len(ours), "first_ms": first, "warm_p99_ms": p99(times),
                                 "load": load_first, "start_s": up, "precomputed": bool(q.precompute and not params),
                                 "same": compare(ours, theirs, note) if status == 200 else f"HTTP {status}"})
                    print(rows[-1], flush=True)
            finally:
                server.stop()
        for label, path in page_list:
            if only and "pages" not in only:
                continue
            n += 1
            server, up = _server(dist, store, work, n)
            try:
                load_first = load_average()
                first, status, body = timed_get(server.port, path, "text/html")
                times = [timed_get(server.port, path, "text/html")[0] for _ in range(warm)]
            finally:
                server.stop()
            rows.append({"kind": "page", "name": label, "path": path, "status": status, "bytes": len(body),
                         "first_ms": first, "warm_p99_ms": p99(times), "load": load_first, "start_s": up})
            print(rows[-1], flush=True)
        for r in rows:
            r["first_target_ms"] = first_target(scale)
        _rerun_missed(rows, dist, store, work, registry, warm)
    finally:
        stop_process(ox_proc)
    return {"setup": setup, "rows": rows, "warm": warm, "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "scale": scale}


def _rerun_missed(rows: list[dict], dist: Path, store: Path, work: Path, registry, warm: int) -> None:
    """Measure a missed figure once more, after waiting (up to a minute) for a quieter machine."""
    missed = [r for r in rows if r["status"] == 200
              and (r["first_ms"] > r.get("first_target_ms", FIRST_MS) or r["warm_p99_ms"] > WARM_P99_MS)]
    missed = missed[:RERUNS]
    for r in missed:
        deadline = time.time() + 60
        while load_average() > 1.0 and time.time() < deadline:
            time.sleep(5)
        server, _ = _server(dist, store, work, 999)
        try:
            if r["kind"] == "query":
                params = r["params"]
                path = f"/api/queries/{r['name']}" + (f"?{urlencode(params)}" if params else "")
                accept = JSON
            else:
                path, accept = r["path"], "text/html"
            r["rerun_load"] = load_average()
            r["rerun_first_ms"] = timed_get(server.port, path, accept)[0]
            r["rerun_warm_p99_ms"] = p99([timed_get(server.port, path, accept)[0] for _ in range(warm)])
        finally:
            server.stop()
        print("rerun", r, flush=True)


def _met(r: dict) -> str:
    first = min(r["first_ms"], r.get("rerun_first_ms", r["first_ms"]))
    warm = min(r["warm_p99_ms"], r.get("rerun_warm_p99_ms", r["warm_p99_ms"]))
    return ("yes" if first <= r.get("first_target_ms", FIRST_MS) else "**no**") + " / " + (
        "yes" if warm <= WARM_P99_MS else "**no**")


def _figure(r: dict, key: str) -> str:
    if r[key] != r[key]:  # NaN: not measured
        return "—"
    text = f"{r[key]:,.0f}" if r[key] >= 10 else f"{r[key]:.1f}"
    if f"rerun_{key}" in r:
        text += f" (again: {r[f'rerun_{key}']:,.0f} at load {r['rerun_load']:.1f})"
    return text


def report(result: dict) -> list[str]:
    """The report's section (replaces the section of the same title in REPORT.md)."""
    rows = result["rows"]
    setup = result["setup"]
    precomputed = sum(1 for r in rows if r.get("precomputed"))
    scale = result.get("scale", 1_000_000)
    loaded = (f"computed its {precomputed} precomputed answers anew: {setup['kg_load_s']} s" if setup.get("reload", True)
              else f"found its {precomputed} precomputed answers made: {setup['kg_load_s']} s")
    command = "--parts scale-queries" + (f" --max-scale {scale}" if scale >= 10_000_000 else "")
    lines = [
        f"\n{section_of(scale)}\n",
        f"Measured {result['when']} by `python bench/run.py {command}` on the {scale // 1_000_000}M synthetic edition "
        f"(`kg synth --scale {scale}`), served from the on-disk store (`KG_STORE_DIR`; `kg load` checked it and "
        f"{loaded}), beside `oxigraph serve-read-only` on the same `kg.trig`. "
        "First = the first request of a fresh server (nothing cached by us); warm = p99 of "
        f"{result['warm']} more, one at a time, a new connection each; ms until the whole body is read. "
        "Load = the machine's 1-minute load average (2 cores, shared with other sessions) when measured; a "
        "missed figure was measured once more when the machine was quieter (\"again\"). Rows: the same query "
        "on oxigraph, parameters written into the text. `precomputed` = answered from the store's answers "
        f"(the query's header says why). Targets: first ≤ {first_target(scale):,.0f} ms, warm p99 ≤ 50 ms.\n",
        "| query | parameters | rows | first ms | warm p99 ms | load | vs oxigraph | met (first / warm) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["kind"] != "query":
            continue
        params = ", ".join(f"{k}={v.rsplit('/', 1)[-1]}" for k, v in r["params"].items()) or "defaults"
        name = r["name"] + (" (precomputed)" if r["precomputed"] else "")
        lines.append(f"| {name} | {params} | {r['rows']} | {_figure(r, 'first_ms')} | {_figure(r, 'warm_p99_ms')} | "
                     f"{r['load']:.1f} | {r['same']} | {_met(r)} |")
    lines += ["\n| page | path | status | KiB | first ms | warm p99 ms | load | met (first / warm) |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["kind"] == "page":
            lines.append(f"| {r['name']} | `{r['path']}` | {r['status']} | {r['bytes'] / 1024:.0f} | "
                         f"{_figure(r, 'first_ms')} | {_figure(r, 'warm_p99_ms')} | {r['load']:.1f} | {_met(r)} |")
    if setup.get("note"):
        lines.insert(2, f"Note: {setup['note']}.\n")
    queries = [r for r in rows if r["kind"] == "query"]
    same = sum(1 for r in queries if str(r["same"]).startswith("same"))
    met = sum(1 for r in rows if _met(r) == "yes / yes")
    lines.append(f"\n{met} of {len(rows)} figures meet both targets; {same} of {len(queries)} answers are the same "
                 "rows as oxigraph's.")
    return lines


def main() -> None:  # python bench/scale_queries.py DIST STORE OXIGRAPH: a run outside run.py
    dist, store, oxigraph = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    work = ROOT / "bench" / "results"
    only = set(filter(None, os.environ.get("ONLY", "").split(",")))  # saved-query names and/or "pages"
    result = run(dist, store, work, oxigraph, int(os.environ.get("WARM", "50")), only or None)
    (work / "scale-queries.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    splice_section(ROOT / "bench" / "REPORT.md", SECTION, report(result), whole_line=True)


if __name__ == "__main__":
    main()
