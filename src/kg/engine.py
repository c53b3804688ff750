"""Query execution with a real time limit.

pyoxigraph has no cancellation, so queries run in a small pool of worker processes that each
open the built dataset. The server waits for a worker's answer without blocking its event
loop; at the deadline the worker is killed and a fresh one takes its place.

Workers return serialized bytes, already cut at the row limit, so the server only forwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import re
import resource
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from . import results

FORBIDDEN_KEYWORDS = ("SERVICE",)
_LEXICAL_NOISE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>"
    r"|#[^\n]*",
)


class QueryError(Exception):
    """Base of query failures; ``status`` is the HTTP status to answer with."""

    status = 400


class QuerySyntaxError(QueryError):
    status = 400


class QueryRefused(QueryError):
    status = 403


class QueryTimeout(QueryError):
    status = 503


class NotAcceptable(QueryError):
    status = 406


class EngineUnavailable(QueryError):
    status = 503


class TooManyQueries(QueryError):
    status = 429


def forbidden_keyword(query: str) -> str | None:
    """Return the first forbidden keyword (SERVICE) used as a keyword in ``query``, if any.

    Strings, IRIs and comments are removed first, so a keyword inside them does not count;
    prefixed names and variables are not keywords.
    """
    code = _LEXICAL_NOISE.sub(" ", query)
    for word in FORBIDDEN_KEYWORDS:
        if re.search(rf"(?<![\w:?$\-]){word}(?![\w:\-])", code, re.I):
            return word
    return None


@dataclass
class QueryRequest:
    """One query to run."""

    query: str
    accept: list[str]  # media types acceptable, best first
    bindings: dict[str, tuple] = field(default_factory=dict)  # variable → results.term_to_tuple(term)
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    max_rows: int = 10000


@dataclass
class QueryResult:
    """Serialized answer of a query."""

    form: str  # select | ask | graph
    media_type: str
    body: bytes
    rows: int
    truncated: bool
    seconds: float


# ---------------------------------------------------------------------- worker side
def _worker_main(dist_dir: str, conn: Connection, memory_limit: int, nice: int = 0, store_dir: str = "") -> None:
    """Worker process: load the dataset once, then answer requests until the pipe closes."""
    if nice:
        with contextlib.suppress(OSError):
            os.nice(nice)
    if memory_limit:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    from .store import open_store

    store = open_store(Path(dist_dir), Path(store_dir) if store_dir else None)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request: QueryRequest = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply: object = ("ok", results.execute(store, request))
        except MemoryError:
            reply = ("error", "EngineUnavailable", "the query needed more memory than a query may use")
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the server
            reply = ("error", type(exc).__name__, str(exc))
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


# ---------------------------------------------------------------------- server side
@dataclass(eq=False)
class _Worker:
    process: mp.process.BaseProcess
    conn: Connection


class QueryEngine:
    """A pool of query worker processes with a deadline per query."""

    def __init__(
        self, dist_dir: Path, size: int = 2, memory_limit: int = 2 * 1024**3, nice: int = 0, store_dir: str = ""
    ):
        self.dist_dir = dist_dir
        self.store_dir = store_dir
        self.size = max(1, size)
        self.memory_limit = memory_limit
        self.nice = nice
        self._ctx = mp.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self._closed = False
        self._spawning: set[asyncio.Task] = set()
        self.restarts = 0

    def _spawn_blocking(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(
            target=_worker_main,
            args=(str(self.dist_dir), child, self.memory_limit, self.nice, self.store_dir),
            daemon=True,
            name="kg-query-worker",
        )
        proc.start()
        child.close()
        if not parent.poll(120):
            proc.kill()
            raise EngineUnavailable("a query worker did not start within 120 s")
        try:
            parent.recv()
        except EOFError:
            raise EngineUnavailable("a query worker failed to load the dataset") from None
        return _Worker(proc, parent)

    async def _add_worker(self) -> None:
        worker = await asyncio.to_thread(self._spawn_blocking)
        if self._closed:
            self._stop(worker)
            return
        self._all.add(worker)
        self._idle.put_nowait(worker)

    async def start(self) -> None:
        """Start all workers (each loads the dataset)."""
        await asyncio.gather(*(self._add_worker() for _ in range(self.size)))

    def _replace(self, worker: _Worker) -> None:
        self._stop(worker)
        self.restarts += 1
        if not self._closed:
            task = asyncio.get_running_loop().create_task(self._add_worker())
            self._spawning.add(task)
            task.add_done_callback(self._spawning.discard)

    def _stop(self, worker: _Worker) -> None:
        self._all.discard(worker)
        with contextlib.suppress(Exception):
            worker.process.kill()
        with contextlib.suppress(Exception):
            worker.conn.close()
        with contextlib.suppress(Exception):
            worker.process.join(timeout=0.1)

    async def _wait_readable(self, conn: Connection, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        ready = loop.create_future()
        fd = conn.fileno()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(True))
        try:
            await asyncio.wait_for(ready, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            loop.remove_reader(fd)

    async def execute(self, request: QueryRequest, timeout: float) -> QueryResult:
        """Run ``request`` on a worker; raise QueryTimeout after ``timeout`` seconds (queueing included)."""
        deadline = time.monotonic() + timeout
        try:
            worker = await asyncio.wait_for(self._idle.get(), timeout)
        except TimeoutError:
            raise QueryTimeout(f"no query worker became free within the {timeout:g} s time limit") from None
        try:
            worker.conn.send(request)
            if not await self._wait_readable(worker.conn, max(0.0, deadline - time.monotonic())):
                self._replace(worker)
                worker = None  # type: ignore[assignment]
                raise QueryTimeout(f"the query was stopped at the {timeout:g} s time limit")
            reply = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            if worker is not None:
                self._replace(worker)
                worker = None  # type: ignore[assignment]
            raise EngineUnavailable("the query worker stopped (out of memory?); try a smaller query") from None
        finally:
            if worker is not None and worker in self._all:
                self._idle.put_nowait(worker)
        if reply[0] == "ok":
            return reply[1]
        _, kind, message = reply
        raise {
            "SyntaxError": QuerySyntaxError,
            "NotAcceptable": NotAcceptable,
            "QueryRefused": QueryRefused,
            "EngineUnavailable": EngineUnavailable,
        }.get(kind, QueryError)(message)

    async def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        for task in list(self._spawning):
            task.cancel()
        for worker in list(self._all):
            self._stop(worker)
