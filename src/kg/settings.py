"""One settings registry: every setting has a name, a default and a help text.

Values come from environment variables ``KG_<NAME>`` and may be overridden by CLI flags.
``tests/test_settings.py`` fails when a setting is missing from the README.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .namespaces import DEFAULT_BASE
from .resources import resource_dir

# Where the default dist/ is: the folder the command runs in (``make build`` runs at the top of the
# source tree, so there it is the repository's dist/; an installed wheel writes ./dist wherever it runs).
DEFAULT_DIST = Path("dist")
# KG_REASONER / KG_VALIDATOR ``auto``: the reference engines (owlrl, pySHACL) up to this many data
# triples, the compiled reasoner and the Rust validator beyond (kg.pipeline.builder.choose_engines).
REFERENCE_ENGINES_MAX_TRIPLES = 50_000


def _meta(help_text: str) -> dict[str, str]:
    return {"help": help_text}


@dataclass(frozen=True)
class Settings:
    """Configuration of build and server. Field defaults are the documented defaults."""

    base_iri: str = field(default=DEFAULT_BASE, metadata=_meta("Base IRI of all instance and ontology IRIs."))
    data_dir: Path = field(default=resource_dir("data"), metadata=_meta("Folder of curated source tables."))
    ontology_dir: Path = field(
        default=resource_dir("ontology"), metadata=_meta("Folder of ontology and shapes Turtle.")
    )
    queries_dir: Path = field(
        default=resource_dir("queries"), metadata=_meta("Folder of saved SPARQL queries (*.rq).")
    )
    dist_dir: Path = field(default=DEFAULT_DIST, metadata=_meta("Folder the build writes and the server reads."))
    reasoner: str = field(
        default="auto",
        metadata=_meta(
            "OWL RL engine: auto (owlrl up to 50,000 data triples, compiled beyond), owlrl (reference), "
            "compiled (owlrl's rules compiled from the ontology, streaming) or reasonable."
        ),
    )
    validator: str = field(
        default="auto",
        metadata=_meta(
            "SHACL engine: auto (pyshacl up to 50,000 data triples, shacl beyond), pyshacl (reference) or shacl (Rust)."
        ),
    )
    backend: str = field(
        default="", metadata=_meta("Remote SPARQL endpoint URL to answer from (empty: embedded pyoxigraph).")
    )
    store_dir: str = field(
        default="",
        metadata=_meta(
            "On-disk store the server and its workers open read-only (empty: DIST_DIR/store, for a dataset "
            "above KG_MEMORY_TRIPLES; made from the dumps on first start; `memory`: in memory whatever the size)."
        ),
    )
    host: str = field(default="127.0.0.1", metadata=_meta("Address the server listens on."))
    port: int = field(default=8000, metadata=_meta("Port the server listens on."))
    public_url: str = field(default="", metadata=_meta("Public root URL of the server (default http://HOST:PORT)."))
    query_timeout: float = field(default=10.0, metadata=_meta("Seconds a query may run before it is stopped (503)."))
    max_rows: int = field(default=10000, metadata=_meta("Most result rows returned; more are cut and flagged."))
    max_query_bytes: int = field(
        default=100_000, metadata=_meta("Largest accepted query text / request body, in bytes.")
    )
    workers: int = field(default=2, metadata=_meta("Query worker processes (killed and replaced at the time limit)."))
    own_workers: int = field(
        default=2,
        metadata=_meta(
            "Worker processes for saved queries and pages, which then never wait behind ad-hoc queries "
            "(0: they share the ad-hoc workers)."
        ),
    )
    long_workers: int = field(
        default=1,
        metadata=_meta(
            "Worker processes for queries of a shape seen to run long (their own lane; 0: no such lane)."
        ),
    )
    limit_workers: int = field(
        default=1,
        metadata=_meta(
            "Worker processes for queries of a shape that ran into the time limit (their own lane; 0: no such lane)."
        ),
    )
    handovers: int = field(
        default=4,
        metadata=_meta(
            "Most ad-hoc queries at once that, having run long_query_seconds, go on outside the ad-hoc "
            "lane while a fresh worker takes their place (0: a long query keeps its worker to the end)."
        ),
    )
    long_query_seconds: float = field(
        default=0.5, metadata=_meta("A query shape that ran longer than this goes to the long-query lane next time.")
    )
    cache_mb: int = field(
        default=64, metadata=_meta("Size of the answer cache, MiB (answers keyed by dataset version and request).")
    )
    processes: int = field(
        default=1,
        metadata=_meta(
            "Server processes on the one port (uvicorn's or granian's workers): each serves the whole "
            "application with its own answer cache and query workers (KG_WORKERS and KG_OWN_WORKERS are "
            "shared out among them); a process that dies is replaced. Per-client limits, /metrics and "
            "/healthz are per process."
        ),
    )
    loop: str = field(default="auto", metadata=_meta("Event loop: auto (uvloop when installed), uvloop or asyncio."))
    http: str = field(default="auto", metadata=_meta("HTTP parser: auto (httptools when installed), httptools or h11."))
    server: str = field(
        default="uvicorn",
        metadata=_meta(
            "HTTP server: uvicorn, or granian (Rust HTTP/1.1; `pip install 'tokyo-sme-kg[granian]'`; KG_HTTP "
            "is then unused); KG_PROCESSES processes either way, each on the KG_LOOP event loop."
        ),
    )
    memory_triples: int = field(
        default=500_000,
        metadata=_meta(
            "Datasets of at most this many triples are loaded into memory once, by the server; its query "
            "workers are forked from it and share its pages. Larger ones are served from the on-disk store."
        ),
    )
    worker_memory_mb: int = field(default=2048, metadata=_meta("Address-space cap of each query worker, MiB."))
    per_client: int = field(default=4, metadata=_meta("Queries one client address may run at once (429 beyond)."))
    validate_max_mb: int = field(
        default=64, metadata=_meta("Largest RDF file `kg validate` reads, MiB (exit 2 beyond; bounds its memory).")
    )
    max_running: int = field(default=16, metadata=_meta("Queries that may wait or run at once in total (429 beyond)."))

    @property
    def resolved_store_dir(self) -> Path | None:
        """The on-disk store's folder (None: in memory)."""
        if self.store_dir == "memory":
            return None
        return Path(self.store_dir) if self.store_dir else Path(self.dist_dir) / "store"

    def served_store_dir(self, triples: int) -> Path | None:
        """The on-disk store a server answers a dataset of ``triples`` from; None: from memory.

        A small dataset is held in memory by the server process (its inline lookups then run in
        about half the time); a large one is read from the shared on-disk store, as the workers do.
        A store named in KG_STORE_DIR is always used (replicas sharing one store, fast restarts).
        """
        explicit = self.store_dir not in ("", "memory")
        return self.resolved_store_dir if explicit or triples > self.memory_triples else None

    @property
    def server_url(self) -> str:
        """Return the public root URL without trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def with_overrides(self, **values: object) -> Settings:
        """Return a copy with the given non-None values replaced."""
        changes: dict[str, Any] = {k: v for k, v in values.items() if v is not None}  # replace() checks the names
        return replace(self, **changes)


def setting_names() -> list[str]:
    """Return the environment variable name of every setting."""
    return [f"KG_{f.name.upper()}" for f in fields(Settings)]


def setting_docs() -> list[tuple[str, str, str]]:
    """Return (env name, default, help) for every setting."""
    out = []
    for f in fields(Settings):
        default = f.default
        if default == DEFAULT_DIST:
            default = "./dist/ (in the current folder)"
        elif isinstance(default, Path):  # packaged with kg (kg.resources); the top-level folder in a checkout
            default = f"{default.name}/ (packaged)"
        out.append((f"KG_{f.name.upper()}", str(default), f.metadata["help"]))
    return out


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``KG_*`` environment variables that ``load_settings`` reads back as ``settings`` (how a
    server hands its settings, command-line flags included, to the processes it starts)."""
    return {f"KG_{f.name.upper()}": str(getattr(settings, f.name)) for f in fields(Settings)}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Return settings from ``KG_*`` environment variables over the defaults.

    Raises ValueError naming the variable when a value has the wrong type.
    """
    source: Mapping[str, str] = os.environ if env is None else env
    values: dict[str, Any] = {}  # field name → value of the field's type (Settings checks the names)
    for f in fields(Settings):
        raw = source.get(f"KG_{f.name.upper()}")
        if raw is None or raw == "":
            continue
        default = f.default
        kind: type[Path | int | float | str] = (
            Path if isinstance(default, Path) else int if isinstance(default, int) else
            float if isinstance(default, float) else str
        )
        try:
            values[f.name] = kind(raw)
        except ValueError as exc:
            raise ValueError(f"KG_{f.name.upper()}={raw!r}: expected {kind.__name__}") from exc
    settings = Settings(**values)
    if not settings.base_iri.endswith("/"):
        raise ValueError("KG_BASE_IRI must end with '/'")
    return settings
