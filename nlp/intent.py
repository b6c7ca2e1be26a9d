"""The intent classifier: TF-IDF word and character n-grams into a linear model.

Why this shape (measurements in ``docs/nlp.md``): on short support messages a linear model
over word 1-2-grams plus character 2-5-grams inside word boundaries is within a point of
pretrained sentence encoders, trains in seconds on two cores, answers in well under a
millisecond and pickles into a few megabytes. Character n-grams absorb typos ("recieve",
"refnd") and morphology without a stemmer for every language.

Confidences are a temperature-scaled softmax of the decision scores; the temperature and
the out-of-scope threshold are fitted on held-out data by :mod:`nlp.training`, so a
confidence of 0.8 means roughly what it says on the data the model was trained for.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

from nlp.text import fold
from nlp.types import IntentScore

__all__ = ["IntentClassifier", "IntentConfig", "IntentPrediction", "softmax"]

_LOGGER = logging.getLogger(__name__)

_CONTRACTIONS = (
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'ll\b"), " will"),
)
_DIGITS = re.compile(r"\d+")
_MAX_FEATURE_CHARS = 2000  # beyond this a message is a paste, not a question


def preprocess(text: str) -> str:
    """Fold case and quotes, expand contractions, map every number to ``0``.

    Module-level (not a lambda) so fitted vectorizers pickle.
    """
    text = fold(text[:_MAX_FEATURE_CHARS])
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return _DIGITS.sub("0", text)


@dataclass(frozen=True, slots=True)
class IntentConfig:
    """Hyper-parameters, chosen on BANKING77 train_90/val_10 (see docs/nlp.md)."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    char_min_df: int = 2
    c: float = 0.5
    seed: int = 0


@dataclass(frozen=True, slots=True)
class IntentPrediction:
    ranking: tuple[IntentScore, ...]  # best first, top ``limit`` only

    @property
    def best(self) -> IntentScore | None:
        return self.ranking[0] if self.ranking else None


def softmax(scores: np.ndarray[Any, np.dtype[np.float64]], temperature: float) -> Any:
    z = scores * temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class IntentClassifier:
    """A fitted (or fittable) intent model; immutable once :meth:`fit` returns."""

    def __init__(self, *, config: IntentConfig | None = None) -> None:
        self.config = config or IntentConfig()
        self.labels: tuple[str, ...] = ()
        self.temperature = 1.0
        self._features: FeatureUnion | None = None
        self._coef: Any = None  # (n_features, n_labels) float32, CSC-friendly for one-row products
        self._intercept: Any = None
        self._single_label: str | None = None
        self._fast: list[tuple[Any, dict[str, int], Any]] | None = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> IntentClassifier:
        distinct = sorted(set(labels))
        self.labels = tuple(distinct)
        if len(distinct) == 1:  # LinearSVC refuses one class; a one-intent bot is still valid
            self._single_label = distinct[0]
            return self
        cfg = self.config
        self._features = FeatureUnion(
            [
                (
                    "word",
                    TfidfVectorizer(
                        preprocessor=preprocess,
                        token_pattern=r"(?u)\b\w+\b|[?!]",  # noqa: S106 - not a password
                        ngram_range=cfg.word_ngrams,
                        sublinear_tf=True,
                        dtype=np.float32,
                    ),
                ),
                (
                    "char",
                    TfidfVectorizer(
                        preprocessor=preprocess,
                        analyzer="char_wb",
                        ngram_range=cfg.char_ngrams,
                        min_df=cfg.char_min_df if len(texts) > 200 else 1,
                        sublinear_tf=True,
                        dtype=np.float32,
                    ),
                ),
            ]
        )
        matrix = self._features.fit_transform(texts)
        index = {label: i for i, label in enumerate(self.labels)}
        y = np.array([index[label] for label in labels])
        svm = LinearSVC(C=cfg.c, random_state=cfg.seed)
        svm.fit(matrix, y)
        coef = np.asarray(svm.coef_, dtype=np.float32)
        intercept = np.asarray(svm.intercept_, dtype=np.float32)
        if len(self.labels) == 2:  # binary LinearSVC keeps one row: score(b) = -score(a)
            coef = np.vstack([-coef, coef])
            intercept = np.concatenate([-intercept, intercept])
        self._coef = np.ascontiguousarray(coef.T)  # dense rows: one gather per message
        self._intercept = intercept
        return self

    def decision(self, texts: Sequence[str]) -> Any:
        """Raw scores, shape ``(len(texts), len(labels))``."""
        if self._single_label is not None:
            return np.zeros((len(texts), 1), dtype=np.float32)
        if self._features is None:
            raise RuntimeError("IntentClassifier.decision() before fit()")
        if len(texts) == 1:
            return self._decision_one(texts[0])[None, :]
        matrix = self._features.transform(list(texts))
        return np.asarray(matrix @ self._coef) + self._intercept

    def _decision_one(self, text: str) -> Any:
        """Scores for one text without sklearn's per-call validation (~10x faster).

        Re-implements ``TfidfVectorizer.transform`` for the exact settings used in
        :meth:`fit` (sublinear tf, idf, l2 norm per block); a test pins it to sklearn's.
        """
        if self._fast is None:
            self._fast = _compile(self._features)
        indices: list[Any] = []
        values: list[Any] = []
        offset = 0
        for analyzer, vocabulary, idf in self._fast:
            counts: dict[int, int] = {}
            for gram in analyzer(text):
                column = vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if counts:
                idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
                weights = (1.0 + np.log(tf)) * idf[idx]
                weights /= np.sqrt(np.dot(weights, weights)) or 1.0
                indices.append(idx + offset)
                values.append(weights)
            offset += len(idf)
        if not indices:
            return self._intercept.astype(np.float64)
        idx = np.concatenate(indices)
        return np.concatenate(values) @ self._coef[idx] + self._intercept

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fast"] = None  # analyzers hold bound methods; rebuilt lazily after loading
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def probabilities(self, texts: Sequence[str]) -> Any:
        return softmax(self.decision(texts), self.temperature)

    def predict(self, text: str, *, limit: int = 5) -> IntentPrediction:
        probs = self.probabilities([text])[0]
        order = np.argsort(-probs)[:limit]
        return IntentPrediction(tuple(IntentScore(self.labels[i], round(float(probs[i]), 4)) for i in order))


def _compile(features: FeatureUnion | None) -> list[tuple[Any, dict[str, int], Any]]:
    if features is None:
        return []
    blocks = []
    for _name, vectorizer in features.transformer_list:
        idf = np.asarray(vectorizer.idf_, dtype=np.float32)
        blocks.append((vectorizer.build_analyzer(), dict(vectorizer.vocabulary_), idf))
    return blocks
