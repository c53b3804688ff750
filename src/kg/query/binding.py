"""Bound parameters that the engine's planner can see.

Saved-query parameters are bound by SEP-0007 substitution (``Store.query(substitutions=…)``), which
pyoxigraph applies when it *evaluates* the plan: the planner still sees the parameter as a free
variable, estimates ``?measure kgo:measureOf ?plan`` as a scan of every measure, and may then
evaluate an OPTIONAL, MINUS or sub-select over the whole store and join it by hashing (minutes on
the 1M synthetic edition). ``values_first`` also states the bound values as a one-row ``VALUES``
block at the start of the outermost WHERE group, so the planner starts its joins from them
(parameters bind first). The substitution still binds them everywhere (sub-selects included), so
the answer is the one SEP-0007 defines; the VALUES row holds the same terms, so it removes no
solution and adds none.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

# Strings, IRIs and comments are skipped; the first WHERE and the brace after it are found outside them.
_TOKENS = re.compile(
    r'(?P<skip>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*)'
    r"|(?P<where>\bWHERE\b)|(?P<brace>\{)",
    re.I,
)


def values_first(query: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """Return ``query`` with ``VALUES (?p …) { (term …) }`` first in its outermost WHERE group.

    The query is returned unchanged without bindings or when it has no ``WHERE {`` (the keyword
    is optional in SPARQL; every saved query writes it).
    """
    if not bindings:
        return query
    seen_where = False
    for m in _TOKENS.finditer(query):
        if m.group("skip"):
            continue
        if m.group("where"):
            seen_where = True
            continue
        if m.group("brace") and seen_where:
            names = " ".join(f"?{name}" for name in bindings)
            terms = " ".join(str(term) for term in bindings.values())
            return f"{query[: m.end()]} VALUES ({names}) {{ ({terms}) }}{query[m.end() :]}"
        if m.group("brace"):
            return query  # a brace before any WHERE: a form without the keyword
    return query
