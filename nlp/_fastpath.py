"""TF-IDF rows for messages scored one at a time, without scikit-learn's per-call overhead.

``TfidfVectorizer.transform`` validates its input and builds a sparse matrix on every call,
which costs far more than the arithmetic for one short message. :class:`FeatureRows`
re-implements it for the settings :class:`~nlp.intent.IntentClassifier` fits (sublinear tf,
idf, l2 norm per block), and is pinned to scikit-learn by a test.

The rows are bit-for-bit what the first fast path computed, so a message gets the same
floats whether it is analysed alone or in a batch: the n-gram columns come out in the order
the analyzers emit them, and every reduction (the l2 norm, the dot products with the weights)
still runs on one message's row. Only element-wise steps (log, idf, product) run on the whole
batch at once. What makes it cheaper: the message is preprocessed once for both blocks (and for
the known-word check), and each word's character n-gram columns are computed once and cached.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

import numpy as np

__all__ = ["FeatureRows", "Row"]

Row = tuple[Any, Any]
"""(column indices int64, values float32) of one message's non-zero features."""

_CACHE_WORDS = 20_000  # distinct words whose char n-gram columns are kept (a few MB at most)


class FeatureRows:
    """Compiled from a fitted ``FeatureUnion`` of TF-IDF vectorizers; safe to share between threads.

    Args:
        features: the fitted ``FeatureUnion`` or its :class:`~nlp._frozen.FrozenFeatures` (word block first).
        preprocess: the char block's preprocessor, also used to find the message's words.
        words: splits a preprocessed text into the words the word block is built from.
        word_grams: the word block's analyzer, given those words.
        word_analyzer: the function the word block was fitted with (to recognise the standard
            setup; anything else is analysed generically, as scikit-learn would).
    """

    def __init__(
        self,
        features: Any,
        *,
        preprocess: Callable[[str], str],
        words: Callable[[str], list[str]],
        word_grams: Callable[[list[str]], list[str]],
        word_analyzer: Callable[[str], list[str]],
    ) -> None:
        vectorizers = [vectorizer for _name, vectorizer in features.transformer_list]
        idfs = [np.asarray(v.idf_, dtype=np.float32) for v in vectorizers]
        self._idf = np.concatenate(idfs) if idfs else np.zeros(0, dtype=np.float32)
        self._preprocess = preprocess
        self._words = words
        self._word_grams = word_grams
        self._known: dict[str, int] = dict(vectorizers[0].vocabulary_) if vectorizers else {}
        offsets = np.cumsum([0, *(len(idf) for idf in idfs)]).tolist()
        self._standard = (
            len(vectorizers) == 2
            and vectorizers[0].analyzer is word_analyzer
            and vectorizers[1].analyzer == "char_wb"
            and vectorizers[1].preprocessor is preprocess
        )
        self._word_vocab: dict[str, int] = {}
        self._char_vocab: dict[str, int] = {}
        self._ngrams: tuple[int, int] = (1, 1)
        self._char_cache: dict[str, tuple[int, ...]] = {}
        self._generic: list[tuple[Any, dict[str, int]]] = []
        if self._standard:
            self._word_vocab = self._known
            shift = int(offsets[1])
            self._char_vocab = {gram: col + shift for gram, col in vectorizers[1].vocabulary_.items()}
            low, high = vectorizers[1].ngram_range
            self._ngrams = (int(low), int(high))
        else:
            for vectorizer, shift in zip(vectorizers, offsets, strict=False):
                vocabulary = {gram: col + int(shift) for gram, col in vectorizer.vocabulary_.items()}
                self._generic.append((vectorizer.build_analyzer(), vocabulary))

    def rows(self, texts: Sequence[str]) -> tuple[list[Row], list[bool]]:
        """One row per text, and whether the text has a word seen in training."""
        counted = [self._count(text) for text in texts]
        columns_list: list[int] = []
        tf_list: list[int] = []
        for blocks, _known in counted:
            for counts in blocks:
                columns_list += counts
                tf_list += counts.values()
        columns = np.array(columns_list, dtype=np.int64)
        weights = (1.0 + np.log(np.array(tf_list, dtype=np.float32))) * self._idf[columns]
        rows: list[Row] = []
        start = 0
        for blocks, _known in counted:
            row_start = start
            for counts in blocks:
                if counts:
                    block = weights[start : start + len(counts)]
                    block /= np.sqrt(np.dot(block, block)) or 1.0
                    start += len(counts)
            rows.append((columns[row_start:start], weights[row_start:start]))
        return rows, [known for _, known in counted]

    def _count(self, text: str) -> tuple[list[Counter[int]], bool]:
        """Column → count per block, in the order scikit-learn's analyzers emit the n-grams."""
        pre = self._preprocess(text)
        words = self._words(pre)
        known = any(word in self._known for word in words)
        if not self._standard:
            return [_counts(vocab.get, analyzer(text)) for analyzer, vocab in self._generic], known
        word_counts = _counts(self._word_vocab.get, self._word_grams(words))
        cached = self._char_cache.get
        char_columns = []
        for token in pre.split():
            columns = cached(token)
            char_columns.append(self._char_columns(token) if columns is None else columns)
        return [word_counts, Counter(chain.from_iterable(char_columns))], known

    def _char_columns(self, token: str) -> tuple[int, ...]:
        """Columns of ``char_wb`` n-grams of one word (scikit-learn's ``_char_wb_ngrams``)."""
        padded = f" {token} "
        size = len(padded)
        get = self._char_vocab.get
        found: list[int | None] = []
        low, high = self._ngrams
        for n in range(low, high + 1):
            if n >= size:  # a short word counts once, whole
                found.append(get(padded))
                break
            found.extend(map(get, [padded[i : i + n] for i in range(size - n + 1)]))
        columns = tuple(column for column in found if column is not None)
        if len(self._char_cache) >= _CACHE_WORDS:
            self._char_cache.clear()
        self._char_cache[token] = columns
        return columns


def _counts(get: Callable[[str], int | None], grams: Iterable[str]) -> Counter[int]:
    counts: Counter[Any] = Counter(map(get, grams))
    counts.pop(None, None)
    return counts
