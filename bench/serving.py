"""Serving-core benchmark (issue 9): our server beside the engine's own Rust server and the peers.

Servers, all on the same triples (ontology + data + OWL RL closure, as the union default graph):
ours (`kg serve`, uvloop + httptools, as `uvicorn[standard]` deployments run it),
`oxigraph serve-read-only` (the Rust server of the engine we embed; PyPI package `oxigraph`),
rdflib-endpoint, Virtuoso (when installed), and a bare Starlette app answering /healthz under
the same uvicorn, as the framework's floor. Load: wrk, 4 connections, each scenario for a fixed
number of seconds; every answer is checked for equal size across servers before it is timed.

Scenarios: lookups rotating over all 62 municipality IRIs (warm: repeated texts) and cold
lookups (every request ends with its own comment line, so no cache can answer); the GROUP BY of the issue, warm
and cold; a join with a label filter, warm and cold; /healthz; every saved query without
parameters through /sparql (warm and cold) and through our saved-query API.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
ACCEPT = "application/sparql-results+json"
KGO = "https://w3id.org/tokyo-sme-kg/ontology#"
MUNI = "https://w3id.org/tokyo-sme-kg/id/municipality/"
GROUP_BY = "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY DESC(?n)"
JOIN = (
    f"SELECT ?r ?m ?name WHERE {{ ?r <{KGO}area> ?m . ?m <http://www.w3.org/2000/01/rdf-schema#label> ?name "
    'FILTER(CONTAINS(STR(?name), "区")) }'
)
BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def healthz(request):
    return JSONResponse({"status": "ok"})

app = Starlette(routes=[Route("/healthz", healthz)])
"""

# wrk scripts: a fixed rotation of request paths (warm), or a path with a counter spliced in (cold)
ROTATE_LUA = """
local paths = {%s}
local i = math.random(#paths)
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Accept"] = "%s"})
end
"""
COLD_LUA = """
local n = math.random(1, 1000000000)
request = function()
  n = n + 1
  return wrk.format("GET", "%s" .. tostring(1000000 + n) .. "%s", {["Accept"] = "%s"})
end
"""


def municipalities() -> list[str]:
    with open(ROOT / "data" / "municipalities.csv", encoding="utf-8") as f:
        return [row["code6"] for row in csv.DictReader(f)]


def lookup(code: str) -> str:
    return f"SELECT ?p ?o WHERE {{ <{MUNI}{code}> ?p ?o }}"


def wrk(url: str, script: str, seconds: float, clients: int = 4) -> dict[str, float]:
    """Run wrk with a Lua script; return req/s, p50/p99 (ms) and errors."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    cmd = ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--latency", "-s", f.name, url]
    text = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120).stdout
    Path(f.name).unlink()
    try:
        return parse_wrk(text)
    except AttributeError:
        return {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": -1, "output": text[-500:]}


def _ms(value: str) -> float:
    number = float(re.match(r"[\d.]+", value).group())  # type: ignore[union-attr]
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0}[re.search(r"(us|ms|s)$", value).group()]  # type: ignore[union-attr]


def parse_wrk(text: str) -> dict[str, float]:
    """Requests, req/s, p50/p99 (ms) and errors (non-2xx/3xx and socket errors) from wrk --latency output."""
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),  # type: ignore[union-attr]
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(re.search(r"\s50%\s+(\S+)", text).group(1)),  # type: ignore[union-attr]
        "p99_ms": _ms(re.search(r"\s99%\s+(\S+)", text).group(1)),  # type: ignore[union-attr]
        "errors": (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0),
    }


def rows_of(url: str, path: str, query: str) -> str:
    try:
        r = httpx.get(f"{url}{path}", params={"query": query}, headers={"Accept": ACCEPT}, timeout=300)
        if r.status_code != 200:
            return f"HTTP {r.status_code}"
        body = r.json()
        return str(body["boolean"]) if "boolean" in body else str(len(body["results"]["bindings"]))
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return f"error: {type(exc).__name__}"


def _path(base: str, query: str) -> str:
    return f"{base}?query={quote(query, safe='')}"


def scenarios(saved: dict[str, str]) -> list[dict[str, object]]:
    """What is measured: name, kind (warm/cold), the query texts, and the issue's targets."""
    codes = municipalities()
    out: list[dict[str, object]] = [
        {"name": "lookup, rotating over the municipalities", "kind": "warm", "queries": [lookup(c) for c in codes],
         "check": lookup(codes[0]), "targets": {"oxigraph": 0.5, "rdflib-endpoint": 4.5, "virtuoso": 1.5}},
        {"name": "lookup, each request a new text", "kind": "cold", "cold": (lookup(codes[0]) + "\n# @",),
         "check": lookup(codes[0]) + "\n# 1", "targets": {"oxigraph": 0.35}},
        {"name": "GROUP BY", "kind": "warm", "queries": [GROUP_BY], "check": GROUP_BY, "targets": {"oxigraph": 1.0}},
        {"name": "GROUP BY, each request a new text", "kind": "cold", "cold": (GROUP_BY + "\n# @",),
         "check": GROUP_BY + "\n# 1", "targets": {"oxigraph": 0.8}},
        {"name": "join with a label filter", "kind": "warm", "queries": [JOIN], "check": JOIN,
         "targets": {"oxigraph": 1.0}},
        {"name": "join with a label filter, each request a new text", "kind": "cold", "cold": (JOIN + "\n# @",),
         "check": JOIN + "\n# 1", "targets": {}},
    ]
    for name, text in saved.items():
        out.append({"name": f"saved query {name} via /sparql", "kind": "warm", "queries": [text], "check": text,
                    "targets": {"virtuoso": 1.0}, "saved": name})
        out.append({"name": f"saved query {name} via /sparql, new text", "kind": "cold",
                    "cold": (text + "\n# @",), "check": text + "\n# 1000001", "targets": {}, "saved": name})
    return out


def script_for(scenario: dict, path: str) -> str:
    if scenario["kind"] == "warm":
        paths = ", ".join(f'"{_path(path, q)}"' for q in scenario["queries"])  # type: ignore[union-attr]
        return ROTATE_LUA % (paths, ACCEPT)
    before, after = scenario["cold"][0].split("@")  # type: ignore[index]
    head = _path(path, before)
    return COLD_LUA % (head, quote(after, safe=""), ACCEPT)


def start_servers(dist: Path, work: Path, peers_venv: Path, virtuoso_url: str | None) -> tuple[dict, list]:
    """Start ours, oxigraph, rdflib-endpoint and the bare app; return {name: (url, sparql path)} and procs."""
    sys.path.insert(0, str(ROOT))
    from tests.webserver import free_port

    procs: list[subprocess.Popen] = []
    servers: dict[str, tuple[str, str]] = {}

    def start(name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        import os

        log = open(work / f"serving-{name}.log", "w")  # noqa: SIM115
        procs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                      env={**os.environ, **(env or {})}))

    port = free_port()
    start("ours", [sys.executable, "-m", "kg.cli", "serve", "--port", str(port), "--dist", str(dist)],
          {"KG_PER_CLIENT": "64", "KG_MAX_RUNNING": "64", "KG_LOOP": "uvloop", "KG_HTTP": "httptools"})
    servers["ours"] = (f"http://127.0.0.1:{port}", "/sparql")
    store = work / "oxigraph-store"
    shutil.rmtree(store, ignore_errors=True)
    oxigraph = str(peers_venv / "bin" / "oxigraph")
    subprocess.run([oxigraph, "load", "--location", str(store), "--file", str(dist / "kg.trig")], check=True,
                   capture_output=True)
    port = free_port()
    start("oxigraph", [oxigraph, "serve-read-only", "--location", str(store), "--bind", f"127.0.0.1:{port}",
                       "--union-default-graph"])
    servers["oxigraph"] = (f"http://127.0.0.1:{port}", "/query")
    port = free_port()
    start("rdflib-endpoint", [str(peers_venv / "bin" / "rdflib-endpoint"), "serve", str(work / "all.nt"),
                              "--host", "127.0.0.1", "--port", str(port)])
    servers["rdflib-endpoint"] = (f"http://127.0.0.1:{port}", "/")
    if virtuoso_url:
        servers["virtuoso"] = (virtuoso_url, "/sparql")
    (work / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    start("bare-starlette", [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--loop", "uvloop",
                             "--http", "httptools", "--no-access-log", "--log-level", "warning",
                             "--app-dir", str(work)])
    servers["bare-starlette"] = (f"http://127.0.0.1:{port}", "/healthz")
    deadline = time.time() + 180
    for name, (url, path) in servers.items():
        probe = f"{url}{path}" + ("" if name == "bare-starlette" else "?query=ASK%7B%7D")
        while True:
            try:
                if httpx.get(probe, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"{name} did not come up")
            time.sleep(0.3)
    return servers, procs


def healthz_rounds(servers: dict, seconds: float, rounds: int = 3) -> list[dict[str, object]]:
    """/healthz of ours and of the bare app, measured in alternation (ours, bare, ours, bare, ...).

    Whatever the machine does meanwhile falls on both alike, not on whichever goes first; each
    server's row gives the median round and every round.
    """
    measured: dict[str, list[dict]] = {"ours": [], "bare-starlette": []}
    for _ in range(rounds):
        for name in measured:
            url, _path = servers[name]
            measured[name].append(wrk(f"{url}/healthz", ROTATE_LUA % ('"/healthz"', ACCEPT), seconds))
    out = []
    for name, runs in measured.items():
        median = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
        out.append({"scenario": "/healthz", "kind": "-", "server": name, "answer": "-", **median,
                    "errors": sum(r["errors"] for r in runs), "rounds": [r["rps"] for r in runs]})
        print(out[-1], flush=True)
    return out


def run(dist: Path, work: Path, peers_venv: Path, virtuoso_url: str | None, saved: dict[str, str],
        seconds: float, profile: bool = False) -> list[dict[str, object]]:
    """Measure every scenario on every server; return rows."""
    servers, procs = start_servers(dist, work, peers_venv, virtuoso_url)
    rows: list[dict[str, object]] = []
    try:
        rows += healthz_rounds(servers, seconds)
        for scenario in scenarios(saved):
            sparql_servers = [n for n in servers if n != "bare-starlette"]
            if "saved" in scenario:
                sparql_servers = [n for n in sparql_servers if n in ("ours", "oxigraph", "virtuoso")]
            for name in sparql_servers:
                url, path = servers[name]
                answer = rows_of(url, path, str(scenario["check"]))
                stats = wrk(url, script_for(scenario, path), seconds)
                rows.append({"scenario": scenario["name"], "kind": scenario["kind"], "server": name,
                             "answer": answer, "targets": scenario["targets"], **stats})
                print(rows[-1], flush=True)
            if "saved" in scenario and scenario["kind"] == "warm":
                url, _ = servers["ours"]
                api = f"/api/queries/{scenario['saved']}"
                stats = wrk(url, ROTATE_LUA % (f'"{api}"', ACCEPT), seconds)
                answer = str(len(httpx.get(f"{url}{api}", headers={"Accept": ACCEPT}).json()["results"]["bindings"]))
                rows.append({"scenario": f"saved query {scenario['saved']} via the API", "kind": "warm",
                             "server": "ours", "answer": answer, "targets": {"virtuoso": 1.0},
                             "peer_scenario": scenario["name"], **stats})
                print(rows[-1], flush=True)
        if profile:
            rows.append({"scenario": "profile", "profile": profile_ours(servers["ours"][0], procs[0].pid, work)})
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return rows


def profile_processes(pid: int, work: Path, label: str, seconds: float, load) -> dict[str, list[tuple[str, float]]]:
    """py-spy on a server and each of its workers while ``load(seconds)`` runs; top frames per process."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    spies = []
    for p in [str(pid), *children]:
        target = work / f"profile-{label.replace(' ', '-')}-{p}.txt"
        target.unlink(missing_ok=True)
        spies.append((p, target, subprocess.Popen(
            [py_spy, "record", "--pid", p, "--duration", str(int(seconds)), "--rate", "200", "--format", "raw",
             "--nonblocking", "-o", str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    time.sleep(0.5)
    load(seconds - 1)
    out = {}
    for p, target, spy in spies:
        spy.wait(60)
        out["server" if p == str(pid) else f"worker {p}"] = top_frames(target)
    return out


def profile_ours(url: str, pid: int, work: Path, seconds: float = 8) -> dict[str, list[tuple[str, float]]]:
    """py-spy on the server and each worker process during cold lookups, then during cold GROUP BYs."""
    out: dict[str, list[tuple[str, float]]] = {}
    codes = municipalities()
    for label, scenario in (
        ("cold lookups", {"kind": "cold", "cold": (lookup(codes[0]) + "\n# @",)}),
        ("cold GROUP BY", {"kind": "cold", "cold": (GROUP_BY + "\n# @",)}),
    ):
        frames = profile_processes(pid, work, label, seconds,
                                   lambda s, scenario=scenario: wrk(url, script_for(scenario, "/sparql"), s))
        out.update({f"{label}: {role}": top for role, top in frames.items()})
    return out


def top_frames(raw: Path, n: int = 8) -> list[tuple[str, float]]:
    """Share of samples per leaf-most project or library frame, from py-spy's raw (collapsed) output."""
    if not raw.exists():
        return []
    counts: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        frames = stack.split(";")
        leaf = frames[-1]
        for frame in reversed(frames):  # the innermost frame of ours, or else the leaf
            if "kg/" in frame or "starlette" in frame or "uvicorn" in frame or "fastapi" in frame:
                leaf = frame
                break
        counts[leaf] = counts.get(leaf, 0) + int(count)
    return [(k, round(100 * v / total, 1)) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:n]] if total else []


def _row(rows: list[dict], scenario: str, server: str) -> dict | None:
    return next((r for r in rows if r.get("scenario") == scenario and r.get("server") == server), None)


def report(rows: list[dict]) -> list[str]:
    """Markdown: one line per scenario with every server side by side, ratios, targets met or missed."""
    names = ["ours", "oxigraph", "rdflib-endpoint", "virtuoso"]
    lines = [
        "\n## Serving core (4 clients, wrk; req/s, p99 ms in brackets)\n",
        "Same triples for every server (union default graph); `rows` is each answer's size, checked before timing. "
        "warm = the same texts repeated (our answer cache answers, `X-KG-Cache: hit`); cold = every request a new "
        "text (no cache can answer; ours runs bounded lookups in the server process, everything else in the "
        "killable workers).\n",
        "| scenario | kind | rows | " + " | ".join(names) + " | ours ÷ oxigraph | ours ÷ rdflib-endpoint | "
        "ours ÷ Virtuoso | targets |",
        "|---|---|---|" + "---|" * len(names) + "---|---|---|---|",
    ]
    health, bare = _row(rows, "/healthz", "ours"), _row(rows, "/healthz", "bare-starlette")
    scenarios_seen = [r["scenario"] for r in rows if r.get("server") == "ours" and r["scenario"] != "/healthz"]
    for scenario in dict.fromkeys(scenarios_seen):
        ours = _row(rows, scenario, "ours")
        if ours is None:
            continue
        peers = {n: _row(rows, ours.get("peer_scenario", scenario), n) if n != "ours" else ours for n in names}
        answers = {r["answer"] for r in peers.values() if r}
        cells = [f"{r['rps']:,.0f} ({r['p99_ms']:.1f})" + (f" **{r['errors']} errors**" if r["errors"] else "")
                 if r else "—" for r in peers.values()]
        ratios, verdicts = [], []
        for n in ("oxigraph", "rdflib-endpoint", "virtuoso"):
            peer = peers[n]
            if not peer or not peer["rps"]:
                ratios.append("—")
                continue
            if peer["answer"] != ours["answer"]:
                ratios.append(f"answers differ ({ours['answer']} vs {peer['answer']})")
                continue
            ratio = ours["rps"] / peer["rps"]
            ratios.append(f"{ratio:.2f}×")
            target = ours.get("targets", {}).get(n)
            if target is not None:
                met = ratio >= target and not ours["errors"]
                verdicts.append(f"≥ {target}× {n}: {'met' if met else '**missed**'}")
        rows_cell = ours["answer"] if len(answers) == 1 else " / ".join(sorted(answers))
        lines.append(f"| {scenario} | {ours['kind']} | {rows_cell} | " + " | ".join(cells) + " | "
                     + " | ".join(ratios) + f" | {'; '.join(verdicts)} |")
    if health and bare:
        ok = health["rps"] >= 8000 and health["rps"] >= 0.4 * bare["rps"]
        rounds = ""
        if "rounds" in health and "rounds" in bare:  # older results have one run each
            rounds = (f" (median of rounds in alternation: ours {', '.join(f'{x:,.0f}' for x in health['rounds'])}, "
                      f"bare {', '.join(f'{x:,.0f}' for x in bare['rounds'])})")
        lines.append(f"\n/healthz: ours {health['rps']:,.0f} req/s, bare Starlette (same uvicorn, uvloop + httptools) "
                     f"{bare['rps']:,.0f} req/s{rounds} = {health['rps'] / bare['rps']:.0%} of the "
                     f"floor; target ≥ 8,000 and ≥ 40 %: {'met' if ok else '**missed**'}.")
    missed = [line for line in lines if "**missed**" in line]
    if missed:
        lines.append("\nWhy targets are missed (read with the profile below):")
    if any(line.startswith("| lookup") for line in missed):
        lines.append(
            "- lookups: a bounded lookup runs inline in the server process, so per request the server pays the "
            "query and its serialization (pyoxigraph, in Rust) plus our HTTP path in Python on one core (uvicorn, "
            "the edge layer, the protocol handler, negotiation, the read-only check, the answer cache's key and copy, "
            "the response and the access-log record), while `oxigraph serve-read-only` answers in Rust on every "
            "core; the Python part is the larger (see `_solutions_fast`/`execute` against the uvicorn and edge "
            "frames below)."
        )
    if health and bare and any(line.startswith("\n/healthz") for line in missed):
        floor = "the bare Starlette app itself is under 8,000 req/s in this run, so the absolute target is " \
                "out of reach of any uvicorn app on this machine in this run; " if bare["rps"] < 8000 else ""
        lines.append(
            f"- /healthz: {floor}ours is answered by the edge layer from pre-encoded bytes (no router or "
            "framework layers); what it pays beyond the bare app is the access-log record, two more headers and "
            "whatever else the server process does meanwhile (see its profile below)."
        )
    profile = next((r["profile"] for r in rows if r.get("scenario") == "profile"), None)
    if profile:
        lines.append("\n### Where the time goes (py-spy, share of samples per innermost frame of ours or the "
                     "framework, each process)\n")
        for label, frames in profile.items():
            shown = "; ".join(f"{name} {share}%" for name, share in frames[:6]) or "no samples (idle)"
            lines.append(f"- {label}: {shown}")
    return lines


if __name__ == "__main__":
    print(json.dumps(scenarios({})[0], indent=1)[:500])
