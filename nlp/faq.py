"""Fuzzy FAQ matching with rapidfuzz.

Questions are normalized once at build time so a lookup is one ``process.cdist`` per scorer
over a flat list of variants (for a whole batch of messages at once); typos and word order are
absorbed by ``token_sort_ratio``/``token_set_ratio`` scorers rather than by an index, which is
fast enough for the few thousand variants a support team writes. Each variant is also kept
without filler words ("what is your"), so a terse "retrun policy?" scores against "return
policy" rather than the whole sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

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
        return self.match_many([text], max_chars=max_chars)[0]

    def match_many(self, texts: Sequence[str], *, max_chars: int = 1000) -> list[tuple[FaqCandidate, ...]]:
        """``[match(t) for t in texts]``: one rapidfuzz call per scorer for the whole batch."""
        queries = [normalize(text[:max_chars]) for text in texts]
        results: list[tuple[FaqCandidate, ...]] = [()] * len(queries)
        live = [i for i, query in enumerate(queries) if query]
        if not live or not self._choices:
            return results
        asked = [queries[i] for i in live]
        # Best of the full question and its content words, per variant, computed in C.
        scores = np.maximum(
            _scores(asked, self._choices), _scores([content(q) for q in asked], self._content)
        )
        orders = np.argsort(-scores, axis=1, kind="stable")[:, : self._limit * 4]
        for i, row, order in zip(live, scores.tolist(), orders.tolist(), strict=True):
            results[i] = self._rank(row, order)
        return results

    def _rank(self, scores: list[float], order: list[int]) -> tuple[FaqCandidate, ...]:
        best: dict[str, FaqCandidate] = {}
        for index in order:
            faq_id, variant = self._owners[index]
            if faq_id not in best:
                entry = self._entries[faq_id]
                best[faq_id] = FaqCandidate(faq_id, variant, entry.answer, round(scores[index] / 100.0, 4))
        ranked = sorted(best.values(), key=lambda c: c.score, reverse=True)
        return tuple(ranked[: self._limit])


def _scores(queries: list[str], choices: list[str]) -> npt.NDArray[np.float64]:
    """Best of three rapidfuzz scorers for every query and choice, computed in C (no Python callback).

    No partial ratios (``WRatio`` includes them): they let a short greeting ("hi") match inside a
    long question ("shipping costs") and give every message a high floor. token_set_ratio still
    rewards a question asked in fewer words. ``token_ratio`` is the best of token_sort_ratio and
    token_set_ratio in one pass (a test pins it to the two), so two calls score all three.
    """
    full = process.cdist(queries, choices, scorer=fuzz.ratio, dtype=np.float64, workers=1)
    tokens = process.cdist(queries, choices, scorer=fuzz.token_ratio, dtype=np.float64, workers=1)
    best: npt.NDArray[np.float64] = np.maximum(full, tokens)
    return best
