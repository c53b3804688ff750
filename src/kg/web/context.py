"""The one application object: what the server loaded, its caches and its query service.

``create_app`` makes one :class:`AppContext`, stores it as ``app.state.ctx`` and hands it to the
outer layers; routers reach it with :func:`context`. Nothing else is kept on ``app.state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Request

from ..dist import Manifest
from ..query import AnswerCache, QueryService, SavedQuery
from ..settings import Settings

RENDERED_MB = 16  # entity RDF as written by our writers, bounded in bytes

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Values computed once per key and kept while the server runs.

    For answers that cannot change until the data does: the key holds the dataset version and
    whatever else the value depends on (server URL, page language), so the keys are few.
    """

    def __init__(self) -> None:
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._values.get(key)

    def put(self, key: K, value: V) -> V:
        self._values[key] = value
        return value


@dataclass
class AppContext:
    """What every route may use: settings, the build's manifest and version, saved queries, caches,
    and the query service (started by the application's lifespan)."""

    settings: Settings
    manifest: Manifest
    registry: dict[str, SavedQuery]
    rendered: AnswerCache = field(default_factory=lambda: AnswerCache(RENDERED_MB * 2**20))
    # schema.org Dataset JSON-LD, keyed by (version, server URL)
    schema_org_dataset: Memo[tuple[str, str], str] = field(default_factory=Memo)
    # the overviews (``overview.View``; named there, since overview imports this module), keyed by
    # (version, language, prefecture IRI or "" for the edition's page): at most one per prefecture and language
    overview_views: Memo[tuple[str, str, str], list[Any]] = field(default_factory=Memo)
    # what the landing page says the graph holds (``overview.summary``), keyed by (version, language)
    summaries: Memo[tuple[str, str], dict[str, object]] = field(default_factory=Memo)
    version: str = field(init=False)  # the dataset version, from the manifest
    kept_replies_sent: int = 0  # replies the edge layer sent as it kept them (kg.web.app.Edge)
    _service: QueryService | None = None

    def __post_init__(self) -> None:
        self.version = self.manifest["version"]

    @property
    def service(self) -> QueryService:
        """The running query service; an error before the application's lifespan has started it."""
        if self._service is None:
            raise RuntimeError("the query service is not running: the application's lifespan has not started")
        return self._service

    def start_service(self, service: QueryService) -> None:
        self._service = service


def context(request: Request) -> AppContext:
    """The application object of the app serving ``request``."""
    ctx = request.app.state.ctx
    assert isinstance(ctx, AppContext), "the app was not made by kg.web.app.create_app"
    return ctx
