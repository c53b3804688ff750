"""Saved SPARQL queries: ``queries/*.rq`` files with a YAML header in ``#+`` comment lines.

Header keys: ``title`` (ja/en), ``description`` (ja/en or text), ``tags``, ``params``, and
``precompute`` (why the answer with the default parameters is computed once per on-disk store,
:mod:`kg.query.precomputed`).
Each parameter has ``type`` (string | search | integer | year | iri | municipality-code | law;
``search`` text is folded like ``kgo:searchKey``),
``default`` and ``description``. Parameter values are bound as RDF terms (SEP-0007
substitution); the variable must appear in the SELECT projection.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import yaml

from ..dates import is_valid_code6
from ..namespaces import XSD, entity
from ..text import match_key

PARAM_TYPES = ("string", "search", "integer", "year", "iri", "municipality-code", "law")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class QueryDefinitionError(Exception):
    """A saved query file is malformed (the message names the file)."""


class ParameterError(ValueError):
    """A parameter value is missing or of the wrong type (the message names it)."""


@dataclass(frozen=True)
class Param:
    """A typed parameter of a saved query."""

    name: str
    type: str
    default: str | None
    description: str

    def bind(self, raw: str) -> ox.NamedNode | ox.Literal:
        """Return the RDF term for ``raw`` or raise ParameterError."""
        if self.type in ("integer", "year"):
            text = unicodedata.normalize("NFKC", raw).strip()
            if not re.fullmatch(r"-?\d{1,9}", text):
                raise ParameterError(f"parameter '{self.name}': {raw!r} is not an integer")
            if self.type == "year":
                return ox.Literal(text, datatype=ox.NamedNode(f"{XSD}gYear"))
            return ox.Literal(text, datatype=ox.NamedNode(f"{XSD}integer"))
        if self.type == "municipality-code":
            text = unicodedata.normalize("NFKC", raw).strip()
            if not is_valid_code6(text):
                raise ParameterError(
                    f"parameter '{self.name}': {raw!r} is not a 6-digit local government code with a valid check digit"
                )
            return ox.NamedNode(str(entity("municipality", text)))
        if self.type == "law":
            if not NAME_RE.match(raw):
                raise ParameterError(f"parameter '{self.name}': {raw!r} is not a law id")
            return ox.NamedNode(str(entity("law", raw)))
        if self.type == "iri":
            if not re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+", raw):
                raise ParameterError(f"parameter '{self.name}': {raw!r} is not an http(s) IRI")
            return ox.NamedNode(raw)
        if len(raw) > 1000:
            raise ParameterError(f"parameter '{self.name}': longer than 1000 characters")
        if self.type == "search":
            key = match_key(raw)
            if not key:
                raise ParameterError(f"parameter '{self.name}': empty after removing spaces")
            return ox.Literal(key)
        return ox.Literal(raw)


@dataclass(frozen=True)
class SavedQuery:
    """A saved query with its metadata."""

    name: str
    path: Path
    text: str
    title: dict[str, str]
    description: dict[str, str]
    tags: tuple[str, ...]
    params: tuple[Param, ...] = field(default=())
    # Why its answer (with the default parameters) is computed once per on-disk store; "" = run each time
    precompute: str = ""

    def bindings(self, values: dict[str, str]) -> dict[str, ox.NamedNode | ox.Literal]:
        """Return RDF terms for every parameter (given value or default)."""
        unknown = set(values) - {p.name for p in self.params}
        if unknown:
            raise ParameterError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
        out = {}
        for p in self.params:
            raw = values.get(p.name, p.default)
            if raw is None or raw == "":
                raise ParameterError(f"parameter '{p.name}' is required")
            out[p.name] = p.bind(str(raw))
        return out


def _lang_map(value: object, path: Path, key: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value, "ja": value}
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {str(k): v for k, v in value.items()}
    raise QueryDefinitionError(f"{path}: '{key}' must be text or a map of language → text")


def _precompute(value: object, path: Path, text: str) -> str:
    """The header's ``precompute`` reason (text), on a SELECT query only."""
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise QueryDefinitionError(f"{path}: 'precompute' must say why (text)")
    if not re.search(r"^\s*SELECT\b", "\n".join(ln for ln in text.splitlines() if not ln.startswith("#")), re.I | re.M):
        raise QueryDefinitionError(f"{path}: only a SELECT query can be precomputed")
    return value.strip()


def parse_saved_query(path: Path) -> SavedQuery:
    """Parse one ``.rq`` file; raise QueryDefinitionError naming the file and problem."""
    text = path.read_text(encoding="utf-8")
    header = "\n".join(
        line[3:] if line.startswith("#+ ") else line[2:] for line in text.splitlines() if line.startswith("#+")
    )
    try:
        meta = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        raise QueryDefinitionError(f"{path}: bad YAML header: {exc}") from None
    if not isinstance(meta, dict) or "title" not in meta:
        raise QueryDefinitionError(f"{path}: header needs at least a 'title'")
    title = _lang_map(meta["title"], path, "title")
    if not {"ja", "en"} <= set(title):
        raise QueryDefinitionError(f"{path}: title needs ja and en")
    params = []
    for name, spec in (meta.get("params") or {}).items():
        spec = spec or {}
        if spec.get("type", "string") not in PARAM_TYPES:
            raise QueryDefinitionError(f"{path}: parameter '{name}' has unknown type {spec.get('type')!r}")
        default = spec.get("default")
        params.append(
            Param(
                str(name),
                spec.get("type", "string"),
                None if default is None else str(default),
                str(spec.get("description", "")),
            )
        )
    query = SavedQuery(
        name=str(meta.get("name", path.stem)),
        path=path,
        text=text,
        title=title,
        description=_lang_map(meta.get("description", ""), path, "description"),
        tags=tuple(str(t) for t in meta.get("tags", [])),
        params=tuple(params),
        precompute=_precompute(meta.get("precompute"), path, text),
    )
    if not NAME_RE.match(query.name):
        raise QueryDefinitionError(f"{path}: name {query.name!r} is not lower-case-hyphenated")
    try:
        parsed = ox.Store().query  # syntax check without data
        for p in params:  # substitution needs the variable in the projection
            if not re.search(rf"SELECT[^{{]*\?{re.escape(p.name)}\b", text, re.S | re.I):
                raise QueryDefinitionError(f"{path}: parameter ?{p.name} must be in the SELECT projection")
        parsed(text)
    except SyntaxError as exc:
        raise QueryDefinitionError(f"{path}: SPARQL syntax error: {exc}") from None
    return query


def load_saved_queries(queries_dir: Path) -> dict[str, SavedQuery]:
    """Return every saved query in ``queries_dir`` by name (sorted)."""
    out: dict[str, SavedQuery] = {}
    for path in sorted(queries_dir.glob("*.rq")):
        q = parse_saved_query(path)
        if q.name in out:
            raise QueryDefinitionError(f"{path}: name {q.name!r} is already used by {out[q.name].path}")
        out[q.name] = q
    return out
