"""Issue 20: speed as real clients see it, and memory of the server with its workers.

Part `clients` — ours (`kg serve` as deployed: uvloop, default settings and workers) under each
HTTP server it can run on (uvicorn + httptools, the default, and granian, KG_SERVER=granian),
beside `oxigraph serve-read-only` (the engine's own Rust server) on the same triples, all three
measured in the same run, one after the other for each row, 4 clients (wrk), each scenario with
each of three header sets sent to every server alike:

- bare: what curl and wrk send (no `Origin`, no `Accept-Encoding`);
- gzip: `Accept-Encoding: gzip, deflate` (requests, httpx);
- browser: `Origin` + `Accept-Encoding: gzip, deflate, br` (a page on another site, YASGUI).

Scenarios: lookups rotating over the 62 municipalities (warm), a lookup with a new text per
request (cold), the GROUP BY over all triples with a new text per request (cold), the join with
a label filter (warm), and what the query page sends (`query.js`: POST form, browser headers, a
new text per request). Every answer's size is checked on every server with the same headers
before it is timed. Where a target is missed, py-spy records every process of ours (under that
HTTP server) under that scenario and header set. The machine's load average is noted with each row.

Part `memory` — the 1M synthetic edition, served by ours from the on-disk store (the default)
and by `oxigraph serve-read-only` from its own store of the same dump; resident memory (RSS and
PSS, summed over the server and its workers) after the same warm-up queries.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from serving import GROUP_BY, JOIN, lookup, municipalities, profile_processes, wrk  # noqa: E402

ACCEPT = "application/sparql-results+json"
HEADER_SETS: dict[str, dict[str, str]] = {
    "bare": {},
    "gzip": {"Accept-Encoding": "gzip, deflate"},
    "browser": {"Origin": "https://yasgui.example", "Accept-Encoding": "gzip, deflate, br"},
}
FEWEST = {"KG_WORKERS": "1", "KG_LONG_WORKERS": "0", "KG_LIMIT_WORKERS": "0"}  # one worker, no other lanes
# scenario name → target as ours ÷ oxigraph
TARGETS = {
    "lookup, rotating over the 62 municipalities": 0.8,
    "lookup, each request a new text": 0.5,
    "GROUP BY over all triples, each request a new text": 0.8,
    "join with a label filter": 1.0,
    "the query page (POST form, a new text each)": 0.5,
}


def _lua_headers(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f'["{k}"] = "{v}"' for k, v in {"Accept": ACCEPT, **headers}.items()) + "}"


def script(scenario: dict, path: str, headers: dict[str, str]) -> str:
    """A wrk Lua script: a rotation of GET paths (warm), a counter spliced into each text (cold), or POST forms."""
    h = _lua_headers(headers)
    if scenario["kind"] == "warm":
        paths = ", ".join(f'"{path}?query={quote(q, safe="")}"' for q in scenario["queries"])
        return (f"local paths = {{{paths}}}\nlocal i = math.random(#paths)\n"
                f"request = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i], {h})\nend\n")
    before, after = scenario["text"].split("@")
    if scenario.get("post"):
        form = {**{"Content-Type": "application/x-www-form-urlencoded"}}
        h = _lua_headers({**headers, **form})
        return (f"local n = math.random(1, 1000000000)\nrequest = function()\n  n = n + 1\n"
                f"  return wrk.format(\"POST\", \"{path}\", {h}, \"query={quote(before, safe='')}\" .. "
                f"tostring(1000000 + n) .. \"{quote(after, safe='')}\")\nend\n")
    return (f"local n = math.random(1, 1000000000)\nrequest = function()\n  n = n + 1\n"
            f"  return wrk.format(\"GET\", \"{path}?query={quote(before, safe='')}\" .. tostring(1000000 + n) .. "
            f"\"{quote(after, safe='')}\", {h})\nend\n")


def scenarios() -> list[dict]:
    codes = municipalities()
    return [
        {"name": "lookup, rotating over the 62 municipalities", "kind": "warm",
         "queries": [lookup(c) for c in codes], "check": lookup(codes[0])},
        {"name": "lookup, each request a new text", "kind": "cold", "text": lookup(codes[0]) + "\n# @",
         "check": lookup(codes[0]) + "\n# 1"},
        {"name": "GROUP BY over all triples, each request a new text", "kind": "cold", "text": GROUP_BY + "\n# @",
         "check": GROUP_BY + "\n# 1"},
        {"name": "join with a label filter", "kind": "warm", "queries": [JOIN], "check": JOIN},
        {"name": "the query page (POST form, a new text each)", "kind": "cold", "post": True,
         "text": lookup(codes[1]) + "\n# @", "check": lookup(codes[1]) + "\n# 2"},
    ]


def answer_size(url: str, path: str, scenario: dict, headers: dict[str, str]) -> str:
    """Rows of the answer (decoded), asked with the scenario's method and headers."""
    try:
        h = {"Accept": ACCEPT, **headers}
        if scenario.get("post"):
            r = httpx.post(f"{url}{path}", data={"query": scenario["check"]}, headers=h, timeout=120)
        else:
            r = httpx.get(f"{url}{path}", params={"query": scenario["check"]}, headers=h, timeout=120)
        if r.status_code != 200:
            return f"HTTP {r.status_code}"
        body = r.json()
        return str(body["boolean"]) if "boolean" in body else str(len(body["results"]["bindings"]))
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return f"error: {type(exc).__name__}"


# Ours under each HTTP server (KG_SERVER): the key its figures have in a row, and its environment.
OURS = {
    "uvicorn": ("ours", {"KG_SERVER": "uvicorn", "KG_HTTP": "httptools"}),
    "uvicorn-2": ("ours_2", {"KG_SERVER": "uvicorn", "KG_HTTP": "httptools", "KG_PROCESSES": "2"}),
    "granian": ("ours_granian", {"KG_SERVER": "granian"}),
}
PROCESSES = {"KG_PROCESSES": "2"}  # one server process per core of this machine (as a deployment would run)


def http_servers() -> list[str]:
    """The HTTP servers ours is measured under: uvicorn, and granian where it is installed (.[granian])."""
    try:
        import granian  # noqa: F401
    except ImportError:
        print("granian is not installed (pip install -e '.[granian]'): ours is measured under uvicorn only",
              file=sys.stderr)
        return ["uvicorn", "uvicorn-2"]
    return ["uvicorn", "uvicorn-2", "granian"]


def start_pair(dist: Path, work: Path, oxigraph: str, env: dict[str, str] | None = None,
               under: tuple[str, ...] = ("uvicorn",)) -> tuple[dict, list]:
    """Ours (under each HTTP server named) and oxigraph serve-read-only over the same kg.trig;
    {name: (url, path)} and the processes, in the same order."""
    from tests.webserver import free_port

    procs: list[subprocess.Popen] = []
    servers: dict[str, tuple[str, str]] = {}
    for http_server in under:
        key, server_env = OURS[http_server]
        port = free_port()
        log = open(work / f"clients-{key}.log", "w")  # noqa: SIM115
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "kg.cli", "serve", "--port", str(port), "--dist", str(dist)], cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "KG_PER_CLIENT": "64", "KG_MAX_RUNNING": "64", "KG_LOOP": "uvloop",
                 **server_env, **(env or {})}))
        servers[key] = (f"http://127.0.0.1:{port}", "/sparql")
    store = work / f"oxigraph-store-{dist.parent.name}"
    version = json.loads((dist / "manifest.json").read_text())["version"]
    ready = store / "READY"
    if not ready.exists() or ready.read_text() != version:  # a store of this very dataset version, or a new one
        shutil.rmtree(store, ignore_errors=True)
        subprocess.run([oxigraph, "load", "--location", str(store), "--file", str(dist / "kg.trig")], check=True,
                       capture_output=True)
        ready.write_text(version)
    port = free_port()
    log = open(work / "clients-oxigraph.log", "w")  # noqa: SIM115
    procs.append(subprocess.Popen(
        [oxigraph, "serve-read-only", "--location", str(store), "--bind", f"127.0.0.1:{port}",
         "--union-default-graph"], stdout=log, stderr=subprocess.STDOUT))
    servers["oxigraph"] = (f"http://127.0.0.1:{port}", "/query")
    deadline = time.time() + 300
    for name, (url, path) in servers.items():
        while True:
            try:
                if httpx.get(f"{url}{path}?query=ASK%7B%7D", headers={"Accept": ACCEPT}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"{name} did not come up")
            time.sleep(0.3)
    return servers, procs


def stop(procs: list[subprocess.Popen]) -> None:
    from tests.webserver import stop_process

    for proc in procs:
        stop_process(proc, 15)


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes (what `uptime` shows)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(dist: Path, work: Path, oxigraph: str, seconds: float, profile: bool = True) -> list[dict]:
    """Every scenario × header set on every server (ours under each HTTP server, oxigraph), one after the
    other for each row; a py-spy profile of ours, under each HTTP server, where a target is missed."""
    under = tuple(http_servers())
    servers, procs = start_pair(dist, work, oxigraph, under=under)
    pids = {name: proc.pid for name, proc in zip(servers, procs, strict=True)}
    ours = [OURS[s][0] for s in under]
    rows: list[dict] = []
    try:
        for scenario in scenarios():
            for set_name, headers in HEADER_SETS.items():
                row: dict = {"scenario": scenario["name"], "headers": set_name, "target": TARGETS[scenario["name"]],
                             "under": list(under), "load": load_average()}
                for name, (url, path) in servers.items():
                    row[f"{name}_answer"] = answer_size(url, path, scenario, headers)
                    row[name] = wrk(url, script(scenario, path, headers), seconds)
                for key in ours:
                    ratio = row[key]["rps"] / row["oxigraph"]["rps"] if row["oxigraph"]["rps"] else None
                    row["ratio" if key == "ours" else f"{key}_ratio"] = ratio
                    row["same_answer" if key == "ours" else f"{key}_same_answer"] = (
                        row[f"{key}_answer"] == row["oxigraph_answer"])
                rows.append(row)
                print(json.dumps(row), flush=True)
        if profile:
            for row in rows:
                scenario = next(s for s in scenarios() if s["name"] == row["scenario"])
                for key in ours:
                    ratio = row["ratio" if key == "ours" else f"{key}_ratio"]
                    if ratio is not None and ratio < row["target"]:
                        row["profile" if key == "ours" else f"{key}_profile"] = profile_ours(
                            servers[key], pids[key], work, scenario, HEADER_SETS[row["headers"]])
    finally:
        stop(procs)
    return rows


def profile_ours(server: tuple[str, str], pid: int, work: Path, scenario: dict, headers: dict[str, str],
                 seconds: float = 6) -> dict[str, list[tuple[str, float]]]:
    """py-spy on the server and each worker while the scenario runs with those headers."""
    url, path = server
    return profile_processes(pid, work, "clients", seconds, lambda s: wrk(url, script(scenario, path, headers), s))


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (workers, and those a zygote forked), parents first."""
    out: list[int] = []
    try:
        children = [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return out
    for child in children:
        out += [child, *descendants(child)]
    return out


def pss_rss_mib(pid: int, with_children: bool = True) -> tuple[float, float]:
    """(RSS, PSS) in MiB of a process and every process below it (the query workers)."""
    pids = [pid, *(descendants(pid) if with_children else [])]
    rss = pss = 0.0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) / 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) / 1024
        except OSError:
            pass
    return rss, pss


def memory(dist: Path, work: Path, oxigraph: str, saved: dict[str, str], env: dict[str, str] | None = None) -> dict:
    """Resident memory of ours (server + workers, on-disk store) and of oxigraph on the same edition."""
    started = time.monotonic()
    servers, procs = start_pair(dist, work, oxigraph, env)
    up = time.monotonic() - started
    out: dict = {"triples": json.loads((dist / "manifest.json").read_text())["triples"], "startup_s": round(up, 1)}
    try:
        warm = [GROUP_BY, JOIN, *saved.values()]
        for name, (url, path) in servers.items():
            failures = 0
            for text in warm:
                try:
                    r = httpx.post(f"{url}{path}", data={"query": text}, headers={"Accept": ACCEPT}, timeout=60)
                    failures += r.status_code != 200
                except httpx.HTTPError:
                    failures += 1
            out[f"{name}_warm_failures"] = failures
        for name, proc in zip(servers, procs, strict=True):
            rss, pss = pss_rss_mib(proc.pid)
            out[f"{name}_rss_mib"], out[f"{name}_pss_mib"] = round(rss), round(pss)
            children = descendants(proc.pid)
            out[f"{name}_processes"] = 1 + len(children)
            out[f"{name}_each"] = [[round(x) for x in pss_rss_mib(p, with_children=False)] for p in [proc.pid, *children]]
    finally:
        stop(procs)
    return out


CLIENTS_HEADING = "\n## Speed as real clients see it"
SERVER_LABEL = {"ours": "ours, uvicorn", "ours_2": "ours, uvicorn, `KG_PROCESSES=2`", "ours_granian": "ours, granian"}


def _figures(r: dict, key: str) -> tuple[dict, str, bool, object]:
    """A row's figures for ours under one HTTP server: (wrk stats, answer, same answer?, ratio)."""
    if key == "ours":
        return r["ours"], r["ours_answer"], r["same_answer"], r["ratio"]
    return r[key], r[f"{key}_answer"], r[f"{key}_same_answer"], r[f"{key}_ratio"]


def clients_section(rows: list[dict]) -> list[str]:
    """The "Speed as real clients see it" section: ours under each HTTP server beside oxigraph, per row."""
    lines = [
        CLIENTS_HEADING + " (issue 20; 4 clients, wrk; req/s, p99 ms in brackets)\n",
        "Ours under each HTTP server it runs on (uvicorn + httptools, the default; granian, `KG_SERVER=granian`; "
        "both on uvloop, one process with its query workers), ours with two server processes on the port "
        "(`KG_PROCESSES=2`, one per core of this machine, each with its share of the query workers), and "
        "`oxigraph serve-read-only` (which uses every core), on the same triples, "
        "all started together and measured one after the other for each row, in the same run; each header set "
        "sent to every server alike; answers (rows, decoded) checked equal before timing. bare = curl/wrk; gzip = "
        "`Accept-Encoding: gzip, deflate` (requests, httpx); browser = `Origin` + `Accept-Encoding: gzip, deflate, "
        "br`. The machine (2 cores) is shared with other work: `load` is its load average (1, 5, 15 min) when the "
        "row began, and oxigraph's own figure moves between runs, so compare within a row.\n",
        "| scenario | headers | rows | server | ours | oxigraph | ours ÷ oxigraph | target | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    faster: list[str] = []
    for r in rows:
        keys = [k for k in SERVER_LABEL if k in r]
        for key in keys:
            stats, answer, same, ratio = _figures(r, key)
            cell = {n: f"{s['rps']:,.0f} ({s['p99_ms']:.1f})" + (f" **{s['errors']} errors**" if s["errors"] else "")
                    for n, s in (("ours", stats), ("oxigraph", r["oxigraph"]))}
            if not same:
                shown, verdict = f"answers differ ({answer} vs {r['oxigraph_answer']})", "**not comparable**"
            else:
                shown = f"{ratio:.2f}×" if ratio is not None else "—"
                met = ratio is not None and ratio >= r["target"] and not stats["errors"]
                verdict = f"≥ {r['target']}×: {'met' if met else '**missed**'}"
            lines.append(f"| {r['scenario']} | {r['headers']} | {answer} | {SERVER_LABEL[key]} | {cell['ours']} | "
                         f"{cell['oxigraph']} | {shown} | {verdict} | {r.get('load', '')} |")
        if "ours_granian" in r and r["ours"]["rps"]:
            faster.append(f"{r['ours_granian']['rps'] / r['ours']['rps']:.2f}")
    if faster:
        lines.append(f"\ngranian ÷ uvicorn, req/s, row by row: {', '.join(faster)}.")
    profiled = [(r, key) for r in rows for key in SERVER_LABEL
                if r.get("profile" if key == "ours" else f"{key}_profile")]
    if profiled:
        lines.append("\n### Where the time went where a target was missed (py-spy, share of samples per innermost "
                     "frame of ours or the framework, each process)\n")
        for r, key in profiled:
            lines.append(f"- **{r['scenario']}, {r['headers']}, {SERVER_LABEL[key]}**")
            for process, frames in r["profile" if key == "ours" else f"{key}_profile"].items():
                shown = "; ".join(f"`{name}` {share}%" for name, share in frames[:6]) or "no samples (idle)"
                lines.append(f"  - {process}: {shown}")
    return lines


def report(rows: list[dict], mem: dict | None, loadtest: list[dict] | None = None,
           mem10m: dict | None = None) -> list[str]:
    lines = clients_section(rows) if rows else []
    for title, m in ((MEMORY_1M, mem), (MEMORY_10M, mem10m)):
        if m:
            lines += memory_section(m, title)
    if loadtest:
        lines += ["\n## Do the LONG and LIMIT lanes and the hand-over pay? (`make loadtest` mix, 50 clients, "
                  "with each turned off)\n",
                  "| lanes | well-formed requests | errors | p50 ms | p99 ms | GROUP BY p99 ms | probe max ms | "
                  "handed over | moved while waiting |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in loadtest:
            counts = r.get("lanes") or {}
            lines.append(f"| {r['label']} | {r['requests']} | {r['errors']} | {r['p50']} | {r['p99']} | "
                         f"{r['group_by_p99']} | {r['probe_max']} | "
                         f"{counts.get('kg_worker_handovers_total', '—')} | {counts.get('kg_queries_moved_total', '—')} |")
    return lines


MEMORY_1M, MEMORY_10M = "issue 20, criterion 4", "issue 21, criterion 5: ≤ 2×, start-up ≤ 10 s"


def memory_section(mem: dict, title: str) -> list[str]:
    """The memory table of one edition: ours (defaults, fewest workers) and oxigraph."""
    lines = [
        f"\n## Memory of the server with its workers, {mem.get('scale', 1_000_000) // 1_000_000}M edition ({title})\n",
        f"Synthetic edition of {sum(mem['triples'].values()):,} triples, after the same warm-up (GROUP BY, "
        "join, every saved query with its defaults) on both; ours serves from the on-disk store (the default "
        "above `KG_MEMORY_TRIPLES`), its workers forked by the zygote (see README), each with its own "
        "read-only handle; the LONG and LIMIT lanes start theirs when a query first needs one. "
        "RSS counts pages shared between processes once per process; PSS divides them among the sharers "
        "(what the processes really cost together). Per process: [RSS, PSS] MiB, the server first, then the "
        "zygote and the workers (with `KG_PROCESSES=2`: the process manager, then each server process, its "
        "zygote and workers).\n",
        "| server | settings | processes | RSS MiB (sum) | PSS MiB (sum) | per process | start s | "
        "warm-up failures |",
        "|---|---|---|---|---|---|---|---|",
    ]
    runs = [("ours", "defaults", mem), ("ours", ", ".join(f"{k}={v}" for k, v in FEWEST.items()), mem.get("fewest")),
            ("ours", ", ".join(f"{k}={v}" for k, v in PROCESSES.items()), mem.get("processes"))]
    for name, label, m in runs:
        if m:
            lines.append(f"| {name} | {label} | {m['ours_processes']} | {m['ours_rss_mib']:,} | "
                         f"{m['ours_pss_mib']:,} | {m.get('ours_each', '')} | {m['startup_s']} | "
                         f"{m['ours_warm_failures']} |")
    lines.append(f"| oxigraph serve-read-only | — | {mem['oxigraph_processes']} | {mem['oxigraph_rss_mib']:,} | "
                 f"{mem['oxigraph_pss_mib']:,} | {mem.get('oxigraph_each', '')} | — | "
                 f"{mem['oxigraph_warm_failures']} |")
    for _, label, m in runs:
        if m and m.get("oxigraph_pss_mib"):
            ratio = m["ours_pss_mib"] / m["oxigraph_pss_mib"]
            lines.append(f"\nOurs ({label}) ÷ oxigraph, PSS: {ratio:.2f}× (RSS: "
                         f"{m['ours_rss_mib'] / m['oxigraph_rss_mib']:.2f}×) — target ≤ 2×: "
                         f"{'met' if ratio <= 2 else '**missed**'}.")
    return lines


if __name__ == "__main__":
    print(script(scenarios()[4], "/sparql", HEADER_SETS["browser"]))
    print(urlencode({"query": "x"}))
