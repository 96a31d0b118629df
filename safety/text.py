"""Text as the detectors read it: one normal form, and a long message cut into the parts that are
scored on their own, so a disclosure inside a question or a form answer counts."""
from __future__ import annotations

import re
import unicodedata
from typing import List

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+|\s+(?:but|because|cos|coz|tho|though|although|and then)\s+")
_WINDOW, _STRIDE = 14, 7  # words, for long messages typed without punctuation


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'")
    text = re.sub(r"[^\w\s'/-]", " ", text)
    return " ".join(text.split())


def parts(text: str) -> List[str]:
    """The whole message, then each sentence or clause, then word windows over long stretches."""
    whole = normalise(text)
    if not whole:
        return []
    pieces = [normalise(p) for p in _SENTENCE_END.split(unicodedata.normalize("NFKC", text))]
    pieces = [p for p in pieces if p and p != whole]
    windows: List[str] = []
    for piece in pieces or [whole]:
        words = piece.split()
        if len(words) > 2 * _WINDOW:
            windows += [" ".join(words[i : i + _WINDOW]) for i in range(0, len(words) - _STRIDE, _STRIDE)]
    seen, out = set(), []
    for p in [whole, *pieces, *windows]:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out
