"""Normalisation of Japanese text for matching only (labels are never changed)."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_LATIN_MARKS = re.compile("[\u0300-\u036f]")  # accents and macrons of romanised names (Chūō → Chuo)
# Katakana ァ … ヴ → hiragana ぁ … ゔ, so that readings match in either script (タイトウ = たいとう).
# ヵ and ヶ are kept: in place names ヶ reads "ga" (青ヶ島).
_KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F5)}


def _fold(text: str) -> str:
    key = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    key = _LATIN_MARKS.sub("", unicodedata.normalize("NFKD", key))
    return _SPACES.sub("", unicodedata.normalize("NFKC", key).translate(_KATAKANA))


def match_key(text: str) -> str:
    """Return ``text`` folded for matching: NFKC (full/half width), case-folded, without spaces,
    Latin accents dropped and katakana read as hiragana."""
    # Repeated to a fixed point: case folding, and dropping a space before a combining mark,
    # can each make a sequence that NFKC composes differently (e.g. "o \u0304" -> "ō").
    key = text
    for _ in range(8):
        folded = _fold(key)
        if folded == key:
            break
        key = folded
    return key
