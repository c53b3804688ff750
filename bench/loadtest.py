"""Load test (`make loadtest`): 50 concurrent clients for 60 s on loopback, then it stops.

The server runs as deployments run it: uvicorn with uvloop and httptools (`uvicorn[standard]`).
Clients come from 50 different loopback addresses (127.0.0.2 …) so the per-client cap applies
as it would on the internet. The well-formed mix (95 %): saved queries with their parameters
(75 %), ad-hoc GROUP BY aggregates on /sparql, each with a new text so no cache answers (15 %),
and ad-hoc lookups of one municipality (5 %); plus pathological SPARQL (5 %). A probe, in a process of its own, looks up a random municipality every 250 ms
and must answer within 200 ms. Reports requests, errors (0 required for well-formed requests), p50/p99 and the
server's peak memory (server + workers) into bench/LOADTEST.md.

Usage: python bench/loadtest.py [--clients 50] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from run import free_port, machine, wait_up  # noqa: E402
from tests.webserver import tree_rss_mib  # noqa: E402

CODES = ["131016", "131067", "131091", "131237", "132012", "132047", "133612", "134015", "134210", "132136"]
SAVED = [
    ("resources-per-municipality", {}),
    ("municipalities-by-resource-count", {}),
    ("shared-resources", {"min": ["2", "3", "5", "9"]}),
    ("island-resources", {}),
    ("label-search", {"text": ["江戸", "東京", "ＴＯＫＹＯ", "さくら", "公園"]}),
    ("municipality-profile", {"code": CODES}),
    ("plans-in-force", {"year": ["2021", "2022", "2023", "2025"]}),
    ("programs-by-topic", {"keyword": ["dx", "startup", "succession", "創業"]}),
    ("law-status", {}),
    ("strategy-programs", {}),
    ("budgets-fy2009", {}),
    ("programs-listed-several", {}),
]
GROUP_BYS = [
    "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY DESC(?n)",
    "PREFIX kgo: <https://w3id.org/tokyo-sme-kg/ontology#>\n"
    "SELECT ?m (COUNT(?r) AS ?n) WHERE { ?r kgo:area ?m } GROUP BY ?m ORDER BY DESC(?n)",
    "SELECT ?t (COUNT(*) AS ?n) WHERE { ?s a ?t } GROUP BY ?t",
]
PATHOLOGICAL = [
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }",
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT (COUNT(*) AS ?n) WHERE { ?s (<https://w3id.org/tokyo-sme-kg/ontology#area>|^<https://w3id.org/tokyo-sme-kg/ontology#area>)* ?o }",
]


async def client_loop(url: str, address: str, deadline: float, rng: random.Random, stats: dict) -> None:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as client:
        while time.monotonic() < deadline:
            pathological = rng.random() < 0.05
            start = time.perf_counter()
            try:
                draw = rng.random()
                if pathological:
                    r = await client.post("/sparql", data={"query": rng.choice(PATHOLOGICAL)})
                elif draw < 0.16:  # a GROUP BY no cache has seen: it runs in a worker
                    text = f"{rng.choice(GROUP_BYS)}\n# {address} {time.monotonic_ns()}"
                    r = await client.post("/sparql", data={"query": text})
                elif draw < 0.21:
                    code = rng.choice(CODES)
                    text = f"SELECT ?p ?o WHERE {{ <https://w3id.org/tokyo-sme-kg/id/municipality/{code}> ?p ?o }}"
                    r = await client.get("/sparql", params={"query": text})
                else:
                    name, params = rng.choice(SAVED)
                    r = await client.get(f"/api/queries/{name}", params={k: rng.choice(v) for k, v in params.items()})
                status = r.status_code
                said = r.text[:200] if status != 200 else ""
            except httpx.HTTPError as exc:
                status, said = type(exc).__name__, str(exc)[:200]
            elapsed = time.perf_counter() - start
            kinds = ["pathological"] if pathological else ["well-formed"] + (["group-by"] if draw < 0.16 else [])
            for kind in kinds:
                stats[kind]["latencies"].append(elapsed)
                stats[kind]["statuses"][status] = stats[kind]["statuses"].get(status, 0) + 1
                if said and len(stats[kind]["examples"]) < 3:
                    stats[kind]["examples"].append(f"{status}: {said.strip()}")


def probe_main(url: str, seconds: float, seed: int) -> None:
    """The probe, in a process of its own (a user elsewhere, not queued behind the generator's tasks).

    Looks up a random municipality's Turtle every 250 ms; prints the latencies (s, inf = not 200) as JSON.
    """
    rng = random.Random(seed)
    probes: list[float] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=10, transport=httpx.HTTPTransport(local_address="127.0.0.1")) as c:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            r = c.get(f"/id/municipality/{rng.choice(CODES)}", headers={"Accept": "text/turtle"})
            probes.append((time.perf_counter() - start) if r.status_code == 200 else float("inf"))
            time.sleep(0.25)
    print(json.dumps(probes))


def server_ms_of_probes(log: Path) -> list[float]:
    """The server's own time (access log ``ms``) for the probe's requests."""
    out = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith('{"client":"127.0.0.1"') and '"path":"/id/municipality/' in line:
            try:
                out.append(json.loads(line)["ms"] / 1000)
            except ValueError:
                pass
    return out


async def memory_loop(pid: int, deadline: float, samples: list[float]) -> None:
    while time.monotonic() < deadline:
        samples.append(tree_rss_mib(pid))
        await asyncio.sleep(0.5)


def lane_metrics(url: str) -> dict[str, int]:
    """The server's per-lane query counts and remembered shapes, from /metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    wanted = ("kg_queries_", "kg_long_query_shapes", "kg_limit_query_shapes", "kg_worker_restarts", "kg_worker_handovers")
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith(wanted) and not name.startswith("kg_queries_running"):
            out[name] = int(float(value))  # counters and counts
    return out


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--markdown", default=str(ROOT / "bench" / "LOADTEST.md"), help="where the report goes")
    parser.add_argument("--json", metavar="PATH", help="also write the summary figures as JSON here")
    parser.add_argument("--probe", metavar="URL", help="run only the probe against URL (used by the load test)")
    args = parser.parse_args()
    if args.probe:
        probe_main(args.probe, args.seconds, seed=7)
        return
    dist = ROOT / "dist"
    if not (dist / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "kg.cli", "build"], cwd=ROOT, check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KG_PORT": str(port), "KG_MAX_RUNNING": str(args.clients + 10), "KG_QUERY_TIMEOUT": "5",
           "KG_LOOP": "uvloop", "KG_HTTP": "httptools"}
    log_path = ROOT / "bench" / "results-loadtest.log"
    log = open(log_path, "w")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "-m", "kg.cli", "serve"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_up(f"{url}/healthz")
        stats = {k: {"latencies": [], "statuses": {}, "examples": []} for k in ("well-formed", "group-by", "pathological")}
        memory: list[float] = []
        deadline = time.monotonic() + args.seconds
        started = time.perf_counter()

        async def everything() -> None:
            tasks = [
                client_loop(url, f"127.0.0.{i + 2}", deadline, random.Random(i), stats) for i in range(args.clients)
            ]
            tasks.append(memory_loop(server.pid, deadline, memory))
            await asyncio.gather(*tasks)

        probe = subprocess.Popen(
            [sys.executable, __file__, "--probe", url, "--seconds", str(args.seconds)], stdout=subprocess.PIPE, text=True
        )
        asyncio.run(everything())
        elapsed = time.perf_counter() - started
        probes = json.loads(probe.communicate(timeout=60)[0])
        lanes = lane_metrics(url)
    finally:
        server.terminate()
        server.wait(15)
        log.close()
    in_server = server_ms_of_probes(log_path)
    wf, gb, pa = stats["well-formed"], stats["group-by"], stats["pathological"]
    wf_errors = sum(n for s, n in wf["statuses"].items() if s != 200)
    lines = [
        "# Load test report\n",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M UTC} · machine: {machine()}",
        f"`python bench/loadtest.py --clients {args.clients} --seconds {args.seconds:g}` · loopback only, "
        f"{args.clients} clients from distinct loopback addresses, {elapsed:.0f} s; server under uvloop + httptools.\n",
        "| traffic | requests | statuses | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
        f"| well-formed (saved queries, ad-hoc GROUP BY and lookups) | {len(wf['latencies'])} | {wf['statuses']} | "
        f"{1000 * statistics.median(wf['latencies']):.1f} | {1000 * percentile(wf['latencies'], 0.99):.1f} |",
        f"| of which ad-hoc GROUP BY, new text each | {len(gb['latencies'])} | {gb['statuses']} | "
        f"{1000 * statistics.median(gb['latencies']):.1f} | {1000 * percentile(gb['latencies'], 0.99):.1f} |",
        f"| pathological (5 %) | {len(pa['latencies'])} | {pa['statuses']} | "
        f"{1000 * statistics.median(pa['latencies']) if pa['latencies'] else float('nan'):.1f} | "
        f"{1000 * percentile(pa['latencies'], 0.99):.1f} |",
        "",
        f"- Throughput: {(len(wf['latencies']) + len(pa['latencies'])) / elapsed:.0f} requests/s in total.",
        f"- Errors among well-formed requests: **{wf_errors}** (required: 0)."
        + "".join(f"\n  - e.g. {example}" for example in wf["examples"]),
        f"- Lookup probe every 250 ms: {len(probes)} probes, max {1000 * max(probes):.0f} ms, p99 "
        f"{1000 * percentile(probes, 0.99):.0f} ms (required: every probe within 200 ms: "
        f"**{'yes' if max(probes) <= 0.2 else 'no'}**). The probe is a process of its own; the server's own "
        f"time for these requests (access log): max {1000 * max(in_server, default=float('nan')):.0f} ms, "
        f"p50 {1000 * statistics.median(in_server) if in_server else float('nan'):.0f} ms.",
        f"- Server peak memory (server + query workers, RSS): {max(memory):.0f} MiB.",
        "- Where the queries ran (`/metrics` at the end): "
        + ", ".join(f"{name.removeprefix('kg_')} {value:g}" for name, value in lanes.items()) + ".",
    ]
    text = "\n".join(lines) + "\n"
    Path(args.markdown).write_text(text, encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "requests": len(wf["latencies"]), "errors": wf_errors,
            "p50": round(1000 * statistics.median(wf["latencies"]), 1),
            "p99": round(1000 * percentile(wf["latencies"], 0.99), 1),
            "group_by_p99": round(1000 * percentile(gb["latencies"], 0.99), 1),
            "probe_max": round(1000 * max(probes)), "memory_mib": round(max(memory)),
            "long_workers": os.environ.get("KG_LONG_WORKERS", "1"),
            "limit_workers": os.environ.get("KG_LIMIT_WORKERS", "1"),
            "lanes": lanes,
        }))
    print(text)
    sys.exit(0 if wf_errors == 0 and max(probes) <= 0.2 else 1)


if __name__ == "__main__":
    main()
