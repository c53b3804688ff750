"""The query service: one interface for every answer, whatever computes it.

It decides where a query runs and holds the one answer cache:

- ``lookup`` (entity pages) and ``saved`` (saved queries with parameters bound as RDF terms):
  queries we wrote, whose cost we know; they run in the server process on the embedded store,
  in a thread (pyoxigraph releases the GIL while it evaluates, so the event loop keeps going).
  Saved queries run on ``SAVED_THREADS`` threads at a lower CPU priority (nice 5, as the short
  worker lane), so the event loop comes first. Entity pages describe one IRI, so while the
  store's largest degree keeps that small they run inline, like bounded lookups: no thread
  hand-off, no waiting for the GIL behind other threads (else on threads of their own).
- ``sparql`` (anyone's query text): a bounded lookup (``query_shape.is_bounded_lookup``, and
  only while the store's largest out-degree keeps it small) runs inline in the server process;
  everything else runs in worker processes, where the deadline kills it. There are three worker
  lanes: a query whose *shape* (``query_shape.shape_of``: the text without its literals, IRIs,
  numbers, variable names and comments) was seen to run longer than ``KG_LONG_QUERY_SECONDS``
  goes to the long lane, so repeated heavy queries cannot take the workers that everybody
  else's short queries need; a shape that ran into the time limit goes to the limit lane, so
  queries that will be stopped anyway cannot hold the long lane for the whole limit either.
- with ``KG_BACKEND`` every query goes to the remote store.
- ``in_process`` (the command line, which answers one query and can be interrupted): no worker
  processes; every query runs inline on the embedded store, under the same rules otherwise.

Answers are serialized bytes (``QueryResult``). The cache is bounded in bytes and keyed by
dataset version, query, media types, dataset parameters, bindings and row limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..settings import Settings
from . import execution
from .shape import MAX_PATTERNS, is_bounded_lookup, shape_of
from .types import (
    EngineUnavailable,
    QueryRequest,
    QueryResult,
    QuerySyntaxError,
    QueryTimeout,
    TooManyQueries,
)
from .workers import Rerouted, WorkerPool

if TYPE_CHECKING:
    from .remote import RemoteEngine

KINDS = ("sparql", "saved", "lookup")  # whose query it is: anyone's text, a saved query, an entity page
INLINE_ROW_BUDGET = 20_000  # a bounded lookup may touch at most this many rows to run inline
SHAPES_KEPT = 4096  # query shapes remembered per lane (long, limit), least recently marked dropped first
LOOKUP_THREADS = 2  # threads that run entity-page queries only
SAVED_THREADS = 4  # threads that run saved queries, at nice SAVED_NICE
SAVED_NICE = 5


class AnswerCache:
    """An LRU of serialized answers bounded by their total size in bytes."""

    def __init__(self, max_bytes: int, max_item_bytes: int | None = None):
        self.max_bytes = max_bytes
        self.max_item_bytes = max_item_bytes if max_item_bytes is not None else max(max_bytes // 8, 1)
        self._items: OrderedDict[tuple, QueryResult] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple) -> QueryResult | None:
        item = self._items.get(key)
        if item is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return item

    def put(self, key: tuple, value: QueryResult) -> None:
        size = len(value.body)
        if size > self.max_item_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= len(old.body)
        self._items[key] = value
        self.bytes += size
        while self.bytes > self.max_bytes and self._items:
            _, dropped = self._items.popitem(last=False)
            self.bytes -= len(dropped.body)


@dataclass
class Counters:
    inline: int = 0
    thread: int = 0
    worker: int = 0
    long: int = 0
    limit: int = 0
    remote: int = 0


LANES = ("worker", "long", "limit")  # worker lanes, in the order a shape moves through them
LIMIT_SHARE = 0.9  # stopped after running this share of the time limit: its shape goes to the limit lane


class QueryService:
    """Runs queries with the configured limits, wherever they should run, and caches answers."""

    def __init__(self, settings: Settings, version: str, in_process: bool = False):
        self.settings = settings
        self.version = version
        self.in_process = in_process  # no worker processes: every query runs inline (kg query)
        self.cache = AnswerCache(settings.cache_mb * 2**20)
        self.running: dict[str, int] = {}  # client address → queries running or waiting
        self.counters = Counters()
        self.store: ox.Store | None = None
        self.pool: WorkerPool | None = None
        self.long_pool: WorkerPool | None = None
        self.limit_pool: WorkerPool | None = None
        self.long_shapes: OrderedDict[str, None] = OrderedDict()
        self.limit_shapes: OrderedDict[str, None] = OrderedDict()
        self.entity_inline = False  # entity pages run inline (the store's degrees are small)
        self.remote: RemoteEngine | None = None
        self.lookup_threads = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="kg-lookup")
        self.saved_threads = ThreadPoolExecutor(
            SAVED_THREADS, thread_name_prefix="kg-saved", initializer=_lower_priority, initargs=(SAVED_NICE,)
        )
        self.lookup_patterns = 0  # how many anchored patterns a bounded lookup may have to run inline
        self.started = time.time()

    async def start(self) -> None:
        """Open the store (or the remote backend) and start the worker pool."""
        settings = self.settings
        if settings.backend:
            from .remote import RemoteEngine

            remote = self.remote = RemoteEngine(settings.backend)
            await remote.start()
            return
        from .store import ensure_store, open_store

        store_dir = Path(settings.store_dir) if settings.store_dir else None
        if store_dir is not None:  # check or rebuild the on-disk store once, before workers open it
            await asyncio.to_thread(ensure_store, settings.dist_dir, store_dir)
        self.store = await asyncio.to_thread(open_store, settings.dist_dir, store_dir)
        if self.in_process:
            return
        self.lookup_patterns, self.entity_inline = await asyncio.to_thread(self._inline_limits)
        memory = settings.worker_memory_mb * 2**20
        # Ad-hoc queries run below the server's priority (pages, lookups, saved queries), long ones lowest.
        self.pool = WorkerPool(
            settings.dist_dir, size=settings.workers, memory_limit=memory, nice=5, store_dir=settings.store_dir
        )
        self.long_pool = WorkerPool(
            settings.dist_dir, size=settings.long_workers, memory_limit=memory, nice=15, store_dir=settings.store_dir
        )
        self.limit_pool = WorkerPool(
            settings.dist_dir, size=settings.limit_workers, memory_limit=memory, nice=19, store_dir=settings.store_dir
        )
        await asyncio.gather(self.pool.start(), self.long_pool.start(), self.limit_pool.start())

    def _largest_degree(self, variable: str) -> int:
        answer = self._embedded().query(
            f"SELECT (MAX(?n) AS ?most) WHERE {{ SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o }} GROUP BY ?{variable} }}",
            use_default_graph_as_union=True,
        )
        assert isinstance(answer, ox.QuerySolutions)  # a SELECT
        most = next(iter(answer))["most"]
        return max(1, int(most.value)) if most is not None else 1

    def _inline_limits(self) -> tuple[int, bool]:
        """Return how many anchored patterns keep a lookup within INLINE_ROW_BUDGET on this store,
        and whether an entity's description (its links out and in) stays within it."""
        out_degree = self._largest_degree("s")
        patterns = 0
        while patterns < MAX_PATTERNS and out_degree ** (patterns + 1) <= INLINE_ROW_BUDGET:
            patterns += 1
        return patterns, out_degree + self._largest_degree("o") <= INLINE_ROW_BUDGET

    async def close(self) -> None:
        """Stop the workers and the remote client."""
        for pool in self.pools():
            await pool.close()
        if self.remote is not None:
            await self.remote.close()
        self.lookup_threads.shutdown(wait=False, cancel_futures=True)
        self.saved_threads.shutdown(wait=False, cancel_futures=True)

    def _embedded(self) -> ox.Store:
        """The embedded store, once ``start`` has opened it."""
        if self.store is None:
            raise EngineUnavailable("the query engine is not running")
        return self.store

    def pools(self) -> list[WorkerPool]:
        return [p for p in (self.pool, self.long_pool, self.limit_pool) if p is not None]

    def where(self, request: QueryRequest, kind: str) -> str:
        """Return where ``request`` would run: remote | inline | thread | worker | long | limit."""
        return self._placement(request, kind)[0]

    def _placement(self, request: QueryRequest, kind: str) -> tuple[str, str]:
        """Where ``request`` runs, and its shape when that decided it (else "")."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind of query {kind!r}: expected one of {', '.join(KINDS)}")
        if self.remote is not None:
            return "remote", ""
        if self.in_process:
            return "inline", ""
        if kind == "lookup":
            return ("inline" if self.entity_inline else "thread"), ""
        if kind == "saved":
            return "thread", ""
        if self.lookup_patterns and is_bounded_lookup(request.query, self.lookup_patterns):
            return "inline", ""
        shape = shape_of(request.query)
        return self._lane_of(shape), shape

    def _lane_of(self, shape: str) -> str:
        if shape in self.limit_shapes:
            return "limit"
        return "long" if shape in self.long_shapes else "worker"

    @staticmethod
    def _remember(shapes: OrderedDict[str, None], shape: str) -> None:
        shapes[shape] = None
        shapes.move_to_end(shape)
        while len(shapes) > SHAPES_KEPT:
            shapes.popitem(last=False)

    def _remember_long(self, shape: str) -> None:
        self._remember(self.long_shapes, shape)

    async def run(
        self,
        request: QueryRequest,
        kind: str = "sparql",
        client: str = "?",
        check: Callable[[str], None] | None = None,
    ) -> QueryResult:
        """Answer ``request`` from the cache or by running it; the result says where (``where``, ``cache``).

        ``check`` (e.g. read-only, no SERVICE) runs only when the cache has no answer: a cached
        answer was checked when it was computed.
        """
        key = (self.version, kind, *request.cache_key())
        cached = self.cache.get(key)
        if cached is not None:
            return cached  # stored as it is served from the cache
        if check is not None:
            check(request.query)
        where, shape = self._placement(request, kind)
        if where == "inline":  # cheaper than any hand-off; bounded, so the loop is held for microseconds
            result = self._run_inline(request)
            self.counters.inline += 1
        else:
            result = await self._run_limited(request, where, client, kind, shape)
        self.cache.put(key, _hit_copy(result))
        result.cache = "miss"  # a fresh result, nobody else holds it
        return result

    def _run_inline(self, request: QueryRequest) -> QueryResult:
        try:
            result = execution.execute(self._embedded(), request)
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from None
        result.where = "inline"
        return result

    async def _run_limited(
        self, request: QueryRequest, where: str, client: str, kind: str, shape: str
    ) -> QueryResult:
        settings = self.settings
        running = self.running
        if running.get(client, 0) >= settings.per_client:
            raise TooManyQueries(
                f"this client already has {settings.per_client} queries running "
                "(KG_PER_CLIENT); retry when one has finished"
            )
        if sum(running.values()) >= settings.max_running:
            raise TooManyQueries(
                f"the server is running {settings.max_running} queries (KG_MAX_RUNNING); retry shortly"
            )
        running[client] = running.get(client, 0) + 1
        try:
            if where == "remote":
                assert self.remote is not None  # placed remote only when there is a remote backend
                self.counters.remote += 1
                result = await self.remote.execute(request, settings.query_timeout)
                result.where = "remote"
                return result
            if where == "thread":
                self.counters.thread += 1
                return await self._run_thread(request, self.lookup_threads if kind == "lookup" else self.saved_threads)
            return await self._run_in_workers(request, where, shape)
        finally:
            running[client] -= 1
            if not running[client]:
                del running[client]

    async def _run_in_workers(self, request: QueryRequest, where: str, shape: str) -> QueryResult:
        """Run on the lane of the query's shape: short, long or limit.

        A shape is marked long as soon as one of its queries has run ``long_query_seconds``
        (not only when it ends), and marked for the limit lane when one ran into the time limit.
        A request still waiting for a worker of one lane moves on to the next lane if its shape
        was marked meanwhile; the time limit counts from the first wait.
        """
        settings = self.settings
        start = time.monotonic()
        loop = asyncio.get_running_loop()
        pool, long_pool, limit_pool = self.pool, self.long_pool, self.limit_pool
        if pool is None or long_pool is None or limit_pool is None:
            raise EngineUnavailable("the query engine is not running")
        pools = {"worker": pool, "long": long_pool, "limit": limit_pool}
        for lane in LANES[LANES.index(where) :]:
            mark: asyncio.TimerHandle | None = None

            def admit(lane: str = lane) -> bool:  # a worker of this lane is free: is it still the lane?
                nonlocal mark
                if LANES.index(self._lane_of(shape)) > LANES.index(lane):
                    return False
                if lane == "worker":
                    mark = loop.call_later(settings.long_query_seconds, self._remember_long, shape)
                return True

            setattr(self.counters, lane, getattr(self.counters, lane) + 1)
            remaining = settings.query_timeout - (time.monotonic() - start)
            # a long query may be the guest of an idle short-lane worker, leaving one free for short ones
            guest = lane == "long" and pool.size > 1
            try:
                result = None
                if guest:
                    with contextlib.suppress(Rerouted):  # no short-lane worker to spare: the lane's own queue
                        result = await pool.execute(request, remaining, spare=1)
                if result is None:
                    result = await pools[lane].execute(request, remaining, admit=admit)
            except Rerouted:
                setattr(self.counters, lane, getattr(self.counters, lane) - 1)
                continue
            except QueryTimeout as exc:
                # it ran into the limit by itself (not after a wait): its shape would next time too
                if exc.ran >= LIMIT_SHARE * settings.query_timeout:
                    self._remember(self.limit_shapes, shape)
                raise
            finally:
                if mark is not None:
                    mark.cancel()
            result.where = lane
            return result
        raise EngineUnavailable("no worker lane admitted the query")  # the limit lane admits all

    async def _run_thread(self, request: QueryRequest, threads: ThreadPoolExecutor) -> QueryResult:
        """Run on the embedded store in one of ``threads``."""
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(threads, execution.execute, self._embedded(), request)
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from None
        result.where = "thread"
        return result

    def metrics(self) -> dict[str, float]:
        """Return counters for /metrics (name → value)."""
        out: dict[str, float] = {
            "kg_cache_hits_total": self.cache.hits,
            "kg_cache_misses_total": self.cache.misses,
            "kg_cache_bytes": self.cache.bytes,
            "kg_cache_entries": len(self.cache),
            "kg_queries_inline_total": self.counters.inline,
            "kg_queries_thread_total": self.counters.thread,
            "kg_queries_worker_total": self.counters.worker,
            "kg_queries_long_total": self.counters.long,
            "kg_queries_limit_total": self.counters.limit,
            "kg_long_query_shapes": len(self.long_shapes),
            "kg_limit_query_shapes": len(self.limit_shapes),
            "kg_queries_remote_total": self.counters.remote,
            "kg_queries_running": sum(self.running.values()),
            "kg_uptime_seconds": round(time.time() - self.started, 1),
        }
        pools = self.pools()
        if pools:
            stats = [p.stats for p in pools]
            workers, restarts = worker_summary(self)
            out.update(
                {
                    "kg_workers": workers,
                    "kg_worker_restarts_total": restarts,
                    "kg_worker_deaths_total": sum(s.deaths for s in stats),
                    "kg_worker_timeouts_total": sum(s.timeouts for s in stats),
                    "kg_worker_answers_total": sum(s.answered for s in stats),
                    "kg_worker_transfers_in_flight": sum(len(s.transfers) for s in stats),
                    "kg_worker_transfer_bytes_pending": sum(
                        t.total - t.received for s in stats for t in s.transfers.values()
                    ),
                }
            )
        return out


def worker_summary(service: QueryService) -> tuple[int, int]:
    """Return (live worker processes, restarts so far) over every lane."""
    pools = service.pools()
    return sum(p.live for p in pools), sum(p.restarts for p in pools)


def _lower_priority(nice: int) -> None:
    """Lower the CPU priority of the calling thread (Linux schedules threads as tasks); elsewhere a no-op."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):
        pass


def _hit_copy(result: QueryResult) -> QueryResult:
    """The copy of a fresh result that the cache keeps (it answers as a hit)."""
    return QueryResult(
        result.form, result.media_type, result.body, result.rows, result.truncated, result.seconds, result.where, "hit"
    )
