"""Answer from a remote SPARQL 1.1 store.

``KG_BACKEND=<endpoint URL>`` makes the server use ``RemoteEngine`` instead of local workers
(``kg publish``, in :mod:`kg.pipeline.publishing`, puts the dumps there).

The store's own limits are seen, not passed over: an answer it cut at its row cap is flagged as
cut (like one cut at KG_MAX_ROWS), and a query it stopped at its time limit is a timeout (503),
even when the store sends the rows it had so far with a 200 (Virtuoso's "anytime" answers).

A remote store cannot take SEP-0007 substitutions, so parameters are bound by rewriting the
query's variable tokens (outside strings, IRIs and comments) into terms rendered by
pyoxigraph's serializer — the value is escaped by the library, never spliced as raw text. In the
SELECT projection and GROUP BY the variable becomes ``(term AS ?var)``, as SEP-0007 specifies.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from .execution import (
    CANONICAL,
    GRAPH_EQUIVALENTS,
    GRAPH_TYPES,
    SOLUTION_TYPES,
    NotAcceptable,
    _choose,
    serialize_boolean,
    serialize_solutions,
    term_from_tuple,
)
from .types import EngineUnavailable, QueryError, QueryRequest, QueryResult, QuerySyntaxError, QueryTimeout

XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
_TOKENS = re.compile(
    r'(?P<skip>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*)'
    r"|(?P<var>[?$][A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<word>\b(?:SELECT|WHERE|GROUP|BY|HAVING|ORDER|LIMIT|OFFSET|VALUES|CONSTRUCT|DESCRIBE|ASK|FROM)\b)"
    r"|(?P<brace>[{}])",  # a brace ends a sub-select's GROUP BY (or any clause) before what follows it
    re.I,
)


def bind_by_rewriting(query: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """Return ``query`` with each bound variable replaced by its term (SEP-0007 semantics).

    In the outermost SELECT projection the variable becomes ``(term AS ?var)``, in a sub-select's
    projection it is dropped (its body has the term); in GROUP BY it is dropped
    (grouping by a constant changes no group, and some stores refuse expressions there);
    everywhere else it becomes the term.
    """
    if not bindings:
        return query
    out: list[str] = []
    last = 0
    section = ""
    selects = 0
    for m in _TOKENS.finditer(query):
        if m.group("skip"):
            continue
        if m.group("brace"):
            section = ""
            continue
        if m.group("word"):
            section = m.group("word").upper()
            selects += section == "SELECT"
            continue
        name = m.group("var")[1:]
        if name not in bindings:
            continue
        term = str(bindings[name])
        if section == "SELECT" and selects > 1:
            # a sub-select's projection: the term is inlined in its body, so it need not carry the
            # variable out (the outermost projection binds it; binding it twice is an error)
            replacement = ""
        elif section == "SELECT":
            replacement = f"({term} AS {m.group('var')})"
        elif section == "BY" and _in_group_by(query, m.start()):
            replacement = ""
        else:
            replacement = term
        out.append(query[last : m.start()])
        out.append(replacement)
        last = m.end()
    out.append(query[last:])
    return "".join(out)


def _in_group_by(query: str, position: int) -> bool:
    """True when the BY clause around ``position`` is GROUP BY (not ORDER BY)."""
    before = query[:position].upper()
    return before.rfind("GROUP") > before.rfind("ORDER")


def _blank(label: str) -> ox.BlankNode:
    """A blank node with the store's label, or — where that label is no valid identifier (Virtuoso
    writes ``nodeID://b10001``) — one made of its hex code: the same label gives the same node."""
    try:
        return ox.BlankNode(label)
    except ValueError:
        return ox.BlankNode("x" + label.encode().hex())


def _json_term(b: dict[str, str]) -> object:
    kind = b.get("type")
    if kind == "uri":
        return ox.NamedNode(b["value"])
    if kind == "bnode":
        return _blank(b["value"])
    if b.get("xml:lang"):
        return ox.Literal(b["value"], language=b["xml:lang"])
    if b.get("datatype"):
        value = b["value"]
        if b["datatype"] == XSD_BOOLEAN:  # some stores write 1/0; use the canonical form
            value = {"1": "true", "0": "false"}.get(value, value)
        return ox.Literal(value, datatype=ox.NamedNode(b["datatype"]))
    return ox.Literal(b["value"])


def _own_limits(r: httpx.Response, timeout: float) -> None:
    """Raise QueryTimeout when the store stopped the query at its own time limit, or refused it
    because it estimates it would run past that limit (Virtuoso: 500 ``42000 … The estimated
    execution time … exceeds the limit``).

    Virtuoso answers 500 ``S1T00 … SR171: Transaction timed out`` past its MaxQueryExecutionTime,
    or — for an "anytime" query — 200 with partial rows and ``X-SQL-State: S1TAT``: those rows are
    not the answer, so they are never passed on as if they were.
    """
    state = r.headers.get("x-sql-state", "")
    if state.startswith("S1TAT"):
        raise QueryTimeout(
            f"the backend stopped the query at its own time limit and sent partial rows ({state}: "
            f"{r.headers.get('x-sql-message', '')}); raise its limit (Virtuoso: MaxQueryExecutionTime) "
            f"to at least KG_QUERY_TIMEOUT ({timeout:g} s)"
        )
    if r.status_code >= 500 and "exceeds the limit of" in r.text[:300] and "estimated execution time" in r.text[:300]:
        raise QueryTimeout(
            f"the backend refused the query: it estimates it would run longer than its own limit "
            f"({r.text.strip().splitlines()[0][:200]}; Virtuoso: MaxQueryCostEstimationTime)"
        )
    if r.status_code >= 500 and ("SR171" in r.text or "S1T00" in r.text[:200]):
        raise QueryTimeout(
            f"the backend stopped the query at its own time limit ({r.text.strip().splitlines()[0][:200]}); "
            f"raise its limit (Virtuoso: MaxQueryExecutionTime) to at least KG_QUERY_TIMEOUT ({timeout:g} s)"
        )


def _cut_by_store(r: httpx.Response, rows: int) -> bool:
    """True when the store cut the answer at its own row cap (Virtuoso: ResultSetMaxRows, said in X-SPARQL-MaxRows)."""
    cap = r.headers.get("x-sparql-maxrows", "")
    return cap.isdigit() and rows >= int(cap)


class RemoteEngine:
    """Runs queries on a remote SPARQL endpoint, with the same limits and formats as local workers."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(30.0))  # each query sets its own limit

    async def start(self) -> None:
        try:
            r = await self.client.get(
                self.endpoint,
                params={"query": "ASK {}"},
                headers={"Accept": "application/sparql-results+json"},
                timeout=30,
            )
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"the backend {self.endpoint} does not answer: {exc}") from exc

    async def close(self) -> None:
        await self.client.aclose()

    async def execute(self, request: QueryRequest, timeout: float) -> QueryResult:
        """Run ``request`` remotely; cut rows at the limit; raise QueryTimeout at ``timeout``."""
        start = time.perf_counter()
        bindings = {k: term_from_tuple(v) for k, v in request.bindings.items()}
        query = bind_by_rewriting(request.query, bindings)
        if request.base_iri:  # the remote store has no base parameter: a BASE line (a later BASE wins)
            query = f"BASE <{request.base_iri}>\n{query}"
        params: list[tuple[str, str]] = [("query", query)]
        params += [("default-graph-uri", g) for g in request.default_graphs]
        params += [("named-graph-uri", g) for g in request.named_graphs]
        try:
            r = await self.client.post(
                self.endpoint,
                content=urlencode(params).encode(),
                headers={
                    "Accept": "application/sparql-results+json, text/turtle;q=0.9",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                timeout=timeout,
            )
        except httpx.TimeoutException:
            raise QueryTimeout(f"the backend did not answer within the {timeout:g} s time limit") from None
        except httpx.HTTPError as exc:
            raise EngineUnavailable(f"the backend failed: {exc}") from None
        _own_limits(r, timeout)
        if r.status_code == 400:
            raise QuerySyntaxError(r.text.strip()[:2000])
        if r.status_code >= 300:
            raise QueryError(f"the backend answered {r.status_code}: {r.text.strip()[:500]}")
        media = r.headers.get("content-type", "").split(";")[0].strip()
        limit = request.max_rows
        if "json" in media:
            doc = r.json()
            if "boolean" in doc:
                chosen = _choose(request.accept, SOLUTION_TYPES, CANONICAL["json"], ("json", "xml"))
                fmt = SOLUTION_TYPES[chosen]
                return QueryResult(
                    "ask",
                    CANONICAL[fmt],
                    serialize_boolean(bool(doc["boolean"]), fmt),
                    1,
                    False,
                    time.perf_counter() - start,
                )
            chosen = _choose(request.accept, SOLUTION_TYPES, CANONICAL["json"])
            fmt = SOLUTION_TYPES[chosen]
            variables = doc["head"]["vars"]
            bindings_rows = doc["results"]["bindings"]
            rows = [[_json_term(b[v]) if v in b else None for v in variables] for b in bindings_rows[:limit]]
            truncated = len(bindings_rows) > limit or _cut_by_store(r, len(bindings_rows))
            return QueryResult(
                "select",
                CANONICAL[fmt],
                serialize_solutions(variables, rows, fmt, truncated),
                len(rows),
                truncated,
                time.perf_counter() - start,
            )
        triples = list(ox.parse(r.content, format=ox.RdfFormat.TURTLE))
        chosen = _choose([GRAPH_EQUIVALENTS.get(m, m) for m in request.accept], GRAPH_TYPES, "text/turtle")
        syntax = GRAPH_TYPES[chosen]
        truncated = len(triples) > limit or _cut_by_store(r, len(triples))
        kept = [ox.Triple(q.subject, q.predicate, q.object) for q in triples[:limit]]
        if syntax == ox.RdfFormat.TRIG:
            body = ox.serialize(
                [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in kept], format=syntax
            )
        else:
            body = ox.serialize(kept, format=syntax)
        return QueryResult("graph", chosen, body or b"", len(kept), truncated, time.perf_counter() - start)


__all__ = ["RemoteEngine", "bind_by_rewriting", "NotAcceptable"]
