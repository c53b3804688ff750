"""Normalisation of Japanese text for matching only (labels are never changed)."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def match_key(text: str) -> str:
    """Return ``text`` folded for matching: NFKC (full/half width), case-folded, without spaces."""
    # NFKC again after case folding: folding can produce sequences NFKC composes differently.
    return _SPACES.sub("", unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()))
