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


def peer_dump(dist: Path) -> Path:
    """One N-Triples file with every graph of the build (ontology, data and the OWL RL closure).

    Our server answers over the union of the named graphs of kg.trig; peers get the same triples,
    so every server is asked the same question of the same data (answers are checked below).
    """
    import pyoxigraph as ox

    out = WORK / "all.nt"
    triples = {ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(path=str(dist / "kg.trig"))}
    ox.serialize(sorted(triples, key=str), str(out), ox.RdfFormat.N_TRIPLES)
    return out


def answer_size(url: str, path: str, query: str) -> str:
    """Rows (or the boolean) a server answers, as text; an error is reported as such."""
    try:
        r = httpx.get(
            f"{url}{path}", params={"query": query}, headers={"Accept": "application/sparql-results+json"}, timeout=120
        )
        if r.status_code != 200:
            return f"HTTP {r.status_code}"
        body = r.json()
        return str(body["boolean"]) if "boolean" in body else str(len(body["results"]["bindings"]))
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return f"error: {type(exc).__name__}"


def start_virtuoso(dist: Path):
    """A throw-away Virtuoso on loopback with the build published into it, or None if not installed."""
    sys.path.insert(0, str(ROOT))
    from tests.virtuoso import Virtuoso, available

    if not available():
        print("virtuoso-t not installed: Virtuoso is left out", file=sys.stderr)
        return None
    folder = WORK / "virtuoso"
    shutil.rmtree(folder, ignore_errors=True)
    virtuoso = Virtuoso(folder)
    subprocess.run(KG + ["publish", "--to", virtuoso.graph_store, "--dist", str(dist)], check=True, cwd=ROOT)
    return virtuoso


def endpoints_part(dist: Path, seconds: float, per_run: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    servers: dict[str, str] = {}
    procs: list[subprocess.Popen] = []
    paths = {"ours": "/sparql", "rdflib-endpoint": "/", "virtuoso": "/sparql"}  # rdflib-endpoint: at its root
    port = free_port()
    servers["ours"] = f"http://127.0.0.1:{port}"
    procs.append(
        start(
            KG + ["serve", "--port", str(port), "--dist", str(dist)],
            WORK / "ours.log",
            {"KG_WORKERS": "2", "KG_PER_CLIENT": "64", "KG_MAX_RUNNING": "64"},
        )
    )
    virtuoso = None
    try:
        venv = bench_venv()
        port = free_port()
        servers["rdflib-endpoint"] = f"http://127.0.0.1:{port}"
        cmd = [str(venv / "bin" / "rdflib-endpoint"), "serve", str(peer_dump(dist))]
        procs.append(start([*cmd, "--host", "127.0.0.1", "--port", str(port)], WORK / "rdflib-endpoint.log"))
    except subprocess.CalledProcessError as exc:
        print(f"rdflib-endpoint not available: {exc}", file=sys.stderr)
    try:
        virtuoso = start_virtuoso(dist)
        if virtuoso is not None:
            servers["virtuoso"] = virtuoso.url
        for name, url in servers.items():
            wait_up(f"{url}{paths[name]}?query=ASK%7B%7D")
        queries = saved_queries()
        answers = {
            qname: {name: answer_size(url, paths[name], text) for name, url in servers.items()}
            for qname, text in [("lookup", LOOKUP), *queries.items()]
        }
        for clients in (1, 4, 16):
            for qname, text in [("lookup", LOOKUP), *queries.items()]:
                for name, url in servers.items():
                    stats = asyncio.run(_load(url, sparql_get(text, paths[name]), clients, per_run, seconds))
                    row = {"server": name, "query": qname, "via": "/sparql", "clients": clients, **stats}
                    rows.append({**row, "answer": answers[qname][name]})
                    print(rows[-1], flush=True)
                if qname != "lookup":
                    stats = asyncio.run(_load(servers["ours"], saved_get(qname), clients, per_run, seconds))
                    row = {"server": "ours", "query": qname, "via": "saved API (cached)", "clients": clients, **stats}
                    rows.append({**row, "answer": answers[qname]["ours"]})
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        if virtuoso is not None:
            virtuoso.stop()
    return rows


def timed(cmd: list[str], cap: float, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run a command with a time cap; return wall seconds, its stdout and that child's own peak memory (MiB)."""
    start = time.perf_counter()
    with open(WORK / "step.out", "w+") as out, open(WORK / "step.err", "w+") as errf:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=errf, env={**os.environ, **(env or {})})
        status, usage = 0, None
        while True:  # os.wait4 gives this child's rusage (RUSAGE_CHILDREN would mix in earlier children)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > cap:
                proc.kill()
                _pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.perf_counter() - start
        out.seek(0)
        errf.seek(0)
        stdout, stderr = out.read(), errf.read()
    if elapsed > cap:
        ok, note = False, f"stopped after {cap:.0f} s"
    else:
        ok = proc.returncode == 0
        note = "" if ok else (stderr.strip().splitlines() or ["failed"])[-1][:200]
    return {"seconds": elapsed, "ok": ok, "note": note, "peak_mib": usage.ru_maxrss / 1024, "stdout": stdout}


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
                # the step's own time (printed by STEP), without reading the dump into rdflib first
                row[f"{key}_s"] = float(r["stdout"].split()[0]) if r["ok"] else None
                row[f"{key}_peak_mib"] = r["peak_mib"]
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


def _peer(rows: list[dict], row: dict, server: str) -> dict | None:
    for r in rows:
        if r["server"] == server and r["query"] == row["query"] and r["clients"] == row["clients"]:
            return r
    return None


def _ratio(row: dict, peer: dict | None) -> str | None:
    if not peer or not peer["rps"] or peer["errors"]:
        return None
    if peer.get("answer") != row.get("answer"):
        return f"answers differ ({row.get('answer')} vs {peer.get('answer')})"
    return f"{row['rps'] / peer['rps']:.1f}×"


def _mix_rps(rows: list[dict], server: str, via: str, clients: int, names: set[str]) -> float | None:
    """Throughput of the saved-query mix (each query once): queries / sum of per-query times."""
    picked = [r for r in rows if r["server"] == server and r["via"] == via and r["clients"] == clients]
    picked = [r for r in picked if r["query"] in names and r["rps"]]
    return len(picked) / sum(1 / r["rps"] for r in picked) if len(picked) == len(names) else None


def targets(endpoint_rows: list[dict], scale_rows: list[dict], builds: dict) -> list[str]:
    """The issue's targets, met or missed, computed from this run."""
    out = ["\n## Targets, from this run\n", "| target | measured | met? |", "|---|---|---|"]
    at4 = [r for r in endpoint_rows if r["clients"] == 4]
    for r in at4:
        if r["server"] != "ours" or r["query"] == "lookup":
            continue
        peer = _peer(endpoint_rows, r, "rdflib-endpoint")
        ratio = _ratio(r, peer)
        if ratio and ratio.endswith("×"):
            met = r["rps"] / peer["rps"] >= 30
            out.append(
                f"| ≥ 30× rdflib-endpoint: {r['query']} ({r['via']}, 4 clients) | {ratio} | {'yes' if met else 'no'} |"
            )
    lookup = next((r for r in at4 if r["server"] == "ours" and r["query"] == "lookup"), None)
    if lookup:
        ratio = _ratio(lookup, _peer(endpoint_rows, lookup, "rdflib-endpoint")) or "—"
        ok = ratio.endswith("×") and float(ratio[:-1]) >= 3
        out.append(f"| ≥ 3× rdflib-endpoint on lookups (4 clients) | {ratio} | {'yes' if ok else 'no'} |")
        out.append(
            f"| lookup p99 ≤ 5 ms (4 clients) | {fmt(lookup['p99_ms'])} ms | {'yes' if lookup['p99_ms'] <= 5 else 'no'} |"
        )
    names = {r["query"] for r in endpoint_rows if r["via"] == "saved API (cached)"}
    ours = _mix_rps(endpoint_rows, "ours", "saved API (cached)", 4, names)
    virt = _mix_rps(endpoint_rows, "virtuoso", "/sparql", 4, names)
    if ours and virt:
        out.append(
            f"| saved-query mix ≥ Virtuoso (4 clients) | ours (cached API) {ours:.0f} req/s vs Virtuoso {virt:.0f} "
            f"req/s ({ours / virt:.1f}×) | {'yes' if ours >= virt else 'no'} |"
        )
    fast = builds.get("fast engines")
    if fast:
        out.append(
            f"| full build of the real data ≤ 5 s | {fmt(fast['seconds'])} s (fast engines); reference engines "
            f"{fmt(builds['reference engines']['seconds'])} s | {'yes' if fast['seconds'] <= 5 else 'no'} |"
        )
    big = next((r for r in scale_rows if r["scale"] == 1_000_000), None)
    if big:
        for key, label, limit in (
            ("load_s", "load of 1M triples ≤ 2.5 s", 2.5),
            ("reason_reasonable_s", "reasoning of 1M ≤ 30 s (reasonable)", 30),
            ("validate_shacl_s", "validation of 1M ≤ 30 s (shacl)", 30),
        ):
            v = big.get(key)
            out.append(f"| {label} | {fmt(v)} s | {'yes' if v is not None and v <= limit else 'no'} |")
    return out


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
        "Every server answers over the same triples (ontology, data and OWL RL closure); `rows` is the",
        "size of each server's answer, and a ratio is shown only where the answers agree.\n",
        "| query | via | clients | server | rows | req/s | p50 | p99 | errors | vs rdflib-endpoint | vs Virtuoso |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in endpoint_rows:
        cells = []
        for peer_name in ("rdflib-endpoint", "virtuoso"):
            ratio = _ratio(r, _peer(endpoint_rows, r, peer_name)) if r["server"] == "ours" else None
            cells.append(ratio or "")
        lines.append(
            f"| {r['query']} | {r['via']} | {r['clients']} | {r['server']} | {r.get('answer', '')} | "
            f"{fmt(r['rps'], 1)} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | {r['errors']} | {cells[0]} | {cells[1]} |"
        )
    lines += targets(endpoint_rows, scale_rows, builds)
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
