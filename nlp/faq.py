"""Fuzzy FAQ matching with rapidfuzz.

Questions are normalized once at build time so a lookup is a single ``process.extract`` over
a flat list of variants; typos and word order are absorbed by ``token_set_ratio``-style
scorers rather than by an index, which is fast enough for the few thousand variants a
support team writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from nlp.types import FaqCandidate, FaqEntry

__all__ = ["FaqMatcher", "normalize"]

_NON_WORD = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and squeeze white space."""
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text.casefold())).strip()


class FaqMatcher:
    """Ranks FAQ entries by the best fuzzy score of any of their question variants."""

    def __init__(self, entries: Iterable[FaqEntry], *, limit: int = 3) -> None:
        self._entries = {e.id: e for e in entries}
        self._choices: list[str] = []
        self._owners: list[tuple[str, str]] = []  # (faq id, original variant)
        for entry in self._entries.values():
            for question in entry.questions:
                self._choices.append(normalize(question))
                self._owners.append((entry.id, question))
        self._limit = limit

    def match(self, text: str, *, max_chars: int = 1000) -> tuple[FaqCandidate, ...]:
        query = normalize(text[:max_chars])
        if not query or not self._choices:
            return ()
        scores = _scores(query, self._choices)
        best: dict[str, FaqCandidate] = {}
        for index in np.argsort(-scores, kind="stable")[: self._limit * 4]:
            faq_id, variant = self._owners[int(index)]
            if faq_id not in best:
                entry = self._entries[faq_id]
                best[faq_id] = FaqCandidate(
                    faq_id, variant, entry.answer, round(float(scores[index]) / 100.0, 4)
                )
        ranked = sorted(best.values(), key=lambda c: c.score, reverse=True)
        return tuple(ranked[: self._limit])


def _scores(query: str, choices: list[str]) -> npt.NDArray[np.float64]:
    """Best of three rapidfuzz scorers for every choice, computed in C (no Python callback).

    No partial ratios: they let a short greeting ("hi") match inside a long question
    ("shipping costs"). token_set_ratio still rewards a question asked in fewer words.
    """
    rows = [
        process.cdist([query], choices, scorer=scorer, dtype=np.float64)[0]
        for scorer in (fuzz.ratio, fuzz.token_sort_ratio, fuzz.token_set_ratio)
    ]
    best: npt.NDArray[np.float64] = np.maximum.reduce(rows)
    return best
