"""How much memory a build will need, and how much it may have: checked before the work starts.

A build that runs out of memory half-way is killed by the kernel (no message at all) or, under an
address-space limit, stopped by a Rust allocation that aborts the process with a backtrace. So the
build estimates its peak from the size of the tables (measured: the peak resident memory grows
linearly with them, see bench/REPORT.md) and refuses with a message of its own when the machine,
its cgroup or the process's address-space limit leaves less than that.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import resource
except ImportError:  # not on Unix: no address-space limit to read
    resource = None  # type: ignore[assignment]  # the module is absent there; checked before use

BASE_BYTES = 160 * 2**20  # interpreter, libraries, the ontology and its compiled rules
BYTES_PER_TABLE_BYTE = 150  # peak resident memory per byte of CSV (about 130 measured at 1M and 10M triples)
ADDRESS_SPACE_MARGIN = 1.25  # address space reserved beyond resident memory (thread stacks, allocator arenas)


class NotEnoughMemory(Exception):
    """The build would need more memory than it may have (the message says how much of each)."""


def table_bytes(data_dir: Path) -> int:
    return sum(p.stat().st_size for p in data_dir.glob("*.csv"))


def estimate(data_dir: Path) -> int:
    """Peak resident memory a build of the tables in ``data_dir`` needs, in bytes."""
    return BASE_BYTES + BYTES_PER_TABLE_BYTE * table_bytes(data_dir)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cgroup_available() -> int | None:
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
    except OSError:
        return None
    return None if limit == "max" else max(0, int(limit) - int(used))


def _address_space_available() -> int | None:
    if resource is None:
        return None
    soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        size = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        size = 0
    return max(0, int((soft - size) / ADDRESS_SPACE_MARGIN))


def available() -> tuple[int, str] | None:
    """The most memory the build may still use, and what limits it (None: unknown)."""
    found = [
        (n, what)
        for n, what in (
            (_meminfo_available(), "memory available on the machine"),
            (_cgroup_available(), "the cgroup's memory limit"),
            (_address_space_available(), "the process's address-space limit (ulimit -v)"),
        )
        if n is not None
    ]
    return min(found) if found else None


def check(data_dir: Path) -> None:
    """Raise NotEnoughMemory when a build of ``data_dir`` would need more memory than it may have."""
    needed = estimate(data_dir)
    room = available()
    if room is not None and needed > room[0]:
        gib = 2**30
        raise NotEnoughMemory(
            f"not enough memory to build these tables ({table_bytes(data_dir) / 2**20:,.0f} MiB of CSV): "
            f"the build needs about {needed / gib:.1f} GiB at its peak, and {room[1]} leaves "
            f"{room[0] / gib:.1f} GiB. Free memory, raise the limit, or build on a machine with more."
        )
