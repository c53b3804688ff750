"""Shared fixtures: the project built once per test session."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import settings as hypothesis_settings
from rdflib import Graph

from kg.pipeline.builder import Graphs, assemble, build
from kg.query.store import open_store
from kg.settings import Settings, load_settings

# CI replays the same examples every run (a failure there is reproducible); developers' runs
# explore new random examples each time, which is where new edge cases are found.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]  # the source tree
FIXTURES = ROOT / "tests" / "fixtures"


def table_rows(name: str, folder: Path = ROOT / "data") -> list[dict[str, str]]:
    """A curated table's rows, read with the csv module (independently of the package's reader)."""
    with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings({})


@pytest.fixture(scope="session")
def graphs(settings: Settings) -> Graphs:
    """The graphs assembled once per session, with OWL RL reasoning (what the build writes)."""
    return assemble(settings, reason=True)


@pytest.fixture(scope="session")
def build_report(tmp_path_factory: pytest.TempPathFactory, settings: Settings, graphs: Graphs):
    """The project built once per session (validated, written) from the session's graphs: (dist, report)."""
    out = tmp_path_factory.mktemp("built") / "dist"
    _, report = build(settings, out, graphs=graphs)
    return out, report


@pytest.fixture(scope="session")
def built(build_report) -> Path:
    """The project built (with reasoning and validation) into a temporary dist folder."""
    return build_report[0]


@pytest.fixture(scope="session")
def union(graphs: Graphs) -> Graph:
    return graphs.ontology + graphs.data + graphs.inferred


@pytest.fixture(scope="session")
def store(built: Path) -> ox.Store:
    return open_store(built)


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of data/ for tests that break tables."""
    target = tmp_path / "data"
    shutil.copytree(ROOT / "data", target)
    return target


# The web tests run under both event loops: uvloop (what `uvicorn[standard]` deployments run,
# and uvicorn's choice when it is installed) and asyncio.
LOOPS = ["uvloop", "asyncio"]
# ... and under uvicorn, the default server (KG_SERVER). Test files that must pass under granian too
# (the W3C protocol tests, the hostile-input tests) set `pytestmark = EVERY_SERVER`: their real
# servers then run under uvicorn on both loops and once more under granian on uvloop.
SERVERS = ["uvicorn", "granian"]
EVERY_SERVER = pytest.mark.parametrize(
    ("server_name", "loop_name"), [("uvicorn", "uvloop"), ("uvicorn", "asyncio"), ("granian", "uvloop")],
    scope="session",
)


@pytest.fixture(scope="session", params=LOOPS)
def loop_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def server_name() -> str:
    """The HTTP server (KG_SERVER) of the real-server fixtures: uvicorn, unless a file parametrizes it."""
    return "uvicorn"


def server_env(server_name: str) -> dict[str, str]:
    """KG_SERVER for a real server; granian's tests skip, naming it, where granian is not installed."""
    if server_name == "granian":
        pytest.importorskip("granian", reason="KG_SERVER=granian needs granian (pip install -e '.[test]')")
    return {"KG_SERVER": server_name}


@pytest.fixture(scope="session")
def server(built: Path, tmp_path_factory: pytest.TempPathFactory, loop_name: str, server_name: str):
    """The real server on a free port, default limits, under each event loop."""
    from .webserver import Server
    srv = Server(built, tmp_path_factory.mktemp("log") / f"server-{server_name}-{loop_name}.log", KG_LOOP=loop_name,
                 **server_env(server_name))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def socket_server(built: Path, tmp_path_factory: pytest.TempPathFactory):
    """One real server (uvloop, as `uvicorn[standard]` deployments run) for clients that need a socket,
    where the event loop is not what is under test."""
    from .webserver import Server
    srv = Server(built, tmp_path_factory.mktemp("log") / "socket-server.log", KG_LOOP="uvloop")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def limited_server(built: Path, tmp_path_factory: pytest.TempPathFactory, loop_name: str, server_name: str):
    """A server with a 2 s time limit and a 5-row limit, under each event loop."""
    from .webserver import Server
    srv = Server(built, tmp_path_factory.mktemp("log") / f"limited-{server_name}-{loop_name}.log",
                 KG_QUERY_TIMEOUT="2", KG_MAX_ROWS="5", KG_LOOP=loop_name, **server_env(server_name))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def virtuoso_server(built: Path, tmp_path_factory: pytest.TempPathFactory):
    """Our server answering from a real Virtuoso on loopback, loaded with `kg publish`.

    Skipped when Debian's virtuoso-opensource is not installed (.ci/run installs it).
    """
    import subprocess
    import sys

    from .virtuoso import UNLIMITED, Virtuoso, available
    from .webserver import Server
    if not available():
        pytest.skip("needs the Debian package virtuoso-opensource")
    folder = tmp_path_factory.mktemp("virtuoso")
    virtuoso = Virtuoso(folder / "db", UNLIMITED)  # its own row cap and time limit lifted: ours apply
    try:
        published = subprocess.run([sys.executable, "-m", "kg.cli", "publish", "--to", virtuoso.graph_store,
                                    "--dist", str(built)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert published.returncode == 0, published.stderr
        srv = Server(built, folder / "server.log", KG_BACKEND=virtuoso.sparql)
        yield srv
        srv.stop()
    finally:
        virtuoso.stop()


class InProcess:
    """The application in process, as the server runs it (edge layer, fast lane, query workers),
    with no socket: for tests of what it answers, not of the server process. ``url`` is the root
    the application believes it is served at, so absolute URLs in answers match; requests to it go
    to the application (an httpx client over Starlette's ASGI transport)."""

    def __init__(self, client):
        self.client = client
        self.url = str(client.base_url).rstrip("/")

    def __getattr__(self, name):  # get, post, head, options, request, stream …
        if name == "client":  # not set yet (a copy made without __init__)
            raise AttributeError(name)
        return getattr(self.client, name)


@pytest.fixture(scope="session")
def client(built: Path, settings: Settings):
    """The application in process (see :class:`InProcess`); its lifespan runs for the whole session."""
    from starlette.testclient import TestClient

    from kg.web import asgi_app

    local = settings.with_overrides(dist_dir=built)
    with TestClient(asgi_app(local), base_url=local.server_url, raise_server_exceptions=False,
                    follow_redirects=False) as test_client:  # as httpx's functions: redirects not followed
        yield InProcess(test_client)


# Tests that start a real server, store, browser or installer are `slow`: `pytest -m "not slow"` runs
# the rest (in-process answers, the pipeline, validation) in about a minute.
SLOW_FIXTURES = {"server", "socket_server", "limited_server", "virtuoso_server", "bin_dir", "scratch"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
