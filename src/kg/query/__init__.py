"""Answering queries: request/answer types, query shapes and policy, execution and serialization,
the store, killable workers, the remote backend, saved queries, and the one query service.

Imports nothing of :mod:`kg.pipeline` or :mod:`kg.validation`: a server or a query worker loads
no builder, reasoner or SHACL engine.
"""

from ..dist import StoreError, read_manifest
from .execution import term_to_tuple
from .placement import Kind, Lane, Placement
from .precomputed import ensure_answers
from .saved import ParameterError, QueryDefinitionError, SavedQuery, load_saved_queries
from .service import AnswerCache, QueryService, worker_summary
from .shape import MAX_NESTING, check_query, check_read_only, forbidden_keyword, nesting_depth
from .store import ensure_store, open_store, run_query
from .types import QueryError, QueryRefused, QueryRequest, QueryResult, QuerySyntaxError, QueryTooDeep

__all__ = [
    "AnswerCache",
    "Kind",
    "Lane",
    "Placement",
    "ParameterError",
    "QueryDefinitionError",
    "QueryError",
    "QueryRefused",
    "QueryRequest",
    "QueryResult",
    "QueryService",
    "QuerySyntaxError",
    "SavedQuery",
    "StoreError",
    "MAX_NESTING",
    "QueryTooDeep",
    "check_query",
    "check_read_only",
    "ensure_answers",
    "ensure_store",
    "forbidden_keyword",
    "nesting_depth",
    "load_saved_queries",
    "open_store",
    "read_manifest",
    "run_query",
    "term_to_tuple",
    "worker_summary",
]
