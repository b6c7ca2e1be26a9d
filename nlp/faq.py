"""Fuzzy FAQ matching with rapidfuzz.

Questions are normalized once at build time so a lookup is one ``process.cdist`` per scorer
over a flat list of variants (for a whole batch of messages at once); typos and word order are
absorbed by ``token_sort_ratio``/``token_set_ratio`` scorers rather than by an index, which is
fast enough for the few thousand variants a support team writes. Each variant is also kept
without filler words ("what is your"), so a terse "retrun policy?" scores against "return
policy" rather than the whole sentence.

Paraphrases that share meaning but not spelling are caught by :mod:`nlp.faq_similarity` (the
intent model's features, cosine to the nearest question or example). An FAQ's score is the best
of the two, each calibrated so the threshold picked on the dev split lands on the same answer
point (:func:`nlp.faq_similarity.calibrate`).

An FAQ written in several languages (:attr:`nlp.types.FaqEntry.translations`) keeps each
language's variants apart: the meaning score uses one vector space per language, so a
translation leaves the other languages' cosines as they were, and a message is compared only
with the variants of the languages it may be in (``languages``: its detected language, else the
channel's hint and the default), so each language written costs nothing on the others'
messages. The candidate's answer is the FAQ's first language's; the rules pick the
conversation's language (:mod:`rules.actions`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from nlp.faq_similarity import (
    ANSWER_POINT,
    DEFAULT_FUZZY_THRESHOLD,
    DEFAULT_SIMILARITY_THRESHOLD,
    FaqVectors,
)
from nlp.types import FaqCandidate, FaqEntry

__all__ = ["FaqMatcher", "FaqScores", "content", "normalize"]

FaqScores = tuple[list[str], npt.NDArray[np.float64], npt.NDArray[np.float64]]
"""FAQ ids, and per text and FAQ the raw fuzzy ratio and cosine (both 0..1) of its best variant."""

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

    def __init__(
        self,
        entries: Iterable[FaqEntry],
        *,
        limit: int = 3,
        fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
        similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
        default_language: str = "en",
    ) -> None:
        self._entries = {e.id: e for e in entries}
        self._default = default_language
        self._choices: list[str] = []
        self._content: list[str] = []
        self._owners: list[tuple[str, str]] = []  # (faq id, original variant)
        by_language: dict[str, list[int]] = {}  # the variants' columns per language
        for entry in self._entries.values():
            for language, question in entry.variants():
                by_language.setdefault(language or default_language, []).append(len(self._owners))
                self._choices.append(normalize(question))
                self._content.append(content(self._choices[-1]))
                self._owners.append((entry.id, question))
        # One vector space per language: a language's rare words are weighed among its own
        # questions, and adding a translation leaves the other languages' scores as they were.
        self._spaces = {
            language: _Space(
                np.array(columns),
                [self._choices[c] for c in columns],
                [self._content[c] for c in columns],
                FaqVectors([self._owners[c] for c in columns]),
            )
            for language, columns in by_language.items()
        }
        self._limit = limit
        self._fuzzy_threshold = fuzzy_threshold
        self._similarity_threshold = similarity_threshold

    def match(
        self, text: str, *, max_chars: int = 1000, languages: Collection[str] | None = None
    ) -> tuple[FaqCandidate, ...]:
        searched = None if languages is None else [languages]
        return self.match_many([text], max_chars=max_chars, languages=searched)[0]

    def match_many(
        self,
        texts: Sequence[str],
        *,
        max_chars: int = 1000,
        languages: Sequence[Collection[str]] | None = None,
    ) -> list[tuple[FaqCandidate, ...]]:
        """``[match(t) for t in texts]``: one rapidfuzz call per scorer and language searched.

        ``languages[i]``: the languages ``texts[i]`` may be in; only those languages' variants
        are compared (all of them when none of those is written, or ``languages`` is None)."""
        queries = [normalize(text[:max_chars]) for text in texts]
        results: list[tuple[FaqCandidate, ...]] = [()] * len(queries)
        live = [i for i, query in enumerate(queries) if query]
        if not live or not self._choices:
            return results
        groups: dict[tuple[str, ...], list[int]] = {}
        for i in live:
            groups.setdefault(self._searched(None if languages is None else languages[i]), []).append(i)
        for searched, members in groups.items():
            columns, fuzzy, similar = self._variant_scores(
                [queries[i] for i in members], [texts[i][:max_chars] for i in members], searched
            )
            scores = np.maximum(
                _calibrated(fuzzy / 100.0, self._fuzzy_threshold),
                _calibrated(similar, self._similarity_threshold),
            )
            orders = np.argsort(-scores, axis=1, kind="stable")[:, : self._limit * 4]
            for i, row, order in zip(members, scores.tolist(), orders.tolist(), strict=True):
                results[i] = self._rank(row, order, columns)
        return results

    def _searched(self, languages: Collection[str] | None) -> tuple[str, ...]:
        """The written languages among ``languages``, in a stable order; all when none is."""
        if languages is not None:
            found = tuple(sorted(code for code in set(languages) if code in self._spaces))
            if found:
                return found
        return tuple(sorted(self._spaces))

    def _variant_scores(
        self, queries: list[str], texts: Sequence[str], languages: tuple[str, ...]
    ) -> tuple[list[int], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The variants of ``languages`` (their columns), and the raw fuzzy ratio (0..100) and
        cosine (0..1) of every text to each of them."""
        spaces = [self._spaces[code] for code in languages]
        # Best of the full question and its content words, per variant, computed in C.
        contents = [content(q) for q in queries]
        fuzzy = np.hstack(
            [np.maximum(_scores(queries, s.choices), _scores(contents, s.content)) for s in spaces]
        )
        similar = np.hstack([s.vectors.similarities(texts) for s in spaces]).astype(np.float64)
        columns = [int(c) for s in spaces for c in s.columns]
        return columns, fuzzy, similar

    def raw_scores(self, texts: Sequence[str], *, max_chars: int = 1000) -> FaqScores:
        """Per text and FAQ, the best raw score of each method (for picking thresholds on a dev set)."""
        ids = list(self._entries)
        fuzzy_out = np.zeros((len(texts), len(ids)))
        similar_out = np.zeros((len(texts), len(ids)))
        queries = [normalize(text[:max_chars]) for text in texts]
        live = [i for i, query in enumerate(queries) if query]
        if not live or not self._choices:
            return ids, fuzzy_out, similar_out
        columns, fuzzy, similar = self._variant_scores(
            [queries[i] for i in live], [texts[i][:max_chars] for i in live], self._searched(None)
        )
        column = {faq_id: j for j, faq_id in enumerate(ids)}
        for v, owner in enumerate(columns):
            j = column[self._owners[owner][0]]
            fuzzy_out[live, j] = np.maximum(fuzzy_out[live, j], fuzzy[:, v] / 100.0)
            similar_out[live, j] = np.maximum(similar_out[live, j], similar[:, v])
        return ids, fuzzy_out, similar_out

    def _rank(self, scores: list[float], order: list[int], columns: list[int]) -> tuple[FaqCandidate, ...]:
        best: dict[str, FaqCandidate] = {}
        for index in order:
            faq_id, variant = self._owners[columns[index]]
            if faq_id not in best:
                entry = self._entries[faq_id]
                best[faq_id] = FaqCandidate(faq_id, variant, entry.answer, round(scores[index] / 100.0, 4))
        ranked = sorted(best.values(), key=lambda c: c.score, reverse=True)
        return tuple(ranked[: self._limit])


@dataclass(frozen=True, slots=True)
class _Space:
    """One language's variants: their columns among all variants, their texts, their vectors."""

    columns: npt.NDArray[np.int64]
    choices: list[str]
    content: list[str]
    vectors: FaqVectors


def _calibrated(unit: npt.NDArray[np.float64], threshold: float) -> npt.NDArray[np.float64]:
    """:func:`nlp.faq_similarity.calibrate` over a matrix of raw 0..1 scores, as 0..100."""
    if threshold <= 0.0 or threshold >= 1.0:
        return unit * 100.0
    low = unit * (ANSWER_POINT / threshold)
    high = ANSWER_POINT + (1.0 - ANSWER_POINT) * (unit - threshold) / (1.0 - threshold)
    result: npt.NDArray[np.float64] = np.where(unit <= threshold, low, high) * 100.0
    return result


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
