"""Queries of unknown cost, run where a deadline can really stop them: a pool of worker processes.

pyoxigraph cannot cancel a query, so each worker is a separate process; at the deadline the
worker is killed and a fresh one takes its place. Workers are forked from the server after it
has loaded what they need (the interpreter, the modules and, for a small dataset, the store in
memory), so they share its pages instead of each loading its own copy, and a fresh one is ready
in milliseconds; with an on-disk store each opens its own read-only handle, and all share the
operating system's page cache.

The server talks to a worker over pipes on its standard input and output with the event loop's own
streams (any loop: asyncio or uvloop), never with a blocking call: a request is one frame, an
answer is a frame header and the serialized bytes, read as they arrive, so a multi-megabyte
answer never holds up other clients. When a worker dies, the answer says how (its exit code or
signal), not a guess.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import gc
import json
import os
import pickle  # noqa: S403 - only the server's own QueryRequest objects go to its own workers
import resource
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, NoReturn

import pyoxigraph as ox

from .types import (
    ERROR_KINDS,
    EngineUnavailable,
    QueryError,
    QueryRequest,
    QueryResult,
    QueryTimeout,
)

FRAME = struct.Struct("!II")  # header length, body length
READ_CHUNK = 1 << 20  # the answer is read in chunks; the loop serves others between them
STARTUP_SECONDS = 120.0


# ---------------------------------------------------------------------- worker side
def _write_frame(out: BinaryIO, header: dict[str, object], body: bytes = b"") -> None:
    head = json.dumps(header).encode()
    out.write(FRAME.pack(len(head), len(body)))
    out.write(head)
    out.write(body)
    out.flush()


def _read_exactly(inp: BinaryIO, n: int) -> bytes:
    data = inp.read(n)
    if data is None or len(data) < n:
        raise EOFError
    return data


def _serve(store: ox.Store, memory_limit: int) -> None:
    """Answer framed requests on stdin until it closes (the store is open; stdout carries frames)."""
    from . import execution

    # Frames go to the original stdout; anything printed by accident goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = os.fdopen(0, "rb")
    _write_frame(out, {"ready": os.getpid()})
    while True:
        try:
            size = struct.unpack("!I", _read_exactly(inp, 4))[0]
            request: QueryRequest = pickle.loads(_read_exactly(inp, size))  # noqa: S301 - from our server
        except EOFError:
            return
        try:
            result = execution.execute(store, request)
        except MemoryError:
            _write_frame(out, {"error": "EngineUnavailable", "message": _memory_message(memory_limit)})
            continue
        except SyntaxError as exc:
            _write_frame(out, {"error": "QuerySyntaxError", "message": str(exc)})
            continue
        except QueryError as exc:
            _write_frame(out, {"error": type(exc).__name__, "message": str(exc)})
            continue
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the server
            _write_frame(out, {"error": "QueryError", "message": f"{type(exc).__name__}: {exc}"})
            continue
        header = {
            "form": result.form,
            "media_type": result.media_type,
            "rows": result.rows,
            "truncated": result.truncated,
            "seconds": result.seconds,
        }
        _write_frame(out, header, result.body)
        del result
        _release()


def _release() -> None:
    """Give the memory a query's evaluation used back to the system (glibc keeps freed heap
    otherwise, and an idle worker would hold its largest query's peak for good)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def _memory_message(limit: int) -> str:
    return f"the query needed more than the {limit // 2**20} MiB a query worker may use (KG_WORKER_MEMORY_MB)"


def _forked_child(
    open_store: Callable[[], ox.Store], memory_limit: int, nice: int, fds: tuple[int, int, int]
) -> NoReturn:
    """In a child forked from the server: keep only its three pipe ends, open its store, then
    serve. Everything the server had loaded (the interpreter, modules, an in-memory store) is
    shared with it page by page until either writes a page; an on-disk store is opened anew
    (a database handle does not survive a fork) and shares the server's page cache."""
    code = 70
    # Everything the server allocated stays shared only while nothing writes to its pages: a
    # collection here would write to the header of every object the server had (measured: ~64 MiB
    # of the server's heap copied into each worker). Frozen, the collector never visits them.
    gc.freeze()
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        os.closerange(3, _max_fd())  # the server's sockets, loop and other workers' pipes
        os.setsid()  # a Ctrl-C in the terminal reaches the server, which stops its workers
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if nice:
            os.nice(nice)
        if memory_limit:  # on top of what the process already maps (all of the server's address space)
            with contextlib.suppress(ValueError, OSError):
                cap = _mapped_bytes() + memory_limit
                resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        _serve(open_store(), memory_limit)
        code = 0
    except BaseException:  # noqa: BLE001 - a forked child never returns into the server's code
        with contextlib.suppress(Exception):
            import traceback

            traceback.print_exc()
    finally:
        os._exit(code)


def _max_fd() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if 0 < soft < 1 << 20 else 1 << 16


def _mapped_bytes() -> int:
    """The address space the process maps now (VmSize), bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


class ForkedProcess:
    """A worker forked from the server (what ``asyncio.subprocess.Process`` would give, as the pool uses it).

    Its exit is watched with a pidfd on the event loop (no child watcher thread, no SIGCHLD).
    """

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        loop = asyncio.get_running_loop()
        self._ended: asyncio.Future[int] = loop.create_future()
        self._pidfd = os.pidfd_open(pid)
        loop.add_reader(self._pidfd, self._reap)

    def _reap(self) -> None:
        with contextlib.suppress(ChildProcessError):
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == 0:
                return
            self.returncode = os.waitstatus_to_exitcode(status)
        if self.returncode is None:  # reaped elsewhere: its status is lost
            self.returncode = -signal.SIGKILL
        asyncio.get_running_loop().remove_reader(self._pidfd)
        os.close(self._pidfd)
        if not self._ended.done():
            self._ended.set_result(self.returncode)

    async def wait(self) -> int:
        return await asyncio.shield(self._ended)

    def kill(self) -> None:
        if self.returncode is None:
            os.kill(self.pid, signal.SIGKILL)


async def fork_worker(
    open_store: Callable[[], ox.Store], memory_limit: int, nice: int
) -> tuple[ForkedProcess, asyncio.StreamReader, asyncio.StreamWriter, asyncio.StreamReader]:
    """Fork a worker that serves from ``open_store()``; return it with its stdout, stdin and stderr streams."""
    loop = asyncio.get_running_loop()
    to_child, from_child, errors = os.pipe(), os.pipe(), os.pipe()
    # Free heap the server still maps (e.g. what its start-up scans of the store left in a thread's
    # arena) goes back to the system first: mapped at the fork, each worker would keep a copy of
    # those pages once the server reuses them (measured at 1M: 55 MiB private per worker).
    _release()
    pid = os.fork()
    if pid == 0:
        _forked_child(open_store, memory_limit, nice, (to_child[0], from_child[1], errors[1]))
    for fd in (to_child[0], from_child[1], errors[1]):
        os.close(fd)
    process = ForkedProcess(pid)
    out = asyncio.StreamReader(limit=READ_CHUNK * 2)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(out), os.fdopen(from_child[0], "rb", 0))
    err = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(err), os.fdopen(errors[0], "rb", 0))
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(to_child[1], "wb", 0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return process, out, writer, err


# ---------------------------------------------------------------------- server side
def _how_it_ended(returncode: int | None) -> str:
    if returncode is None:
        return "closed its pipe while still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


@dataclass(eq=False)
class _Worker:
    process: ForkedProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    answered: int = 0
    last_words: collections.deque = field(default_factory=lambda: collections.deque(maxlen=3))

    def how_it_ended(self) -> str:
        """Return how the process ended, with the last line it wrote to stderr if any."""
        ended = _how_it_ended(self.process.returncode)
        said = " / ".join(line for line in self.last_words if line)
        return f"{ended} (it said: {said[:300]})" if said else ended

    @property
    def pid(self) -> int:
        return self.process.pid


class Moved(Exception):
    """The query's lane changed while it waited for a worker of this pool."""


@dataclass
class Transfer:
    """An answer being read from a worker (for /metrics and tests)."""

    total: int
    received: int = 0


@dataclass
class PoolStats:
    restarts: int = 0  # workers replaced (killed at the deadline or found dead)
    handovers: int = 0  # workers let go with a query that ran long, a fresh one started in their place
    deaths: int = 0  # workers that died by themselves
    timeouts: int = 0  # queries stopped at the deadline
    answered: int = 0
    transfers: dict[int, Transfer] = field(default_factory=dict)  # by request id, while being read


class WorkerPool:
    """A pool of query worker processes with a deadline per query."""

    def __init__(
        self,
        dist_dir: Path,
        size: int = 2,
        memory_limit: int = 2 * 1024**3,
        nice: int = 0,
        store_dir: str = "",
        fork_from: ox.Store | None = None,
        handovers: int = 0,
        handover_nice: int = 15,
    ):
        """Workers are forked from this process. They serve from ``fork_from`` (an in-memory store,
        shared page by page with the server) when it is given; else each opens the on-disk store
        in ``store_dir`` read-only (or, without one, loads the dumps)."""
        self.dist_dir = dist_dir
        self.store_dir = store_dir
        self.fork_from = fork_from
        self.size = max(1, size)
        self.memory_limit = memory_limit
        self.nice = nice
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        self._all: set[_Worker] = set()
        self.handovers = handovers  # most workers let go at once (0: a long query keeps its place)
        self.handover_nice = handover_nice
        self._let_go: set[_Worker] = set()  # running a query that ran long; retired when it ends
        self._closed = False
        self._spawning: set[asyncio.Task] = set()
        self._next_id = 0
        self.stats = PoolStats()

    @property
    def restarts(self) -> int:
        return self.stats.restarts

    def pids(self) -> list[int]:
        """Return the process ids of the live workers."""
        return sorted(w.pid for w in self._all)

    @property
    def live(self) -> int:
        """How many workers are live (what ``len(pids())`` says, without building the list)."""
        return len(self._all)

    async def _spawn(self) -> _Worker:
        forked, out, writer, err = await fork_worker(self._opener(), self.memory_limit, self.nice)
        worker = _Worker(forked, out, writer)
        self._keep(asyncio.get_running_loop().create_task(self._relay_stderr(worker, err)))
        return await self._ready(worker)

    def _opener(self) -> Callable[[], ox.Store]:
        """What a new worker calls, once forked, for its store."""
        shared = self.fork_from
        if shared is not None:
            return lambda: shared  # the server's in-memory store: its pages, shared
        from .store import open_store

        where = Path(self.store_dir) if self.store_dir else None
        # its own read-only handle (the server has checked the store)
        return lambda: open_store(self.dist_dir, where, ensure=False)

    async def _ready(self, worker: _Worker) -> _Worker:
        """Wait for a new worker's first frame (it has its store open)."""
        try:
            header, _ = await asyncio.wait_for(self._read_frame(worker, None), STARTUP_SECONDS)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as exc:
            self._kill(worker)
            await self._reap(worker)
            ended = worker.how_it_ended()
            raise EngineUnavailable(f"a query worker failed to load the dataset ({ended})") from exc
        if "ready" not in header:
            self._kill(worker)
            raise EngineUnavailable("a query worker started but did not say it was ready")
        return worker

    @staticmethod
    async def _relay_stderr(worker: _Worker, stream: asyncio.StreamReader) -> None:
        """Pass a worker's stderr on to ours, keeping its last lines for the message if it dies."""
        while line := await stream.readline():
            text = line.decode("utf-8", "replace").rstrip()
            worker.last_words.append(text)
            print(f"[query worker {worker.pid}] {text}", file=sys.stderr, flush=True)

    async def _add_worker(self) -> None:
        worker = await self._spawn()
        if self._closed:
            self._kill(worker)
            return
        self._all.add(worker)
        self._idle.put_nowait(worker)
        self._keep(asyncio.get_running_loop().create_task(self._watch(worker)))

    def _keep(self, task: asyncio.Task) -> None:
        self._spawning.add(task)
        task.add_done_callback(self._spawning.discard)

    async def _watch(self, worker: _Worker) -> None:
        """Replace a worker that dies by itself, even while idle, so no query is sent to a dead one."""
        await worker.process.wait()
        if worker in self._all:  # not killed by us: it died (signal, memory cap, crash)
            self.stats.deaths += 1
            self._replace(worker)

    async def start(self) -> None:
        """Start all workers (each loads the dataset)."""
        await asyncio.gather(*(self._add_worker() for _ in range(self.size)))

    def _hand_over(self, worker: _Worker, ran_long: Callable[[], object] | None) -> None:
        """The query on ``worker`` has run long: let the worker go on with it at a lower priority,
        outside the pool, and start a fresh worker in its place, so the pool's places stay free for
        short queries. The deadline still stops the query; the worker is retired when it ends."""
        if ran_long is not None:
            ran_long()
        if self._closed or worker not in self._all or len(self._let_go) >= self.handovers:
            return
        self._all.discard(worker)
        self._let_go.add(worker)
        self.stats.handovers += 1
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, worker.pid, self.handover_nice)
        self._keep(asyncio.get_running_loop().create_task(self._add_worker()))

    def _retire(self, worker: _Worker) -> None:
        """Stop a worker that was let go, now that its query has ended (its place was refilled)."""
        self._let_go.discard(worker)
        self._kill(worker)
        self._keep(asyncio.get_running_loop().create_task(self._reap(worker)))

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` and start another in its place."""
        self._all.discard(worker)
        self._kill(worker)
        self.stats.restarts += 1
        loop = asyncio.get_running_loop()
        self._keep(loop.create_task(self._reap(worker)))
        if not self._closed:
            self._keep(loop.create_task(self._add_worker()))

    @staticmethod
    def _kill(worker: _Worker) -> None:
        with contextlib.suppress(ProcessLookupError):
            worker.process.kill()
        with contextlib.suppress(Exception):
            worker.writer.close()

    @staticmethod
    async def _reap(worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(worker.process.wait(), 5)

    async def _read_frame(self, worker: _Worker, request_id: int | None) -> tuple[dict, bytes]:
        head_size, body_size = FRAME.unpack(await worker.reader.readexactly(FRAME.size))
        header = json.loads(await worker.reader.readexactly(head_size))
        if not body_size:
            return header, b""
        transfer = Transfer(body_size)
        if request_id is not None:
            self.stats.transfers[request_id] = transfer
        parts = []
        try:
            while transfer.received < body_size:
                chunk = await worker.reader.readexactly(min(READ_CHUNK, body_size - transfer.received))
                parts.append(chunk)
                transfer.received += len(chunk)
        finally:
            if request_id is not None:
                self.stats.transfers.pop(request_id, None)
        return header, b"".join(parts)

    async def _ask(self, worker: _Worker, request: QueryRequest, request_id: int) -> tuple[dict, bytes]:
        payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        worker.writer.write(struct.pack("!I", len(payload)) + payload)
        await worker.writer.drain()
        return await self._read_frame(worker, request_id)

    async def execute(
        self,
        request: QueryRequest,
        timeout: float,
        long_after: float | None = None,
        ran_long: Callable[[], object] | None = None,
        still_here: Callable[[], bool] | None = None,
        deadline: float | None = None,
    ) -> QueryResult:
        """Run ``request`` on a worker; raise QueryTimeout after ``timeout`` seconds (queueing included),
        or at ``deadline`` (monotonic) when given.

        With ``long_after``, a query still running that many seconds after a worker took it has
        run long: ``ran_long`` is called and the worker is handed over (see ``_hand_over``).
        With ``still_here``, asked when a worker is free for the query: False gives the worker back
        and raises Moved (the query's lane changed while it waited).
        """
        if deadline is None:
            deadline = time.monotonic() + timeout
        while True:
            try:
                worker = await asyncio.wait_for(self._idle.get(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise QueryTimeout(f"no query worker became free within the {timeout:.3g} s time limit") from None
            if worker in self._all and worker.process.returncode is None:
                break  # a worker found dead here has been (or is being) replaced by its watcher
        if still_here is not None and not still_here():
            self._idle.put_nowait(worker)
            raise Moved
        timer = None
        if long_after is not None:
            timer = asyncio.get_running_loop().call_later(long_after, self._hand_over, worker, ran_long)
        self._next_id += 1
        request_id = self._next_id
        healthy = False
        began = time.monotonic()
        try:
            header, body = await asyncio.wait_for(
                self._ask(worker, request, request_id), max(0.0, deadline - time.monotonic())
            )
            healthy = True
        except TimeoutError:
            self.stats.timeouts += 1
            stopped = QueryTimeout(f"the query was stopped at the {timeout:.3g} s time limit")
            stopped.ran = time.monotonic() - began
            raise stopped from None
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(worker.process.wait()), 1)
            await asyncio.sleep(0.05)  # let the last stderr lines arrive
            ended = worker.how_it_ended()
            raise EngineUnavailable(f"the query worker {ended} before it answered; it has been replaced") from None
        finally:
            if timer is not None:
                timer.cancel()
            # A worker whose answer was not read whole (deadline, death, cancelled request) is never reused.
            if worker in self._let_go:
                self._retire(worker)
            elif healthy and worker in self._all:
                worker.answered += 1
                self._idle.put_nowait(worker)
            elif worker in self._all and worker.process.returncode is None:
                self._replace(worker)  # a dead worker is counted and replaced by its watcher
        self.stats.answered += 1
        if "error" in header:
            raise ERROR_KINDS.get(header["error"], QueryError)(header["message"])
        return QueryResult(
            header["form"],
            header["media_type"],
            body,
            header["rows"],
            header["truncated"],
            header["seconds"],
            where="worker",
        )

    async def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        for task in list(self._spawning):
            task.cancel()
        workers = [*self._all, *self._let_go]
        self._all.clear()
        self._let_go.clear()
        for worker in workers:
            self._kill(worker)
        await asyncio.gather(*(self._reap(w) for w in workers))
