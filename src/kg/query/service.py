"""The query service: one interface for every answer, whatever computes it.

Where a query runs is :mod:`kg.query.placement` (one policy, typed lanes, a diagram): bounded
lookups inline in the server process, everything else — saved queries and entity pages
included — in worker processes that are killed at the time limit, queries of a shape seen to
run long in a worker pool of their own, and every query on the remote store when
``KG_BACKEND`` is set. ``in_process`` (the command line) runs every query inline.

Workers open the on-disk store read-only (``kg.query.store``): they share the operating
system's page cache instead of each holding a copy of the data.

Answers are serialized bytes (``QueryResult``). The cache is bounded in bytes and keyed by
dataset version, query, media types, dataset parameters, bindings and row limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ..settings import Settings
from . import execution
from .placement import Kind, Lane, Placement
from .precomputed import answer_key, ensure_answers, existing_answers, precomputed_queries, read_answer
from .saved import SavedQuery, load_saved_queries
from .shape import MAX_PATTERNS
from .types import (
    EngineUnavailable,
    QueryRequest,
    QueryResult,
    QuerySyntaxError,
    QueryTimeout,
    TooManyQueries,
)
from .workers import Moved, WorkerPool, Zygote

if TYPE_CHECKING:
    from .remote import RemoteEngine

INLINE_ROW_BUDGET = 20_000  # a bounded lookup may touch at most this many rows to run inline
INLINE_LIMITS = "inline-limits.json"  # _inline_limits of an on-disk store, kept in its folder
LIMIT_SHARE = 0.9  # stopped after running this share of the time limit: its shape goes to the LIMIT lane


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


class QueryService:
    """Runs queries with the configured limits, wherever the placement puts them, and caches answers."""

    def __init__(self, settings: Settings, version: str, in_process: bool = False,
                 registry: dict[str, SavedQuery] | None = None):
        self.settings = settings
        # the saved queries (the server has read them already; read from settings.queries_dir when not given)
        self.registry = registry
        self.version = version
        self.in_process = in_process  # no worker processes: every query runs inline (kg query)
        self.cache = AnswerCache(settings.cache_mb * 2**20)
        self.running: dict[str, int] = {}  # client address → queries running or waiting
        self.counters: dict[Lane, int] = dict.fromkeys(Lane, 0)
        self.zygote: Zygote | None = None  # forks the workers of an on-disk store
        self.moved = 0  # ad-hoc queries moved to another lane while they waited (their shape was marked)
        self.placement = Placement(
            in_process=in_process,
            long_lane=settings.long_workers > 0,
            limit_lane=settings.limit_workers > 0,
            own_lane=settings.own_workers > 0,
        )
        self.store: ox.Store | None = None
        self.pools: dict[Lane, WorkerPool] = {}
        self.remote: RemoteEngine | None = None
        self.started = time.time()
        self.precomputed: dict[str, Path] = {}  # answer key → stored answer (on-disk store only)
        self._precomputed_rows: dict[Path, int] = {}

    async def start(self) -> None:
        """Open the store (or the remote backend) and start the worker pools."""
        settings = self.settings
        if settings.backend:
            from .remote import RemoteEngine

            remote = self.remote = RemoteEngine(settings.backend)
            await remote.start()
            self.placement.remote = True
            return
        from ..dist import read_manifest
        from .store import ensure_store, open_store

        own = settings.served_store_dir(sum(read_manifest(settings.dist_dir)["triples"].values()))
        if own is not None:  # checked (or rebuilt) once here, before the workers open it
            began = time.perf_counter()
            if await asyncio.to_thread(ensure_store, settings.dist_dir, own):
                # Said once per build of the store: of replicas started together, only the one that built it.
                print(f"built the on-disk store {own}/ in {time.perf_counter() - began:.1f} s",
                      file=sys.stderr, flush=True)
        if own is not None and not self.in_process:
            # Forked before this process opens the store: see kg.query.workers.Zygote.
            dist_dir = settings.dist_dir
            self.zygote = Zygote.start(lambda: open_store(dist_dir, own, ensure=False))
        self.store = await asyncio.to_thread(open_store, settings.dist_dir, own, False)
        if self.in_process:
            return
        if own is not None:  # the whole-edition aggregates, computed once per store (kg.query.precomputed)
            self._start_precomputing(own)
        placement = self.placement
        placement.lookup_patterns, placement.entity_inline = await asyncio.to_thread(self._inline_limits_of, own)
        memory = settings.worker_memory_mb * 2**20
        # Workers share the data: forked from this process when it holds the dataset in memory,
        # else opening the on-disk store read-only (one page cache for all).
        where = str(own) if own is not None else ""
        fork_from = self.store if own is None else None
        # Workers run below the server's priority (pages, inline lookups), long ones lower, LIMIT lowest.
        lanes = [(Lane.WORKER, settings.workers, 5)]
        if placement.own_lane:
            lanes.append((Lane.OWN, settings.own_workers, 5))
        if placement.long_lane:
            lanes.append((Lane.LONG, settings.long_workers, 15))
        if placement.limit_lane:
            lanes.append((Lane.LIMIT, settings.limit_workers, 19))
        for lane, size, nice in lanes:
            self.pools[lane] = WorkerPool(
                settings.dist_dir, size=size, memory_limit=memory, nice=nice, store_dir=where, fork_from=fork_from,
                zygote=self.zygote, handovers=settings.handovers if lane is Lane.WORKER else 0,
                lazy=lane in (Lane.LONG, Lane.LIMIT),  # rarely needed: a process only once a query comes
            )
        await asyncio.gather(*(pool.start() for pool in self.pools.values()))

    def _start_precomputing(self, store_dir: Path) -> None:
        """Serve the answers already stored at once; compute the missing ones (``kg load`` computes
        them ahead) in a thread of their own, so the server does not wait for them to start: until
        one is ready its query just runs."""
        registry = self.registry if self.registry is not None else load_saved_queries(self.settings.queries_dir)
        self.precomputed = existing_answers(store_dir, registry)
        if len(self.precomputed) == len(precomputed_queries(registry)):
            return
        loop = asyncio.get_running_loop()

        def compute() -> None:
            began = time.perf_counter()
            try:
                answers = ensure_answers(self._embedded(), store_dir, registry)
            except Exception as exc:  # noqa: BLE001 - the queries then just run
                print(f"precomputed answers not made: {exc}", file=sys.stderr, flush=True)
                return
            print(f"{len(answers)} precomputed answers ready in {time.perf_counter() - began:.1f} s",
                  file=sys.stderr, flush=True)
            with contextlib.suppress(RuntimeError):  # the loop has closed (the server stopped)
                loop.call_soon_threadsafe(self.precomputed.update, answers)

        # a daemon thread: a server stopped meanwhile does not wait for it
        threading.Thread(target=compute, name="precompute", daemon=True).start()

    def _inline_limits_of(self, store_dir: Path | None) -> tuple[int, bool]:
        """``_inline_limits``, kept in an on-disk store's folder (a folder holds one dataset version),
        so a server starting on a large store does not scan it again."""
        kept = store_dir / INLINE_LIMITS if store_dir is not None else None
        if kept is not None:
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                saved = json.loads(kept.read_text(encoding="utf-8"))
                if saved["budget"] == [INLINE_ROW_BUDGET, MAX_PATTERNS]:  # figured with these limits
                    return int(saved["lookup_patterns"]), bool(saved["entity_inline"])
        patterns, entity_inline = self._inline_limits()
        if kept is not None:
            with contextlib.suppress(OSError):  # a folder this process may not write: computed each start
                tmp = kept.with_name(f".{kept.name}.tmp-{os.getpid()}")
                tmp.write_text(json.dumps({"lookup_patterns": patterns, "entity_inline": entity_inline,
                                           "budget": [INLINE_ROW_BUDGET, MAX_PATTERNS]}))
                os.replace(tmp, kept)
        return patterns, entity_inline

    def _precomputed(self, request: QueryRequest, kind: Kind) -> QueryResult | None:
        """The stored answer of a ``precompute`` saved query with these bindings, in the type asked for."""
        if kind is not Kind.SAVED or not self.precomputed or request.default_graphs or request.named_graphs:
            return None
        path = self.precomputed.get(answer_key(request.query, request.bindings))
        if path is None:
            return None
        began = time.perf_counter()
        stored = path.read_bytes()
        rows = self._precomputed_rows.get(path)
        if rows is None:
            rows = self._precomputed_rows[path] = execution.count_rows(stored, "json")
        json_type = execution.CANONICAL["json"]
        if rows <= request.max_rows and execution.chosen_solution_type(request.accept) == json_type:
            # stored by the same serializer: the bytes a run would give, without parsing them again
            result = QueryResult("select", json_type, stored, rows, False, time.perf_counter() - began)
        else:
            result = execution.select_result(
                read_answer(path), lambda: read_answer(path), request.accept, request.max_rows, began
            )
        result.where = "precomputed"
        return result

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
        for pool in self.pools.values():
            await pool.close()
        if self.zygote is not None:
            await self.zygote.close()
        if self.remote is not None:
            await self.remote.close()

    def _embedded(self) -> ox.Store:
        """The embedded store, once ``start`` has opened it."""
        if self.store is None:
            raise EngineUnavailable("the query engine is not running")
        return self.store

    async def run(
        self,
        request: QueryRequest,
        kind: Kind = Kind.SPARQL,
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
        stored = self._precomputed(request, kind)
        if stored is not None:
            self.cache.put(key, _hit_copy(stored, key))
            stored.cache = "miss"
            return stored
        lane, shape = self.placement.place(request.query, kind)
        self.counters[lane] += 1  # placed there, whether it then answers or fails
        if lane is Lane.INLINE:  # cheaper than any hand-off; bounded, so the loop is held briefly
            result = self._run_inline(request)
            result.where = lane.value
        else:
            result = await self._run_limited(request, lane, client, shape)  # says where it ran
        self.cache.put(key, _hit_copy(result, key))
        result.cache = "miss"  # a fresh result, nobody else holds it
        return result

    def _run_inline(self, request: QueryRequest) -> QueryResult:
        try:
            return execution.execute(self._embedded(), request)
        except SyntaxError as exc:
            raise QuerySyntaxError(str(exc)) from None

    async def _run_limited(self, request: QueryRequest, lane: Lane, client: str, shape: str) -> QueryResult:
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
            if lane is Lane.REMOTE:
                assert self.remote is not None  # placed remote only when there is a remote backend
                result = await self.remote.execute(request, settings.query_timeout)
                result.where = lane.value
                return result
            return await self._run_in_workers(request, lane, shape)
        finally:
            running[client] -= 1
            if not running[client]:
                del running[client]

    async def _run_in_workers(self, request: QueryRequest, lane: Lane, shape: str) -> QueryResult:
        """Run in the lane's worker pool, under the time limit (waiting for a worker included).

        A query that has run ``long_query_seconds`` in the WORKER lane (counted from when a
        worker took it, not only when it ends) hands its worker over: it runs on outside the lane,
        at the LONG lane's priority, while a fresh worker takes its place (``KG_HANDOVERS``), and
        its shape is marked long, so the next ones take the LONG lane. A shape whose query ran (not
        waited) into the time limit is marked for the LIMIT lane. An ad-hoc query whose shape was
        marked while it waited moves to the lane of its shape when a worker is free for it, with
        the time it has left.
        """
        timeout = self.settings.query_timeout
        deadline = time.monotonic() + timeout
        try:
            while True:
                pool = self.pools.get(lane)
                if pool is None:
                    raise EngineUnavailable("the query engine is not running")
                timed = lane is Lane.WORKER
                try:
                    result = await pool.execute(
                        request,
                        timeout,
                        self.settings.long_query_seconds if timed else None,
                        partial(self._ran_long, shape),
                        partial(self._still_in, lane, shape) if shape else None,
                        deadline,
                    )
                except Moved:
                    moved_to = self.placement.lane_of_shape(shape)
                    self.counters[lane] -= 1  # counted where it runs
                    self.counters[moved_to] += 1
                    self.moved += 1
                    lane = moved_to
                    continue
                result.where = lane.value
                return result
        except QueryTimeout as exc:
            if self.placement.limit_lane and exc.ran >= LIMIT_SHARE * self.settings.query_timeout:
                self.placement.limit_shapes.mark(shape)
            raise

    def _still_in(self, lane: Lane, shape: str) -> bool:
        return self.placement.lane_of_shape(shape) is lane

    def _ran_long(self, shape: str) -> None:
        if self.placement.long_lane:
            self.placement.long_shapes.mark(shape)

    def metrics(self) -> dict[str, float]:
        """Return counters for /metrics (name → value)."""
        out: dict[str, float] = {
            "kg_cache_hits_total": self.cache.hits,
            "kg_cache_misses_total": self.cache.misses,
            "kg_cache_bytes": self.cache.bytes,
            "kg_cache_entries": len(self.cache),
            **{f"kg_queries_{lane.value}_total": count for lane, count in self.counters.items()},
            "kg_long_query_shapes": len(self.placement.long_shapes),
            "kg_limit_query_shapes": len(self.placement.limit_shapes),
            "kg_queries_moved_total": self.moved,
            "kg_queries_running": sum(self.running.values()),
            "kg_uptime_seconds": round(time.time() - self.started, 1),
        }
        if self.pools:
            stats = [p.stats for p in self.pools.values()]
            workers, restarts = worker_summary(self)
            out.update(
                {
                    "kg_workers": workers,
                    "kg_worker_restarts_total": restarts,
                    "kg_worker_deaths_total": sum(s.deaths for s in stats),
                    "kg_worker_timeouts_total": sum(s.timeouts for s in stats),
                    "kg_worker_handovers_total": sum(s.handovers for s in stats),
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
    pools = service.pools.values()
    return sum(p.live for p in pools), sum(p.restarts for p in pools)


def _hit_copy(result: QueryResult, key: tuple) -> QueryResult:
    """The copy of a fresh result that the cache keeps under ``key`` (it answers as a hit; encodings shared)."""
    return QueryResult(
        result.form,
        result.media_type,
        result.body,
        result.rows,
        result.truncated,
        result.seconds,
        result.where,
        "hit",
        result.encoded,
        key=key,
    )
