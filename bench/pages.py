"""Pages benchmark (issue 12): time to first byte of the HTML pages on the real data.

Each page gets a server of its own (`kg serve`, uvloop + httptools, as in the serving part), so its
first request is really the first after start (cold: no saved-query answer cached, no SVG drawn);
then the same page is asked for `requests` more times, one at a time (warm). Time to first byte is
measured from sending the request to reading the status line and headers (http.client on
loopback, a new connection per request, so the connect is included). The target: 300 ms.
"""

from __future__ import annotations

import http.client
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.webserver import Server  # noqa: E402  (one way to start and stop a server, tests and benchmarks)

TARGET_MS = 300.0
PAGES: list[tuple[str, str]] = [
    ("landing", "/"),
    ("overview (ja)", "/overview"),
    ("overview (en)", "/overview?lang=en"),
    ("search 千代田", "/search?q=" + quote("千代田")),
    ("municipality 足立区", "/id/municipality/131211"),
    ("plan (FY2011 guideline)", "/id/plan/tokyo-industrial-promotion-guideline-fy2011"),
]
HEADERS = {"Accept": "text/html", "Accept-Language": "ja,en;q=0.5"}


def ttfb(port: int, path: str) -> tuple[float, int, int]:
    """Milliseconds to the response's headers; also the status and the body's size (read after timing)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        start = time.perf_counter()
        conn.request("GET", path, headers=HEADERS)
        response = conn.getresponse()
        elapsed = 1000 * (time.perf_counter() - start)
        size = len(response.read())
        return elapsed, response.status, size
    finally:
        conn.close()


def run(dist: Path, work: Path, requests: int = 20) -> list[dict[str, object]]:
    """One row per page: cold time to first byte, then median and max of `requests` warm ones."""
    rows = []
    for n, (name, path) in enumerate(PAGES):
        # a fresh server, up once /healthz answers (not a page: nothing of the pages is warmed)
        server = Server(dist, work / f"pages-{n}.log", KG_LOOP="uvloop", KG_HTTP="httptools")
        try:
            cold, status, size = ttfb(server.port, path)
            warm = [ttfb(server.port, path)[0] for _ in range(requests)]
        finally:
            server.stop()
        rows.append(
            {
                "page": name,
                "path": path,
                "status": status,
                "bytes": size,
                "cold_ms": cold,
                "warm_median_ms": statistics.median(warm),
                "warm_max_ms": max(warm),
                "requests": requests,
            }
        )
    return rows


def report(rows: list[dict]) -> list[str]:
    """The report section: a table per page and whether each stays under the target."""
    lines = [
        "\n## Pages: time to first byte on the real data (ms)\n",
        "A fresh server per page (`kg serve`, uvloop + httptools); cold = the first request after start (no",
        "answer cached, no picture drawn); warm = the same page asked again, one request at a time, a new",
        f"connection each; time to first byte = until the status line and headers are read. Target: {TARGET_MS:.0f} ms.\n",
        "| page | path | status | KiB | cold | warm median | warm max | warm n | ≤ 300 ms (cold / warm max) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ok = ("yes" if r["cold_ms"] <= TARGET_MS else "no") + " / " + ("yes" if r["warm_max_ms"] <= TARGET_MS else "no")
        lines.append(
            f"| {r['page']} | `{r['path']}` | {r['status']} | {r['bytes'] / 1024:.0f} | {r['cold_ms']:.1f} | "
            f"{r['warm_median_ms']:.1f} | {r['warm_max_ms']:.1f} | {r['requests']} | {ok} |"
        )
    return lines
