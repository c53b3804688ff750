"""Normalisation of Japanese text for matching only (labels are never changed)."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def match_key(text: str) -> str:
    """Return ``text`` folded for matching: NFKC (full/half width), case-folded, without spaces."""
    # Repeated to a fixed point: case folding, and dropping a space before a combining mark,
    # can each make a sequence that NFKC composes differently (e.g. "o \u0304" -> "ō").
    key = text
    for _ in range(8):
        folded = _SPACES.sub("", unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", key).casefold()))
        if folded == key:
            break
        key = folded
    return key
