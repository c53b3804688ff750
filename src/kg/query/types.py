"""What a query asks and what it answers, and how it can fail.

Both sides of the query service import these: ``results`` (which runs a query on a store),
``engine`` (which runs it in a killable worker), ``remote`` and the web layer. Nothing here
imports them back.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class QueryError(Exception):
    """Base of query failures; ``status`` is the HTTP status to answer with."""

    status = 400


class QuerySyntaxError(QueryError):
    status = 400


class QueryRefused(QueryError):
    status = 403


class QueryTooDeep(QueryError):
    """Nested deeper than the engine's parser can safely recurse (refused before any engine sees it)."""

    status = 400


class QueryTimeout(QueryError):
    status = 503
    ran = 0.0  # seconds the query itself ran before it was stopped (0: it only waited for a worker)


class NotAcceptable(QueryError):
    status = 406


class EngineUnavailable(QueryError):
    status = 503


class TooManyQueries(QueryError):
    status = 429


ERROR_KINDS: dict[str, type[QueryError]] = {
    cls.__name__: cls
    for cls in (QueryError, QuerySyntaxError, QueryRefused, QueryTimeout, NotAcceptable, EngineUnavailable)
}


@dataclass
class QueryRequest:
    """One query to run."""

    query: str
    accept: list[str]  # media types acceptable, best first
    bindings: dict[str, tuple] = field(default_factory=dict)  # variable → results.term_to_tuple(term)
    default_graphs: list[str] = field(default_factory=list)
    named_graphs: list[str] = field(default_factory=list)
    max_rows: int = 10000
    base_iri: str | None = None  # resolves relative IRIs (the endpoint, SPARQL 1.1 Protocol 2.3)

    def cache_key(self) -> tuple:
        """Return what identifies this request's answer (with the dataset version added by the cache)."""
        return (
            self.query,
            tuple(self.accept),
            tuple(sorted(self.bindings.items())),
            tuple(self.default_graphs),
            tuple(self.named_graphs),
            self.max_rows,
            self.base_iri,
        )


@dataclass
class QueryResult:
    """Serialized answer of a query."""

    form: str  # select | ask | graph
    media_type: str
    body: bytes
    rows: int
    truncated: bool
    seconds: float
    where: str = ""  # which lane answered (placement.Lane's value): inline | worker | long | remote
    cache: str = ""  # hit | miss | "" (not cacheable)
    # The body in a content coding (e.g. "gzip" → bytes), made once and shared by the cached copy,
    # so an answer served from the cache is never compressed again.
    encoded: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    # What a view made of this answer to serve it again as it is (the web layer keeps its whole
    # HTTP replies here, one per variant): kept with the answer, so it goes when the answer does.
    views: dict[object, object] = field(default_factory=dict, repr=False, compare=False)
    key: tuple | None = field(default=None, repr=False, compare=False)  # its key in the answer cache, if kept
