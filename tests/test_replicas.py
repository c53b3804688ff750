"""Two read-only `kg serve` replicas on one on-disk store behind HAProxy (Debian `haproxy`), on loopback.

What the README's "Deployment: several replicas on one store" shows, run as written: the replicas
are started together on one empty store folder and build the store once (the other waits on its
lock); HAProxy balances round robin over them with a health check on /healthz; every answer is
the same bytes from either replica, directly or through the balancer, and the same as the
application's in-process answer; the replicas see the real client's address (X-Forwarded-For);
a stopped replica is taken out by the health check and the other answers everything.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kg.query.store import READY

from .webserver import Server, free_port, stop_process

HAPROXY = shutil.which("haproxy") or next(
    (p for p in ("/usr/sbin/haproxy", "/sbin/haproxy") if Path(p).exists()), None
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(HAPROXY is None, reason="needs the Debian package haproxy (.ci/run installs it)"),
]

README = Path(__file__).resolve().parents[1] / "README.md"
CLIENT_ADDRESS = "127.0.0.2"  # the test's client: not the balancer's 127.0.0.1, so forwarding shows

SELECT = """PREFIX kgo: <https://w3id.org/tokyo-sme-kg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?m ?name WHERE { ?m a kgo:Municipality ; rdfs:label ?name } ORDER BY ?m ?name"""
CONSTRUCT = """PREFIX kgo: <https://w3id.org/tokyo-sme-kg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
CONSTRUCT { ?r rdfs:label ?name ; kgo:area ?m } WHERE { ?r a kgo:RegionalResource ; rdfs:label ?name ; kgo:area ?m }
ORDER BY ?r ?name ?m"""  # the triples in this order: without it, the order is the store's (memory or disk)

# (name, method, path, query parameters, headers, body): /sparql in two result formats and two RDF
# formats (GET and POST), a saved query (JSON and CSV), an entity page as Turtle. Each answer's order
# is set by the query (ORDER BY) or by our writer (the entity), so the in-process application, which
# holds this small dataset in memory, gives the same bytes as the replicas on the on-disk store. (Not
# so where the order is the engine's: CONSTRUCT without ORDER BY, GROUP_CONCAT in shared-resources.)
REQUESTS = [
    ("select-json", "GET", "/sparql", {"query": SELECT}, {"Accept": "application/sparql-results+json"}, None),
    ("select-csv", "GET", "/sparql", {"query": SELECT}, {"Accept": "text/csv"}, None),
    ("construct-turtle", "POST", "/sparql", {}, {"Accept": "text/turtle",
                                                 "Content-Type": "application/sparql-query"}, CONSTRUCT),
    ("construct-ntriples", "POST", "/sparql", {}, {"Accept": "application/n-triples",
                                                   "Content-Type": "application/sparql-query"}, CONSTRUCT),
    ("saved-json", "GET", "/api/queries/municipality-profile", {"code": "131016"}, {"Accept": "application/json"},
     None),
    ("saved-csv", "GET", "/api/queries/municipality-profile", {"code": "131016", "format": "csv"}, {}, None),
    ("entity-turtle", "GET", "/id/municipality/131016", {}, {"Accept": "text/turtle"}, None),
]
PATHS = {path for _, _, path, *_ in REQUESTS}
ROUNDS = 4  # 7 requests a round, round robin over 2 replicas: each request reaches each replica twice


def _send(http: httpx.Client, root: str, request: tuple) -> httpx.Response:
    _, method, path, params, headers, body = request
    return http.request(method, f"{root}{path}", params=params, headers={"Accept-Encoding": "identity", **headers},
                        content=body, timeout=30)


def _answer(response: httpx.Response) -> tuple[int, str, str, bytes]:
    """What must be the same from every replica: status, media type, ETag, body bytes."""
    return response.status_code, response.headers.get("content-type", ""), response.headers.get("etag", ""), \
        response.content


class HAProxy:
    """HAProxy in the foreground (-db) with the README's configuration on test ports; ``stat()`` reads
    its servers' states from its stats socket."""

    def __init__(self, folder: Path, port: int, backends: list[int]):
        self.url = f"http://127.0.0.1:{port}"
        self.socket = folder / "haproxy.sock"
        self.config = folder / "haproxy.cfg"
        self.config.write_text(_config(_readme_deployment()[1], port, backends, self.socket), encoding="utf-8")
        checked = subprocess.run([HAPROXY, "-c", "-f", str(self.config)], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        self.log = folder / "haproxy.log"
        self._out = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.config)], stdout=self._out,
                                     stderr=subprocess.STDOUT)

    def stat(self) -> dict[str, str]:
        """Each server's status ("UP", "DOWN", "UP 1/2" …), from ``show stat`` on the stats socket."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(str(self.socket))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        rows = csv.DictReader(data.decode().lstrip("# ").splitlines())
        return {row["svname"]: row["status"] for row in rows if row["svname"] not in ("FRONTEND", "BACKEND")}

    def wait_for(self, wanted: dict[str, str], seconds: float = 15) -> None:
        deadline = time.time() + seconds
        state: dict[str, str] = {}
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: {self.log.read_text()}")
            try:
                state = self.stat()
            except OSError:
                state = {}
            if all(state.get(name) == status for name, status in wanted.items()):
                return
            time.sleep(0.1)
        raise AssertionError(f"haproxy servers {state}, expected {wanted}: {self.log.read_text()}")

    def stop(self) -> None:
        stop_process(self.proc)
        self._out.close()


def _readme_deployment() -> tuple[list[str], str]:
    """The README's deployment commands (the `kg serve` lines) and its haproxy.cfg."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Deployment: several replicas on one store", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w+)\n(.*?)```", section, re.S)
    assert [kind for kind, _ in blocks] == ["sh", "haproxy"], blocks
    serves = [line for line in blocks[0][1].splitlines() if " kg serve " in line]
    return serves, blocks[1][1]


def _config(readme: str, port: int, backends: list[int], stats: Path) -> str:
    """The README's haproxy.cfg on test ports, with quicker health checks and a stats socket."""
    changes = [
        ("\n    bind :80\n", f"\n    bind 127.0.0.1:{port}\n"),
        ("127.0.0.1:8001 ", f"127.0.0.1:{backends[0]} "),
        ("127.0.0.1:8002 ", f"127.0.0.1:{backends[1]} "),
        ("global\n", f"global\n    stats socket {stats} mode 600 level user\n"),
    ]
    for old, new in changes:
        assert readme.count(old) == 1, old
        readme = readme.replace(old, new)
    assert readme.count(" check inter 2s fall 2 rise 2\n") == 2
    return readme.replace(" check inter 2s fall 2 rise 2\n", " check inter 300ms fall 2 rise 1\n")


def _logged(log: Path) -> list[dict]:
    """The access-log records (JSON lines) in a server's output."""
    records = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith('{"client"'):
            records.append(json.loads(line))
    return records


def _served(log: Path, seconds: float = 5) -> dict[str, list[str]]:
    """Paths of the requests (not health checks) a replica logged → the client addresses it saw.

    The access log is written every 0.2 s: wait until it stops growing."""
    deadline, last = time.time() + seconds, -1
    while True:
        records = [r for r in _logged(log) if r["path"] in PATHS]
        if len(records) == last or time.time() > deadline:
            break
        last = len(records)
        time.sleep(0.5)
    served: dict[str, list[str]] = {}
    for record in records:
        served.setdefault(record["path"], []).append(record["client"])
    return served


def test_two_replicas_behind_haproxy_answer_alike(built, client, tmp_path):
    store = tmp_path / "store"  # empty: the replicas started together build it, once
    balancer_port = free_port()
    env = {"KG_STORE_DIR": str(store), "KG_PUBLIC_URL": f"http://127.0.0.1:{balancer_port}"}
    serves = _readme_deployment()[0]  # the README's replicas: these settings, on ports 8001 and 8002
    assert [(re.findall(r"\b(KG_\w+)=", line), line.split("--port ")[1].split()[0]) for line in serves] == \
        [(list(env), "8001"), (list(env), "8002")], serves
    with ThreadPoolExecutor(2) as pool:  # both start at once (Server waits for /healthz)
        starting = [pool.submit(Server, built, tmp_path / f"replica{i}.log", **env) for i in (1, 2)]
    replicas = [f.result() for f in starting if f.exception() is None]
    if len(replicas) < 2:
        for replica in replicas:
            replica.stop()
        raise next(f.exception() for f in starting if f.exception() is not None)  # type: ignore[misc]
    balancer = None
    try:
        # One replica built the store, the other waited on its lock and opened what it built.
        builders = [r for r in replicas if f"built the on-disk store {store}/" in r.log.read_text()]
        assert len(builders) == 1, [r.log.read_text() for r in replicas]
        assert (store / READY).exists()
        assert not list(tmp_path.glob(".store.tmp-*")) and not list(tmp_path.glob(".store.old-*"))

        balancer = HAProxy(tmp_path, balancer_port, [r.port for r in replicas])
        balancer.wait_for({"replica1": "UP", "replica2": "UP"})

        with httpx.Client(transport=httpx.HTTPTransport(local_address=CLIENT_ADDRESS)) as http:
            # Each replica directly: the same answer from both, and the in-process application's.
            expected = {}
            for request in REQUESTS:
                name = request[0]
                one, two = (_answer(_send(http, r.url, request)) for r in replicas)
                assert one[0] == 200, (name, one)
                assert one == two, name
                local = client.request(request[1], f"{client.url}{request[2]}", params=request[3],
                                       headers={"Accept-Encoding": "identity", **request[4]}, content=request[5])
                assert _answer(local)[3] == one[3], name  # the body first: the clearest message
                assert _answer(local) == one, name
                expected[name] = one
            served_directly = [_served(r.log) for r in replicas]

            # Through the balancer: every answer the same, whichever replica gave it.
            for _ in range(ROUNDS):
                for request in REQUESTS:
                    assert _answer(_send(http, balancer.url, request)) == expected[request[0]], request[0]
            through = [_served(r.log) for r in replicas]
            for direct, now in zip(served_directly, through, strict=True):
                for path in PATHS:
                    # each replica answered every kind of request through the balancer, and saw
                    # the client's own address (X-Forwarded-For), not the balancer's
                    forwarded = now[path][len(direct.get(path, [])):]
                    assert forwarded, (path, now)
                    assert set(forwarded) == {CLIENT_ADDRESS}, (path, forwarded)
            counts = [sum(len(now[p]) - len(direct.get(p, [])) for p in PATHS)
                      for direct, now in zip(served_directly, through, strict=True)]
            assert counts == [ROUNDS * len(REQUESTS) // 2] * 2, counts  # round robin: half each

            # A replica that stops is taken out by the health check; the other answers everything.
            replicas[1].stop()
            balancer.wait_for({"replica1": "UP", "replica2": "DOWN"})
            for request in REQUESTS:
                assert _answer(_send(http, balancer.url, request)) == expected[request[0]], request[0]
    finally:
        if balancer is not None:
            balancer.stop()
        for replica in replicas:
            replica.stop()
