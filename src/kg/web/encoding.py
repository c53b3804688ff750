"""Content coding: when an answer is compressed, and how.

One policy for every response (the edge layer applies it; SPARQL answers apply it to their
cached bytes, so a cache hit is never compressed again):

- only for clients that accept ``gzip`` (``Accept-Encoding``, q > 0);
- only for answers of at least ``MIN_GZIP_BYTES``. Below about one TCP segment (Ethernet's
  maximum segment is 1,460 bytes) an answer arrives in one packet whether compressed or not:
  compressing it saves no round trip and costs the server time. 1,400 bytes leaves room for
  the headers' share of the first segment;
- only for textual media types (RDF, SPARQL results, HTML, JSON, CSV, JavaScript, CSS, SVG);
- at zlib level 6 (zlib's default: about the size of level 9 for SPARQL answers, in a third of
  the time), with a zero timestamp, so the same answer always compresses to the same bytes.
"""

from __future__ import annotations

import zlib

MIN_GZIP_BYTES = 1400
LEVEL = 6
_TEXTUAL_PREFIXES = (b"text/", b"application/")
_TEXTUAL_SUFFIXES = (b"json", b"xml", b"turtle", b"n-triples", b"n-quads", b"trig", b"javascript", b"svg+xml")


class Counter:
    """How many bodies were compressed (for /metrics and tests)."""

    compressions = 0


COUNTER = Counter()


def accepts_gzip(accept_encoding: bytes | None) -> bool:
    """True when an ``Accept-Encoding`` value admits gzip (by name or ``*``) with q > 0."""
    if not accept_encoding:
        return False
    star = False
    for item in accept_encoding.lower().split(b","):
        name, _, params = item.partition(b";")
        name = name.strip()
        if name not in (b"gzip", b"x-gzip", b"*"):
            continue
        q = 1.0
        for param in params.split(b";"):
            key, _, value = param.partition(b"=")
            if key.strip() == b"q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name == b"*":
            star = q > 0
        else:
            return q > 0
    return star


def compressible(content_type: bytes) -> bool:
    """True for textual media types (what compresses well)."""
    media = content_type.split(b";", 1)[0].strip().lower()
    return media.startswith(b"text/") or (
        media.startswith(_TEXTUAL_PREFIXES) and media.endswith(_TEXTUAL_SUFFIXES)
    ) or media == b"image/svg+xml"


def pays(content_type: bytes, length: int | None) -> bool:
    """Whether compressing an answer of this type and length (None: not known ahead) pays: the one
    decision, for the edge layer and for cached SPARQL answers alike."""
    return compressible(content_type) and (length is None or length >= MIN_GZIP_BYTES)


def compressor() -> zlib._Compress:
    """A gzip stream (wbits 31: gzip header and trailer, timestamp zero)."""
    COUNTER.compressions += 1
    return zlib.compressobj(LEVEL, zlib.DEFLATED, 31)


def gzip_bytes(body: bytes) -> bytes:
    """The whole body, gzip-compressed."""
    stream = compressor()
    return stream.compress(body) + stream.flush()
