"""What a query text looks like, read without running it: nesting, forbidden keywords, bounded lookups.

A *bounded lookup* is a query whose cost cannot grow beyond the links of the entities it names:
SELECT or ASK over at most ``MAX_PATTERNS`` triple patterns whose subjects are all given IRIs
(no variables as subjects, no paths, filters, sub-queries, unions, aggregates, services), or
``DESCRIBE`` of given IRIs. Such a query may run inside the server process; anything else runs
where a deadline can stop it. The check is conservative: whatever it does not recognise is not
a lookup.
"""

from __future__ import annotations

import re

from .types import QueryRefused, QueryTooDeep

FORBIDDEN_KEYWORDS = ("SERVICE",)
_LEXICAL_NOISE = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\s]*>"
    r"|#[^\n]*",
)
MAX_PATTERNS = 2


def forbidden_keyword(query: str, code: str | None = None) -> str | None:
    """Return the first forbidden keyword (SERVICE) used as a keyword in ``query``, if any.

    Strings, IRIs and comments are removed first, so a keyword inside them does not count;
    prefixed names and variables are not keywords.
    """
    if code is None:
        code = _LEXICAL_NOISE.sub(" ", query)
    for word in FORBIDDEN_KEYWORDS:
        if re.search(rf"(?<![\w:?$\-]){word}(?![\w:\-])", code, re.I):
            return word
    return None


_UPDATE_RE = re.compile(
    r"^\s*(?:(?:PREFIX\s+[\w.-]*:\s*<[^>]*>|BASE\s+<[^>]*>)\s*)*"
    r"(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b",
    re.I,
)


MAX_NESTING = 100
"""How deep a query may nest: brackets of any kind (groups, sub-queries, OPTIONAL/MINUS/UNION
blocks, parentheses of expressions, paths and collections, blank-node brackets) and chains of
unary operators (``! ! !``, ``- - -``). The engine's parser recurses once per level and crashes
its process (SIGSEGV) at a few thousand; no query written by a person or a tool comes near 100."""
_OPEN, _CLOSE, _UNARY = "{([", "})]", "!+-"


def nesting_depth(query: str) -> int:
    """Return the deepest nesting of ``query``: brackets, or a chain of unary operators (strings,
    IRIs and comments do not count)."""
    return _depth(_LEXICAL_NOISE.sub(" ", query))


def _depth(code: str) -> int:
    """The deepest nesting of query text whose strings, IRIs and comments are blanked."""
    depth = deepest = chain = 0
    for ch in code:
        if ch in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
        if ch in _UNARY:
            chain += 1
            deepest = max(deepest, chain)
        elif not ch.isspace():
            chain = 0
    return deepest


def check_nesting(query: str, limit: int = MAX_NESTING, code: str | None = None) -> None:
    """Refuse a query nested deeper than ``limit`` (QueryTooDeep: 400), before any engine parses it.

    ``code`` is the text with strings, IRIs and comments blanked, when the caller has it already.
    """
    if code is None:
        code = _LEXICAL_NOISE.sub(" ", query)
    if sum(map(code.count, _OPEN)) <= limit and sum(map(code.count, _UNARY)) <= limit:
        return  # fewer brackets and unary operators in all than the limit: no need to follow them
    depth = _depth(code)
    if depth > limit:
        raise QueryTooDeep(
            f"the query nests {depth} levels deep (brackets or unary operators); at most {limit} are accepted"
        )


def check_query(query: str) -> None:
    """The rules of every query anyone writes, on the web and on the command line: nested at most
    ``MAX_NESTING`` levels (400), read-only and not federated (403)."""
    code = _LEXICAL_NOISE.sub(" ", query)  # once, for both checks
    check_nesting(query, code=code)
    check_read_only(query, code=code)


def check_read_only(query: str, code: str | None = None) -> None:
    """Refuse updates and federated queries before anything runs (QueryRefused: 403 on the web).

    The rule of every query anyone writes, on the web and on the command line alike.
    """
    if _UPDATE_RE.match(query):
        raise QueryRefused(
            "this endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, "
            "CREATE, DROP, COPY, MOVE, ADD) is not accepted"
        )
    word = forbidden_keyword(query, code)
    if word:
        raise QueryRefused(f"{word} (federated query) is disabled: this endpoint never makes outbound requests")


_WS = r"(?:\s|#[^\n]*(?:\n|$))*"
_IRI = r"<[^<>\"{}|^`\\\s]*>"
_PNAME = r"(?:[A-Za-z][\w.-]*)?:[\w-]*(?:[\w.-]*[\w-])?"
_CONST = rf"(?:{_IRI}|{_PNAME})"
_VAR = r"[?$][A-Za-z_][A-Za-z0-9_]*"
_LITERAL = r'"(?:[^"\\\n]|\\.)*"(?:@[A-Za-z]+(?:-[A-Za-z0-9]+)*|\^\^' + _CONST + r")?|[+-]?\d+(?:\.\d+)?"
_PROLOGUE = rf"(?:{_WS}(?:PREFIX{_WS}{_PNAME}{_WS}{_IRI}|BASE{_WS}{_IRI}))*{_WS}"
_TRIPLE = rf"{_CONST}{_WS}(?:{_VAR}|{_CONST}|a){_WS}(?:{_VAR}|{_CONST}|{_LITERAL})"
_PATTERNS = rf"{_TRIPLE}(?:{_WS}\.{_WS}{_TRIPLE})*(?:{_WS}\.)?"
_MODIFIERS = rf"(?:{_WS}ORDER{_WS}BY(?:{_WS}(?:{_VAR}|(?:ASC|DESC){_WS}\({_WS}{_VAR}{_WS}\)))+)?" + (
    rf"(?:{_WS}(?:LIMIT|OFFSET){_WS}\d+){{0,2}}"
)
_LOOKUP = re.compile(
    rf"^{_PROLOGUE}"
    rf"(?:SELECT{_WS}(?:(?:DISTINCT|REDUCED){_WS})?(?:\*|{_VAR}(?:{_WS}{_VAR})*)|ASK)"
    rf"{_WS}(?:WHERE{_WS})?\{{{_WS}(?P<patterns>{_PATTERNS}){_WS}\}}{_MODIFIERS}{_WS}$",
    re.I,
)
_DESCRIBE = re.compile(rf"^{_PROLOGUE}DESCRIBE(?:{_WS}{_CONST})+{_WS}$", re.I)
_TRIPLE_RE = re.compile(_TRIPLE)


def is_bounded_lookup(query: str, max_patterns: int = MAX_PATTERNS) -> bool:
    """True when ``query`` can only read the links of the IRIs it names (see the module text)."""
    if len(query) > 4000:
        return False
    if _DESCRIBE.match(query):
        return True
    m = _LOOKUP.match(query)
    if not m:
        return False
    return len(_TRIPLE_RE.findall(m.group("patterns"))) <= max_patterns


_SHAPE_NOISE = re.compile(
    r'(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')'
    r"|(?P<iri><[^<>\"{}|^`\\\s]*>)"
    r"|(?P<comment>#[^\n]*)"
    r"|(?P<var>[?$][A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>(?<![\w:])[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)"
    r"|(?P<space>\s+)"
)
_SHAPE_TOKENS = {"string": '""', "iri": "<>", "comment": " ", "var": "?v", "number": "0", "space": " "}


def shape_of(query: str) -> str:
    """Return the query's shape: its text with literals, IRIs, numbers and variable names blanked,
    comments dropped and case folded, so that queries that differ only in those share a shape."""
    return _SHAPE_NOISE.sub(lambda m: _SHAPE_TOKENS[m.lastgroup or "space"], query).strip().lower()
