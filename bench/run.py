"""Benchmark harness: `make bench` writes bench/REPORT.md.

Part 1, endpoints: our server vs rdflib-endpoint (and Virtuoso when `virtuoso-t` is installed)
serving the same dump, on saved queries and a lookup, at 1, 4 and 16 concurrent clients on
loopback; each run is bounded in requests and seconds. Part 2, scale: synthetic editions of
10K, 100K and 1M triples (10M with --max-scale 10000000): build, load, validate and reason
times with both engines, and peak memory, each step in its own process with a time cap.

Usage: python bench/run.py [--quick] [--max-scale N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = BENCH / "results"
KG = [sys.executable, "-m", "kg.cli"]
LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/tokyo-sme-kg/id/municipality/131067> ?p ?o }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def saved_queries() -> dict[str, str]:
    sys.path.insert(0, str(ROOT / "src"))
    from kg.queries import load_saved_queries

    out = {}
    for q in load_saved_queries(ROOT / "queries").values():
        if q.params:  # inline the defaults: rdflib-endpoint has no parameter binding
            continue
        out[q.name] = q.text
    return out


async def _load(url: str, make_request, clients: int, total: int, seconds: float) -> dict[str, float]:
    """Run `total` requests (at most `seconds`) with `clients` concurrent clients; return stats."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            nonlocal sent, errors
            while sent < total and time.monotonic() < deadline:
                sent += 1
                start = time.perf_counter()
                try:
                    r = await make_request(client)
                    if r.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def sparql_get(query: str, path: str = "/sparql"):
    async def call(client: httpx.AsyncClient):
        return await client.get(path, params={"query": query}, headers={"Accept": "application/sparql-results+json"})

    return call


def saved_get(name: str):
    async def call(client: httpx.AsyncClient):
        return await client.get(f"/api/queries/{name}")

    return call


def bench_venv() -> Path:
    """A separate venv with rdflib-endpoint from PyPI (kept apart from the project's)."""
    venv = WORK / "venv-peers"
    if not (venv / "bin" / "rdflib-endpoint").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "rdflib-endpoint[cli]", "uvicorn"], check=True)
    return venv


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,  # noqa: SIM115
        env={**os.environ, **(env or {})},
    )


def endpoints_part(dist: Path, seconds: float, per_run: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    servers: dict[str, tuple[str, subprocess.Popen]] = {}
    paths = {"ours": "/sparql", "rdflib-endpoint": "/"}  # rdflib-endpoint answers SPARQL at its root
    port = free_port()
    servers["ours"] = (
        f"http://127.0.0.1:{port}",
        start(
            KG + ["serve", "--port", str(port), "--dist", str(dist)],
            WORK / "ours.log",
            {"KG_WORKERS": "2", "KG_PER_CLIENT": "64", "KG_MAX_RUNNING": "64"},
        ),
    )
    try:
        venv = bench_venv()
        port = free_port()
        servers["rdflib-endpoint"] = (
            f"http://127.0.0.1:{port}",
            start(
                [
                    str(venv / "bin" / "rdflib-endpoint"),
                    "serve",
                    str(dist / "kg.nt"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                WORK / "rdflib-endpoint.log",
            ),
        )
    except subprocess.CalledProcessError as exc:
        print(f"rdflib-endpoint not available: {exc}", file=sys.stderr)
    try:
        for name, (url, _proc) in servers.items():
            wait_up(f"{url}{paths[name]}?query=ASK%7B%7D")
        queries = saved_queries()
        for clients in (1, 4, 16):
            for qname, text in [("lookup", LOOKUP), *queries.items()]:
                for name, (url, _proc) in servers.items():
                    stats = asyncio.run(_load(url, sparql_get(text, paths[name]), clients, per_run, seconds))
                    rows.append({"server": name, "query": qname, "via": "/sparql", "clients": clients, **stats})
                    print(rows[-1], flush=True)
                if qname != "lookup":
                    url = servers["ours"][0]
                    stats = asyncio.run(_load(url, saved_get(qname), clients, per_run, seconds))
                    rows.append(
                        {"server": "ours", "query": qname, "via": "saved API (cached)", "clients": clients, **stats}
                    )
    finally:
        for _url, proc in servers.values():
            proc.terminate()
            proc.wait(10)
    return rows


def timed(cmd: list[str], cap: float, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run a command with a time cap; return seconds and the child's peak memory (MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    try:
        result = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=cap, env={**os.environ, **(env or {})}
        )
        ok = result.returncode == 0
        note = "" if ok else result.stderr.strip().splitlines()[-1][:200]
    except subprocess.TimeoutExpired:
        ok, note = False, f"stopped after {cap:.0f} s"
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": elapsed, "ok": ok, "note": note, "peak_mib": max(peak, before) / 1024}


STEP = """
import sys, time, resource
from pathlib import Path
from rdflib import Graph
step, dist, engine = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
sys.path.insert(0, "src")
if step == "load":
    import pyoxigraph as ox
    t = time.perf_counter(); s = ox.Store(); s.bulk_load(path=str(dist / "kg.nt"), format=ox.RdfFormat.N_TRIPLES)
    print(time.perf_counter() - t, len(s))
elif step == "validate":
    from kg.validate import run_validation
    data = Graph().parse(dist / "kg.nt", format="nt")
    shapes = Graph().parse("ontology/shapes.ttl")
    t = time.perf_counter(); r = run_validation(data, shapes, engine=engine); print(time.perf_counter() - t, r.conforms)
elif step == "reason":
    from kg.reason import infer
    data = Graph().parse(dist / "kg.nt", format="nt")
    onto = Graph().parse("ontology/kg.ttl")
    t = time.perf_counter(); inf = infer(onto, data, engine); print(time.perf_counter() - t, len(inf))
"""


def scale_part(scales: list[int], cap: float) -> list[dict[str, object]]:
    rows = []
    for scale in scales:
        data = WORK / f"synth-{scale}" / "data"
        dist = WORK / f"synth-{scale}" / "dist"
        shutil.rmtree(data.parent, ignore_errors=True)
        gen = timed(KG + ["synth", "--scale", str(scale), "--out", str(data)], cap)
        build = timed(
            KG + ["build", "--out", str(dist), "--no-validate", "--reasoner", "reasonable"],
            cap,
            {"KG_DATA_DIR": str(data)},
        )
        row: dict[str, object] = {
            "scale": scale,
            "synth_s": gen["seconds"],
            "build_s": build["seconds"],
            "build_ok": build["ok"],
            "build_note": build["note"],
            "build_peak_mib": build["peak_mib"],
        }
        if build["ok"]:
            manifest = json.loads((dist / "manifest.json").read_text())
            row["triples"] = manifest["triples"]["data"] + manifest["triples"]["ontology"]
            for step, engine in (
                ("load", "-"),
                ("validate", "pyshacl"),
                ("validate", "shacl"),
                ("reason", "owlrl"),
                ("reason", "reasonable"),
            ):
                r = timed([sys.executable, "-c", STEP, step, str(dist), engine], cap)
                key = f"{step}_{engine}" if engine != "-" else step
                row[f"{key}_s"] = r["seconds"] if r["ok"] else None
                row[f"{key}_note"] = r["note"]
        rows.append(row)
        print(row, flush=True)
    return rows


def real_build() -> dict[str, object]:
    out = {}
    for label, extra in (
        ("reference engines", []),
        ("fast engines", ["--reasoner", "reasonable", "--validator", "shacl"]),
    ):
        r = timed(KG + ["build", "--out", str(WORK / "real-dist"), *extra], 600)
        out[label] = r
    return out


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB"


def fmt(v: object, digits: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def report(endpoint_rows, scale_rows, builds, args) -> str:
    lines = [
        "# Benchmark report\n",
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M UTC} · machine: {machine()}",
        f"Command: `python bench/run.py {' '.join(sys.argv[1:])}` · per run: at most {args.requests} requests "
        f"or {args.seconds:g} s, loopback only.\n",
        "## Full build of the real data\n",
        "| engines | seconds | peak MiB | ok |",
        "|---|---|---|---|",
    ]
    for label, r in builds.items():
        lines.append(f"| {label} | {fmt(r['seconds'])} | {fmt(r['peak_mib'], 0)} | {r['ok']} |")
    lines += [
        "\n## Endpoints (req/s, p50, p99 in ms)\n",
        "| query | via | clients | server | req/s | p50 | p99 | errors | ratio vs rdflib-endpoint |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    peer = {(r["query"], r["clients"]): r for r in endpoint_rows if r["server"] == "rdflib-endpoint"}
    for r in endpoint_rows:
        base = peer.get((r["query"], r["clients"]))
        usable = base and base["rps"] and not base["errors"] and r["server"] == "ours"
        ratio = f"{r['rps'] / base['rps']:.1f}×" if usable else ""
        lines.append(
            f"| {r['query']} | {r['via']} | {r['clients']} | {r['server']} | {fmt(r['rps'], 1)} | "
            f"{fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | {r['errors']} | {ratio} |"
        )
    lines += [
        "\n## Scale (synthetic national edition; seconds; — = not finished within the cap)\n",
        "| target | triples | build (reasonable, no validation) | build peak MiB | load (pyoxigraph) | "
        "validate pyshacl | validate shacl | reason owlrl | reason reasonable |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in scale_rows:
        lines.append(
            f"| {r['scale']} | {r.get('triples', '—')} | {fmt(r['build_s'])} | {fmt(r['build_peak_mib'], 0)} | "
            f"{fmt(r.get('load_s'))} | {fmt(r.get('validate_pyshacl_s'))} | {fmt(r.get('validate_shacl_s'))} | "
            f"{fmt(r.get('reason_owlrl_s'))} | {fmt(r.get('reason_reasonable_s'))} |"
        )
        notes = [f"{k}: {v}" for k, v in r.items() if k.endswith("_note") and v]
        if notes:
            lines.append(f"| | notes: {'; '.join(notes)} | | | | | | | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small runs (for a smoke test)")
    parser.add_argument("--max-scale", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--cap", type=float, default=900.0, help="time cap per scale step, seconds")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.requests, args.max_scale, args.cap = 2.0, 100, 10_000, 120.0
    WORK.mkdir(parents=True, exist_ok=True)
    builds = real_build()
    dist = WORK / "real-dist"
    endpoint_rows = endpoints_part(dist, args.seconds, args.requests)
    scales = [s for s in (10_000, 100_000, 1_000_000, 10_000_000) if s <= args.max_scale]
    scale_rows = scale_part(scales, args.cap)
    text = report(endpoint_rows, scale_rows, builds, args)
    (BENCH / "REPORT.md").write_text(text, encoding="utf-8")
    (WORK / "results.json").write_text(
        json.dumps({"endpoints": endpoint_rows, "scale": scale_rows}, indent=1, default=str)
    )
    print(text)


if __name__ == "__main__":
    main()
