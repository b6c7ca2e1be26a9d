"""FAQ matching by meaning: TF-IDF vectors with the intent model's features, nearest example wins.

Why: fuzzy ratios (:mod:`nlp.faq`) compare spellings, so "can i buy a giftcard for my brother"
scores 0.72 against "Can I buy a gift card?" and becomes a ticket. Here each FAQ question and
``examples:`` paraphrase is a vector of the same features the intent classifier uses (words,
bigrams, gapped pairs, character n-grams inside words: :func:`nlp.intent.word_features`,
:func:`nlp.intent.preprocess`), weighted by TF-IDF over the FAQ texts, and a message scores the
cosine of its nearest variant. The vocabulary is fitted when the pipeline is built (a few
milliseconds for a few hundred variants, in the analysis worker), never per message, and
nothing is downloaded. Plain numpy on purpose: serving never imports scikit-learn (nlp._frozen).

Cosines live on another scale than fuzzy ratios, so :func:`calibrate` maps a cosine onto the
FAQ score the rules compare with ``min_score``: the threshold picked on a labelled dev split
(``frontdesk nlu evaluate --task faq``, ``bench/faq_threshold.py``) lands on
:data:`ANSWER_POINT`, the default answer threshold, and the order of scores is kept.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from nlp.intent import preprocess, word_features

__all__ = [
    "ANSWER_POINT",
    "DEFAULT_FUZZY_THRESHOLD",
    "DEFAULT_SIMILARITY_THRESHOLD",
    "FaqVectors",
    "calibrate",
]

ANSWER_POINT = 0.8
"""The FAQ score at which a picked threshold lands: ``bot.faq_threshold`` and the example rules."""

DEFAULT_SIMILARITY_THRESHOLD = 0.28
"""Cosine picked on the dev split of ``bench/data/faq_dev.csv`` (docs/nlp.md, FAQ matching)."""

DEFAULT_FUZZY_THRESHOLD = 0.8
"""Fuzzy ratio picked on the same split; at 0.8 fuzzy scores are reported unchanged."""

_CHARS = (3, 5)


def calibrate(value: float, threshold: float) -> float:
    """Map ``value`` in [0, 1] so ``threshold`` becomes :data:`ANSWER_POINT`, piecewise linearly."""
    if threshold <= 0.0 or threshold >= 1.0:
        return value
    if value <= threshold:
        return ANSWER_POINT * value / threshold
    return ANSWER_POINT + (1.0 - ANSWER_POINT) * (value - threshold) / (1.0 - threshold)


def _features(text: str) -> tuple[list[str], list[str]]:
    """Word features and character n-grams inside word boundaries, as the intent model's."""
    # "?" and "!" help the intent model tell questions from reports; every FAQ is a question, so
    # here they would only make any question look a little like every FAQ.
    words = [g for g in word_features(text) if "?" not in g and "!" not in g]
    chars: list[str] = []
    low, high = _CHARS
    for token in preprocess(text).split():
        padded = f" {token} "
        for n in range(low, high + 1):
            chars.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
    return words, chars


class FaqVectors:
    """Cosine of a message to the nearest variant of each FAQ (one matrix product per batch).

    Args:
        variants: ``(faq id, text)`` pairs: every question and example of every FAQ.
    """

    def __init__(self, variants: Sequence[tuple[str, str]]) -> None:
        self.owners = [faq_id for faq_id, _ in variants]
        docs = [_features(text) for _, text in variants]
        self._vocab: list[dict[str, int]] = [{}, {}]
        frequency: list[Counter[str]] = [Counter(), Counter()]
        for doc in docs:
            for block in (0, 1):
                frequency[block].update(set(doc[block]))
        n = max(1, len(docs))
        self._idf: list[npt.NDArray[np.float32]] = []
        for block in (0, 1):
            vocab = self._vocab[block]
            for gram in sorted(frequency[block]):
                vocab[gram] = len(vocab)
            idf = np.ones(len(vocab), dtype=np.float32)
            for gram, index in vocab.items():
                idf[index] = 1.0 + math.log((1 + n) / (1 + frequency[block][gram]))
            self._idf.append(idf)
        self._idf_values = [[float(x) for x in idf] for idf in self._idf]  # for _sparse, per gram
        self._rarest = 1.0 + math.log(1 + n)  # the idf of a gram no variant has
        self._columns = np.ascontiguousarray(self._vectors(docs).T)  # one row per feature

    def _sparse(
        self, doc: tuple[list[str], list[str]]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Columns and weights of one text, L2-normalised per block; each block weighs half.

        Plain Python over the few dozen grams of a message: numpy's per-call cost on arrays this
        small was most of the time (docs/performance.md)."""
        cols: list[int] = []
        values: list[float] = []
        offset = 0
        rarest = self._rarest**2
        for block in (0, 1):
            vocab, idf = self._vocab[block], self._idf_values[block]
            seen_cols: list[int] = []
            seen_weights: list[float] = []
            square = unseen = 0.0
            for gram, count in Counter(doc[block]).items():
                tf = 1.0 + math.log(count)
                index = vocab.get(gram)
                if index is None:
                    # Unseen grams weigh in the norm (at the rarest weight): a message about
                    # something else is not made similar by the few FAQ words it happens to share.
                    unseen += tf * tf
                    continue
                weight = tf * idf[index]
                seen_cols.append(index + offset)
                seen_weights.append(weight)
                square += weight * weight
            if seen_cols:
                scale = 1.0 / (math.sqrt(square + unseen * rarest) * math.sqrt(2.0))
                cols.extend(seen_cols)
                values.extend(w * scale for w in seen_weights)
            offset += len(vocab)
        return np.array(cols, dtype=np.int64), np.array(values, dtype=np.float32)

    def _vectors(self, docs: Sequence[tuple[list[str], list[str]]]) -> npt.NDArray[np.float32]:
        """One row per text (the variants' matrix), as :meth:`_sparse` weighs them."""
        out = np.zeros((len(docs), sum(len(v) for v in self._vocab)), dtype=np.float32)
        for row, doc in enumerate(docs):
            cols, values = self._sparse(doc)
            out[row, cols] = values
        return out

    def similarities(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Cosine of every text to every variant (rows: texts, columns: variants).

        A message touches a few dozen columns, so each is the product of those columns only.
        """
        out = np.zeros((len(texts), len(self.owners)), dtype=np.float32)
        if not self.owners:
            return out
        for row, text in enumerate(texts):
            cols, values = self._sparse(_features(text))
            if cols.size:
                out[row] = self._columns[cols].T @ values
        result: npt.NDArray[np.float32] = np.clip(out, 0.0, 1.0)
        return result
