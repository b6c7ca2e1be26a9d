"""The intent classifier: TF-IDF word and character n-grams into a small network.

Why this shape (measurements in ``docs/nlp.md``): on short support messages, sparse features
(words, bigrams, gapped word pairs, character 2-5-grams inside word boundaries) into one
hidden layer (:mod:`nlp.mlp`) trains in well under two minutes on two cores, answers in
about a millisecond and needs no pretrained weights. Character n-grams absorb typos
("recieve", "refnd") and morphology without a stemmer for every language. A linear SVM over
the same features (``IntentConfig(model="svm")``) is the fast alternative: a point less
accurate on BANKING77, a few seconds to train.

Confidences are a temperature-scaled softmax of the decision scores; the temperature and
the out-of-scope threshold are fitted on held-out data by :mod:`nlp.training`, so a
confidence of 0.8 means roughly what it says on the data the model was trained for.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from nlp._fastpath import FeatureRows
from nlp._frozen import FrozenFeatures, freeze
from nlp.mlp import SparseMLP
from nlp.text import fold

if TYPE_CHECKING:
    from sklearn.pipeline import FeatureUnion

__all__ = ["IntentClassifier", "IntentConfig", "preprocess", "softmax", "word_features", "word_grams"]

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


_WORD = re.compile(r"\w+|[?!]")


def word_features(text: str) -> list[str]:
    """Words, bigrams, gapped pairs (skip-grams up to 2 words apart) and the first two words.

    Gapped pairs catch "card ... arrive" across fillers that plain bigrams miss; the
    opening words ("why", "can", "how") separate questions from reports. On BANKING77
    validation this beat word 1-2-grams and 1-3-grams (docs/nlp.md).
    """
    return word_grams(_WORD.findall(preprocess(text)))


def word_grams(words: list[str]) -> list[str]:
    """:func:`word_features` of an already preprocessed, split text (the fast path's entry)."""
    grams = list(words)
    grams += [f"{a}_{b}" for a, b in itertools.pairwise(words)]
    grams += [
        f"{words[i]}__{words[j]}" for i in range(len(words)) for j in range(i + 2, min(len(words), i + 4))
    ]
    grams += [f"^{w}" for w in words[:2]]
    return grams


@dataclass(frozen=True, slots=True)
class IntentConfig:
    """Hyper-parameters, chosen on BANKING77 train_90/val_10 (see docs/nlp.md)."""

    model: Literal["auto", "mlp", "svm"] = "auto"  # auto: mlp from mlp_min_examples on, else svm
    mlp_min_examples: int = 2000
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = 2  # features seen once are noise (and most of the weights)
    c: float = 0.3  # svm regularisation
    hidden: int = 256
    dropout: float = 0.5
    epochs: int = 8
    batch_size: int = 128
    average: float = 0.5  # predict with the mean weights of this last share of epochs (SWA)
    # share of epochs trained on everything after held-out calibration: small, so the threshold is
    # fitted on a model close to the one that ships (calibrated after 2 of 8 epochs, the shipped
    # model was far more confident and the threshold rejected almost nothing; docs/nlp.md)
    refit: float = 0.25
    min_steps: int = 300  # small data sets get more epochs so the network still converges
    seed: int = 0

    def kind(self, n_examples: int) -> Literal["mlp", "svm"]:
        """The network only pays off with enough data; a rulebook's 200 examples train an svm."""
        if self.model == "auto":
            return "mlp" if n_examples >= self.mlp_min_examples else "svm"
        return self.model

    def epochs_for(self, n_examples: int) -> int:
        return max(self.epochs, math.ceil(self.min_steps / self.batches(n_examples)))

    def batches(self, n_examples: int) -> int:
        """Updates per epoch."""
        return max(1, math.ceil(n_examples / self.batch_size))


def softmax(scores: np.ndarray[Any, np.dtype[np.float64]], temperature: float) -> Any:
    z = scores * temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class IntentClassifier:
    """Features plus model. Fit in steps so training can calibrate on held-out data first:
    :meth:`fit_features` on every text (unsupervised), :meth:`fit_model` on a subset, score
    the rest, then :meth:`fit_model` again on everything (warm for the network).
    """

    def __init__(self, *, config: IntentConfig | None = None) -> None:
        self.config = config or IntentConfig()
        self.labels: tuple[str, ...] = ()
        self.temperature = 1.0
        self._features: FeatureUnion | FrozenFeatures | None = None
        self._mlp: SparseMLP | None = None
        self._coef: Any = None  # svm: (n_features, n_labels) float32, dense rows for one-row gathers
        self._intercept: Any = None
        self._fast: FeatureRows | None = None  # compiled on first use, never pickled
        self.kind: Literal["mlp", "svm"] = "svm"

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> IntentClassifier:
        self.set_labels(labels)
        self.fit_features(texts)
        return self.fit_model(texts, labels)

    def set_labels(self, labels: Iterable[str]) -> None:
        self.labels = tuple(sorted(set(labels)))

    def fit_features(self, texts: Sequence[str], *, progress: Callable[[float], None] | None = None) -> None:
        """Fit the vocabularies; ``progress`` hears after each block (a few seconds each)."""
        from sklearn.feature_extraction.text import TfidfVectorizer  # training only (see nlp._frozen)
        from sklearn.pipeline import FeatureUnion

        min_df = self.config.min_df if len(texts) > 1000 else 1
        self._features = FeatureUnion(
            [
                (
                    "word",
                    TfidfVectorizer(analyzer=word_features, sublinear_tf=True, dtype=np.float32),
                ),
                (
                    "char",
                    TfidfVectorizer(
                        preprocessor=preprocess,
                        analyzer="char_wb",
                        ngram_range=self.config.char_ngrams,
                        min_df=min_df,
                        sublinear_tf=True,
                        dtype=np.float32,
                    ),
                ),
            ]
        )
        items = list(texts)
        blocks = self._features.transformer_list
        for i, (_name, vectorizer) in enumerate(blocks):  # what FeatureUnion.fit does, one by one
            vectorizer.fit(items)
            if progress is not None:
                progress((i + 1) / len(blocks))
        self._fast = None
        self.kind = self.config.kind(len(texts))

    def fit_model(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        epochs: int | None = None,
        total_epochs: int | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> IntentClassifier:
        """Fit (svm: from scratch; network: continue) on ``texts``; labels must be known.

        ``total_epochs``: epochs the whole run will make over several calls (the network averages
        the weights of the last ``config.average`` share of them); by default this call's own.
        """
        if self._features is None:
            raise RuntimeError("IntentClassifier.fit_model() before fit_features()")
        if isinstance(self._features, FrozenFeatures):
            raise RuntimeError("IntentClassifier.fit_model() after compact()")
        if len(self.labels) < 2:  # a one-intent bot is valid; there is nothing to learn
            return self
        index = {label: i for i, label in enumerate(self.labels)}
        y = np.array([index[label] for label in labels])
        matrix = self._features.transform(list(texts)).tocsr().astype(np.float32)
        cfg = self.config
        if self.kind == "svm":
            from sklearn.svm import LinearSVC

            svm = LinearSVC(C=cfg.c, random_state=cfg.seed).fit(matrix, y)
            coef = np.asarray(svm.coef_, dtype=np.float32)
            intercept = np.asarray(svm.intercept_, dtype=np.float32)
            if coef.shape[0] == 1:  # binary LinearSVC keeps one row: score(b) = -score(a)
                coef, intercept = np.vstack([-coef, coef]), np.concatenate([-intercept, intercept])
            self._coef, self._intercept = np.ascontiguousarray(coef.T), intercept
            if progress is not None:
                progress(1.0)
            return self
        rounds = epochs if epochs is not None else cfg.epochs_for(len(texts))
        if self._mlp is None:
            total = total_epochs if total_epochs is not None else rounds
            averaged = min(total, math.ceil(total * cfg.average))
            self._mlp = SparseMLP(
                hidden=cfg.hidden,
                dropout=cfg.dropout,
                batch_size=cfg.batch_size,
                average_from=total - averaged + 1 if averaged > 0 else None,
                seed=cfg.seed,
            )
        self._mlp.partial_fit(matrix, y, n_classes=len(self.labels), epochs=rounds, progress=progress)
        return self

    def compact(self) -> None:
        """Shrink a trained classifier for storing and serving (no more training after this).

        The network's first layer becomes int8 rows (:meth:`SparseMLP.compact`), and the
        vectorizers become plain vocabularies (:mod:`nlp._frozen`): no scikit-learn objects
        in the pickle, so loading and serving the model never imports scikit-learn.
        """
        if self._mlp is not None:
            self._mlp.compact()
        if self._features is not None and not isinstance(self._features, FrozenFeatures):
            self._features = freeze(self._features)
            self._fast = None

    def decision(self, texts: Sequence[str]) -> Any:
        """Raw scores, shape ``(len(texts), len(labels))``.

        One text takes the fast path (:meth:`score_each`); several go through scikit-learn's
        batch transform, whose floats differ from it in the last bits.
        """
        if len(texts) == 1:
            return self.score_each(texts)[0]
        if len(self.labels) < 2:
            return np.zeros((len(texts), max(len(self.labels), 1)), dtype=np.float32)
        features = self._fitted_features()
        if isinstance(features, FrozenFeatures):  # a compacted model scores the serving way
            return self.score_each(texts)[0]
        matrix = features.transform(list(texts)).tocsr().astype(np.float32)
        if self._mlp is not None:
            return self._mlp.decision(matrix)
        return np.asarray(matrix @ self._coef) + self._intercept

    def score_each(self, texts: Sequence[str]) -> tuple[Any, list[bool]]:
        """Scores as :meth:`decision` gives them for one text at a time, for many texts.

        Also says, per text, whether it has a word seen in training (``known_words > 0``),
        which comes for free from the same preprocessing.

        Why not the batch transform: the rows would differ in the last bits from the ones a
        message analysed alone gets, and the pipeline promises identical results either way.
        """
        if len(self.labels) < 2:
            zeros = np.zeros((len(texts), max(len(self.labels), 1)), dtype=np.float32)
            return zeros, [self.known_words(t) > 0 for t in texts]
        features = self._fitted_features()
        if self._fast is None:
            self._fast = FeatureRows(
                features,
                preprocess=preprocess,
                words=_WORD.findall,
                word_grams=word_grams,
                word_analyzer=word_features,
            )
        rows, known = self._fast.rows(texts)
        if not rows:
            return np.zeros((0, len(self.labels)), dtype=np.float32), known
        scored = [self._score_row(indices, values) for indices, values in rows]
        return (scored[0][None, :] if len(scored) == 1 else np.vstack(scored)), known

    def _score_row(self, indices: Any, values: Any) -> Any:
        if self._mlp is not None:
            return self._mlp.decision_sparse_row(indices, values)
        return values @ self._coef[indices] + self._intercept

    def _fitted_features(self) -> FeatureUnion | FrozenFeatures:
        if self._features is None or (self._mlp is None and self._coef is None):
            raise RuntimeError("IntentClassifier.decision() before fit()")
        return self._features

    def known_words(self, text: str) -> int:
        """How many of the text's words occur in the training data (0: nothing to go on)."""
        if self._features is None:
            return 0
        vocabulary = self._features.transformer_list[0][1].vocabulary_
        return sum(1 for w in _WORD.findall(preprocess(text)) if w in vocabulary)

    def probabilities(self, texts: Sequence[str]) -> Any:
        return softmax(self.decision(texts), self.temperature)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fast"] = None  # a cache of the vocabularies (and bound methods): rebuilt after loading
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
