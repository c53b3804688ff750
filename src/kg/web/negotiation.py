"""Content negotiation: Accept parsing with q-values and the ``format=`` override."""

from __future__ import annotations

from functools import lru_cache

# ``format=`` values: our short names, and the ones SPARQLWrapper sends by default (it repeats them
# as ``output=`` and ``results=``, and for some adds a second ``format=`` with its Accept list).
# A name may stand for several media types; the query form and Accept pick among them.
FORMAT_ALIASES: dict[str, tuple[str, ...]] = {
    "json": ("application/sparql-results+json",),
    "srj": ("application/sparql-results+json",),
    "xml": ("application/sparql-results+xml",),  # RDF/XML for CONSTRUCT and DESCRIBE (results.GRAPH_EQUIVALENTS)
    "srx": ("application/sparql-results+xml",),
    "csv": ("text/csv",),
    "tsv": ("text/tab-separated-values",),
    "turtle": ("text/turtle",),
    "ttl": ("text/turtle",),
    # Turtle and N-Triples are subsets of N3, so an N3 client can read either.
    "n3": ("text/n3", "text/turtle", "application/n-triples"),
    "ntriples": ("application/n-triples",),
    "nt": ("application/n-triples",),
    "n-triples": ("application/n-triples",),
    "jsonld": ("application/ld+json",),
    "json-ld": ("application/ld+json",),
    "rdfxml": ("application/rdf+xml",),
    "rdf": ("application/rdf+xml",),
    "rdf+xml": ("application/rdf+xml",),
    "trig": ("application/trig",),
    "html": ("text/html",),
}
# Media types a ``format=`` value may name directly (others in it are ignored, not refused).
KNOWN_TYPES = frozenset(
    [media for aliases in FORMAT_ALIASES.values() for media in aliases]
    + ["application/json", "application/xml", "application/xhtml+xml", "application/turtle",
       "application/x-turtle", "text/rdf+n3", "application/n3", "application/x-json+ld"]
)
RDF_TYPES = ("text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml", "application/trig")
SUFFIX_FOR = {
    "text/turtle": "ttl",
    "application/n-triples": "nt",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdf",
    "application/trig": "trig",
}


def parse_accept(header: str | None) -> list[str]:
    """Return media types from an Accept header, best first (q=0 dropped; ties keep order)."""
    if not header:
        return ["*/*"]
    if len(header) > 200:  # clients send a handful of Accept headers: remember short ones
        return list(_parse_accept(header))
    return list(_parse_accept_remembered(header))


def _parse_accept(header: str) -> tuple[str, ...]:
    entries = []
    for index, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            specificity = 0 if media == "*/*" else 1 if media.endswith("/*") else 2
            entries.append((-q, -specificity, index, media))
    return tuple(m for *_, m in sorted(entries)) or ("*/*",)


_parse_accept_remembered = lru_cache(maxsize=256)(_parse_accept)


def requested_types(accept: str | None, format_values: str | list[str] | None) -> list[str]:
    """Return acceptable media types, best first.

    ``format=`` (repeatable; each value a short name, a media type or a comma-separated list of
    them) overrides Accept: its types come first, in the order Accept ranks them where it names
    them. A value we do not know is ignored, so a request whose ``format=`` names nothing we know
    is negotiated by Accept alone (and gets 406 only when nothing acceptable is available).
    """
    named = _format_types(tuple([format_values] if isinstance(format_values, str) else format_values or ()))
    types = parse_accept(accept)
    if not named:
        return types
    ranked = [media for media in types if media in named]
    return ranked + [media for media in named if media not in ranked]


@lru_cache(maxsize=256)
def _format_types(values: tuple[str, ...]) -> tuple[str, ...]:
    named: list[str] = []
    for value in values:
        for token in value.split(","):
            key = token.split(";")[0].strip().lower()
            for media in FORMAT_ALIASES.get(key, (key,) if key in KNOWN_TYPES else ()):
                if media not in named:
                    named.append(media)
    return tuple(named)


def prefers_html(types: list[str]) -> bool:
    """True when text/html is acceptable and ranked before every RDF or results type."""
    for media in types:
        if media in ("text/html", "application/xhtml+xml"):
            return True
        if media == "*/*" or media in RDF_TYPES or media.startswith("application/sparql-results"):
            return False
    return False


def choose_rdf(types: list[str], default: str = "text/turtle") -> str | None:
    """Return the best RDF media type, or None when none is acceptable."""
    for media in types:
        if media == "*/*" or media in ("text/*", "application/*"):
            return (
                default
                if media == "*/*" or default.startswith(media[:-1])
                else next(t for t in RDF_TYPES if t.startswith(media[:-1]))
            )
        if media in RDF_TYPES:
            return media
    return None


def preferred_language(header: str | None, available: tuple[str, ...] = ("ja", "en")) -> str:
    """Return the page language from Accept-Language (ja by default)."""
    for media in parse_accept(header):
        tag = media.split("-")[0]
        if tag in available:
            return tag
    return available[0]
