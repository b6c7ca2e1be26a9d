"""A trained sentiment and complaint classifier, stacked on a general-purpose base model.

Two linear layers, each a dict from feature (:mod:`nlp.sentiment_features`) to four weights
(negative, neutral, positive, complaint):

* the *base* layer (``nlp/data/sentiment_base.npz``), trained offline on GoEmotions by
  :mod:`nlp.sentiment_base`: general English tone, but no idea of support talk;
* the *support* layer, trained when the rulebook loads (a fraction of a second) on the written
  customer-service examples in ``nlp/data/cs_sentiment.yml`` plus the admin's examples from
  ``rulebook/sentiment.yml``. Its inputs are the message's own words, the base layer's four
  scores and the lexicon score, so it learns how far to trust each for support messages.

Serving is pure Python over a few dozen features: a dict lookup and four additions each, no
vectorizer and no numpy call per message. An admin example also matches itself exactly (after
case folding), so an admin who adds a misjudged message sees it fixed whatever the weights say.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nlp.sentiment_features import features
from nlp.types import Sentiment, SentimentExample, SentimentLabel

__all__ = [
    "BASE_PATH",
    "BaseModel",
    "SentimentModel",
    "base_model",
    "bundled_examples",
    "default_model",
    "train_sentiment",
]

DATA = Path(__file__).with_name("data")
BASE_PATH = DATA / "sentiment_base.npz"
EXAMPLES_PATH = DATA / "cs_sentiment.yml"
LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")
FORMAT = 1  # bumped when features or layout change; part of every version
_ADMIN_WEIGHT = 3.0  # an admin's example outweighs a shipped one
_C = 1.0  # inverse regularisation of the support layer (compared on bench/data/cs_dev.csv)
_COMPLAINT_THRESHOLD = 0.4  # recall matters more than precision in a support inbox (chosen on cs_dev)

Weights = tuple[float, float, float, float]
_CALM = (Sentiment.neutral(), False, 0.0)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_MAX_SENTENCES = 6
_SENTENCE_SPLIT_LIMIT = 2000  # longer texts (mails with quoted history) are judged whole only
_SURE = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}  # the score of an admin's own example

# Function words get no weight of their own in the support layer: complaints are longer than
# questions, so with a few hundred examples "the" and "you" would learn to mean "negative".
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "have",
        "has",
        "had",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "by",
        "about",
        "as",
        "and",
        "or",
        "if",
        "so",
        "than",
        "then",
        "there",
        "here",
        "what",
        "which",
        "who",
        "when",
        "where",
        "how",
        "can",
        "could",
        "would",
        "will",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "just",
    ]
)


class BaseModel:
    """The GoEmotions layer: feature → (negative, neutral, positive, complaint) logits."""

    def __init__(self, weights: Mapping[str, Weights], bias: Weights) -> None:
        self.weights = dict(weights)
        self.bias = bias

    def scores(self, feats: Sequence[str]) -> Weights:
        a, b, c, d = self.bias
        get = self.weights.get
        for f in feats:
            w = get(f)
            if w is not None:
                a, b, c, d = a + w[0], b + w[1], c + w[2], d + w[3]
        return a, b, c, d

    @classmethod
    def load(cls, path: Path) -> BaseModel:
        with np.load(path, allow_pickle=False) as data:
            vocab = bytes(data["vocab"]).decode("utf-8").split("\n")
            weights = data["weights"].astype(np.float64).tolist()
            bias = data["bias"].astype(np.float64).tolist()
        return cls(
            {t: (w[0], w[1], w[2], w[3]) for t, w in zip(vocab, weights, strict=True)},
            (bias[0], bias[1], bias[2], bias[3]),
        )

    def save(self, path: Path) -> None:
        vocab = sorted(self.weights)
        np.savez_compressed(
            path,
            vocab=np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8),
            weights=np.array([self.weights[t] for t in vocab], dtype=np.float16),
            bias=np.array(self.bias, dtype=np.float32),
        )


@functools.cache
def base_model() -> BaseModel:
    """The shipped base layer, loaded once per process (tens of milliseconds)."""
    return BaseModel.load(BASE_PATH)


def _dense(base: Weights, lexicon: float) -> tuple[float, ...]:
    """The support layer's non-word inputs: base logits (centred) and the lexicon score split
    by sign, since a negative lexicon hit says more about complaints than a positive one."""
    mean = (base[0] + base[1] + base[2]) / 3.0
    return (base[0] - mean, base[1] - mean, base[2] - mean, base[3], min(lexicon, 0.0), max(lexicon, 0.0))


class SentimentModel:
    """The support layer with the base beneath it; :meth:`predict` is cheap and never trains.

    Pickles as its own weights only; the base layer is the shipped file, loaded on unpickling.
    """

    def __init__(
        self,
        *,
        weights: Mapping[str, Weights],
        dense: Sequence[Weights],
        bias: Weights,
        exact: Mapping[str, tuple[SentimentLabel, bool]],
        version: str,
        threshold: float = _COMPLAINT_THRESHOLD,
        base: BaseModel | None = None,
    ) -> None:
        self.weights = dict(weights)
        self.dense = tuple(dense)
        self.bias = bias
        self.exact = dict(exact)
        self.version = version
        self.threshold = threshold
        # The base layer feeds the support layer linearly, so its weights fold into one table:
        # one lookup per feature when serving instead of two.
        base = base or base_model()
        project = self.dense[:4]
        self._bias = _add(bias, _through(base.bias, project))
        merged = {f: _through(w, project) for f, w in base.weights.items()}
        for f, w in self.weights.items():
            merged[f] = _add(merged[f], w) if f in merged else w
        self._merged = merged

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.weights, self.dense, self.bias, self.exact, self.version, self.threshold))

    def predict(self, text: str, lexicon: Sentiment) -> tuple[Sentiment, bool, float]:
        """Sentiment (score = P(positive) - P(negative)), complaint, and P(complaint)."""
        known = self.exact.get(" ".join(text.lower().split())) if self.exact else None
        if known is not None:
            label, complaint = known
            return Sentiment(score=_SURE[label], label=label), complaint, 1.0 if complaint else 0.0
        whole = self._judge(text, lexicon.score)
        if whole is None:
            return _CALM
        sentiment, complaint, p = whole
        if sentiment.label == "positive" or (complaint and sentiment.label == "negative"):
            return whole
        # A complaint followed by a question ("STILL not here, third time asking! Is the blue one
        # in stock?") reads as a question to a bag of words: a complaining sentence decides, unless
        # the whole message is positive ("I was angry at first. But you sorted it, thanks!").
        parts = _SENTENCES.split(text) if len(text) <= _SENTENCE_SPLIT_LIMIT else ()
        for part in parts[:_MAX_SENTENCES] if len(parts) > 1 else ():
            judged = self._judge(part, lexicon.score)
            if judged is not None and judged[1] and judged[0].label == "negative":
                return judged
        if complaint:  # a complaint is negative, whatever the tone of its words
            return Sentiment(score=min(sentiment.score, -p), label="negative"), True, p
        return whole

    def _judge(self, text: str, lexicon: float) -> tuple[Sentiment, bool, float] | None:
        feats = features(text)
        if len(feats) < 2:  # nothing but the end marker: no words, no emoji, nothing to judge
            return None
        a, b, c, d = self._bias
        get = self._merged.get
        for f in feats:
            w = get(f)
            if w is not None:
                a, b, c, d = a + w[0], b + w[1], c + w[2], d + w[3]
        x, w = lexicon, self.dense[4 if lexicon < 0 else 5]
        a, b, c, d = a + x * w[0], b + x * w[1], c + x * w[2], d + x * w[3]
        top = max(a, b, c)
        ea, eb, ec = math.exp(a - top), math.exp(b - top), math.exp(c - top)
        total = ea + eb + ec
        label = LABELS[(a, b, c).index(top)]
        score = round((ec - ea) / total, 4)
        p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, d))))
        return Sentiment(score=score, label=label), p >= self.threshold, round(p, 4)


def _through(w: Weights, project: Sequence[Weights]) -> Weights:
    """What base-layer weights ``w`` add to the support layer's outputs (see :func:`_dense`)."""
    mean = (w[0] + w[1] + w[2]) / 3.0
    x = (w[0] - mean, w[1] - mean, w[2] - mean, w[3])
    return (
        x[0] * project[0][0] + x[1] * project[1][0] + x[2] * project[2][0] + x[3] * project[3][0],
        x[0] * project[0][1] + x[1] * project[1][1] + x[2] * project[2][1] + x[3] * project[3][1],
        x[0] * project[0][2] + x[1] * project[1][2] + x[2] * project[2][2] + x[3] * project[3][2],
        x[0] * project[0][3] + x[1] * project[1][3] + x[2] * project[2][3] + x[3] * project[3][3],
    )


def _add(a: Weights, b: Weights) -> Weights:
    return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]


def _rebuild(
    weights: Mapping[str, Weights],
    dense: Sequence[Weights],
    bias: Weights,
    exact: Mapping[str, tuple[SentimentLabel, bool]],
    version: str,
    threshold: float,
) -> SentimentModel:
    return SentimentModel(
        weights=weights, dense=dense, bias=bias, exact=exact, version=version, threshold=threshold
    )


def _version(bundled: Sequence[SentimentExample], admin: Sequence[SentimentExample]) -> str:
    digest = hashlib.sha256(json.dumps({"format": FORMAT, "c": _C}).encode())
    for tag, group in ((b"b", bundled), (b"a", admin)):
        for e in sorted({(e.text, e.label, e.complaint) for e in group}):
            digest.update(tag + json.dumps(e).encode())
    return digest.hexdigest()[:16]


def train_sentiment(
    admin: Sequence[SentimentExample] = (),
    *,
    bundled: Sequence[SentimentExample] | None = None,
    base: BaseModel | None = None,
) -> SentimentModel:
    """Train the support layer (deterministic; about 0.3 s on the shipped examples).

    Args:
        admin: the rulebook's examples; they weigh more than the shipped ones and match exactly.
        bundled: the shipped examples (default: ``nlp/data/cs_sentiment.yml``).
        base: the base layer (default: the shipped one).
    """
    return _train_cached(tuple(admin), tuple(bundled_examples() if bundled is None else bundled), base)


@functools.lru_cache(maxsize=4)
def _train_cached(
    admin: tuple[SentimentExample, ...], bundled: tuple[SentimentExample, ...], base: BaseModel | None
) -> SentimentModel:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    from nlp.sentiment import SentimentAnalyzer

    base = base or base_model()
    lexicon = SentimentAnalyzer()
    rows = [(e, 1.0) for e in bundled] + [(e, _ADMIN_WEIGHT) for e in admin]
    rows = [(e, w) for e, w in rows if e.text.strip()]
    vocab: dict[str, int] = {}
    indptr, indices, dense = [0], [], []
    for e, _w in rows:
        feats = features(e.text)
        cols = sorted({vocab.setdefault(f, len(vocab)) for f in feats if f not in _FUNCTION_WORDS})
        indices.extend(cols)
        indptr.append(len(indices))
        dense.append(_dense(base.scores(feats), lexicon.score(e.text).score))
    words = csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), len(vocab)))
    x = hstack([words, csr_matrix(np.array(dense))], format="csr")
    weight = np.array([w for _e, w in rows])
    y = np.array([LABELS.index(e.label) for e, _w in rows])
    z = np.array([e.complaint for e, _w in rows], dtype=int)
    # One binary liblinear fit per output (one-vs-rest for the labels): milliseconds, where
    # lbfgs' multinomial fit took seconds on a busy machine.
    targets = [(y == i).astype(int) for i in range(len(LABELS))] + [z]
    fits = [LogisticRegression(C=_C, solver="liblinear").fit(x, t, sample_weight=weight) for t in targets]
    coef = np.vstack([f.coef_ for f in fits])  # (4, words + dense)
    n = len(vocab)
    terms = list(vocab)
    keep = np.flatnonzero(np.abs(coef[:, :n]).max(axis=0) > 1e-4)
    word_weights = {terms[j]: tuple(w) for j, w in zip(keep, coef[:, keep].T.tolist(), strict=True)}
    dense_weights = [
        (float(coef[0, j]), float(coef[1, j]), float(coef[2, j]), float(coef[3, j]))
        for j in range(n, coef.shape[1])
    ]
    bias = (
        float(fits[0].intercept_[0]),
        float(fits[1].intercept_[0]),
        float(fits[2].intercept_[0]),
        float(fits[3].intercept_[0]),
    )
    exact = {" ".join(e.text.lower().split()): (e.label, e.complaint) for e in admin}
    return SentimentModel(
        weights=word_weights,
        dense=dense_weights,
        bias=bias,
        exact=exact,
        version=_version(bundled, admin),
        base=base,
    )


@functools.cache
def bundled_examples() -> tuple[SentimentExample, ...]:
    """The written customer-service examples shipped with Frontdesk."""
    import yaml

    data = yaml.safe_load(EXAMPLES_PATH.read_text(encoding="utf-8"))
    return examples_from(data["examples"])


def examples_from(groups: Mapping[str, Sequence[str]]) -> tuple[SentimentExample, ...]:
    """``{complaint: [...], negative: [...], neutral: [...], positive: [...]}`` as examples:
    a complaint is negative; ``negative`` is unhappy without blaming us (not a complaint)."""
    out: list[SentimentExample] = []
    for group, texts in groups.items():
        label: SentimentLabel = "negative" if group == "complaint" else group  # type: ignore[assignment]
        out.extend(SentimentExample(str(t), label, group == "complaint") for t in texts or ())
    return tuple(out)


def default_model() -> SentimentModel:
    """The model for a rulebook without examples (trained once per process, then cached)."""
    return train_sentiment()
