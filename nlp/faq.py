"""Fuzzy FAQ matching with rapidfuzz.

Questions are normalized once at build time so a lookup is a single ``process.extract`` over
a flat list of variants; typos and word order are absorbed by ``token_sort_ratio``/``token_set_ratio``
scorers rather than by an index, which is fast enough for the few thousand variants a
support team writes. Each variant is also kept without filler words ("what is your"), so a
terse "retrun policy?" scores against "return policy" rather than the whole sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from nlp.types import FaqCandidate, FaqEntry

__all__ = ["FaqMatcher", "content", "normalize"]

_NON_WORD = re.compile(r"[^\w\s]+", re.UNICODE)
_SPACE = re.compile(r"\s+")
_FILLER_WORDS = (
    "a an the i me my we our you your u r is are am was be do does did can could would will "
    "please pls what how when where which who to of for in on at it this that there hi hello"
)
_FILLER = frozenset(_FILLER_WORDS.split())


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and squeeze white space."""
    return _SPACE.sub(" ", _NON_WORD.sub(" ", text.casefold())).strip()


def content(normalized: str) -> str:
    """The words that carry the question: ``normalized`` without filler words."""
    words = [w for w in normalized.split() if w not in _FILLER]
    return " ".join(words) or normalized


class FaqMatcher:
    """Ranks FAQ entries by the best fuzzy score of any of their question variants."""

    def __init__(self, entries: Iterable[FaqEntry], *, limit: int = 3) -> None:
        self._entries = {e.id: e for e in entries}
        self._choices: list[str] = []
        self._content: list[str] = []
        self._owners: list[tuple[str, str]] = []  # (faq id, original variant)
        for entry in self._entries.values():
            for question in entry.questions:
                self._choices.append(normalize(question))
                self._content.append(content(self._choices[-1]))
                self._owners.append((entry.id, question))
        self._limit = limit

    def match(self, text: str, *, max_chars: int = 1000) -> tuple[FaqCandidate, ...]:
        query = normalize(text[:max_chars])
        if not query or not self._choices:
            return ()
        # Best of the full question and its content words, per variant, computed in C.
        scores = np.maximum(_scores(query, self._choices), _scores(content(query), self._content))
        best: dict[str, FaqCandidate] = {}
        for index in np.argsort(-scores, kind="stable")[: self._limit * 4]:
            faq_id, variant = self._owners[int(index)]
            if faq_id not in best:
                entry = self._entries[faq_id]
                score = round(float(scores[index]) / 100.0, 4)
                best[faq_id] = FaqCandidate(faq_id, variant, entry.answer, score)
        ranked = sorted(best.values(), key=lambda c: c.score, reverse=True)
        return tuple(ranked[: self._limit])


def _scores(query: str, choices: list[str]) -> npt.NDArray[np.float64]:
    """Best of three rapidfuzz scorers for every choice, computed in C (no Python callback).

    No partial ratios (``WRatio`` includes them): they let a short greeting ("hi") match inside a
    long question ("shipping costs") and give every message a high floor. token_set_ratio still
    rewards a question asked in fewer words.
    """
    rows = [
        process.cdist([query], choices, scorer=scorer, dtype=np.float64)[0]
        for scorer in (fuzz.ratio, fuzz.token_sort_ratio, fuzz.token_set_ratio)
    ]
    best: npt.NDArray[np.float64] = np.maximum.reduce(rows)
    return best
