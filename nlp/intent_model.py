"""A trained intent model: classifier plus the calibration that makes it safe to act on.

The classifier alone always names *some* intent. Rules need to know when not to trust it,
so the model carries an out-of-scope decision: a confidence threshold fitted on held-out
data (or set by the admin), and optionally a trained "out of scope" class when the training
data has examples of things the bot should not handle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nlp.intent import IntentClassifier, softmax
from nlp.types import IntentScore

__all__ = ["IntentModel", "IntentResult"]


@dataclass(frozen=True, slots=True)
class IntentResult:
    intents: tuple[IntentScore, ...]  # ranked, best first, never the out-of-scope label
    out_of_scope: bool


@dataclass(frozen=True, slots=True)
class IntentModel:
    """Everything :class:`~nlp.pipeline.Pipeline` needs to rank intents for a message.

    Attributes:
        version: hash of the training data and settings; the model store's key.
        threshold: top confidence below which the message counts as out of scope.
        oos_label: label of trained out-of-scope examples, if the data had any.
        info: training facts for humans (example counts, held-out accuracy, seconds).
    """

    classifier: IntentClassifier
    version: str
    threshold: float
    oos_label: str | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.classifier.labels

    def with_threshold(self, threshold: float) -> IntentModel:
        """The same model with an admin-chosen threshold (no retraining)."""
        return IntentModel(self.classifier, self.version, threshold, self.oos_label, self.info)

    def predict(self, text: str, *, limit: int = 5) -> IntentResult:
        return self.predict_each([text], limit=limit)[0]

    def predict_each(self, texts: Sequence[str], *, limit: int = 5) -> list[IntentResult]:
        """``[predict(t) for t in texts]``, with the same floats, at a lower cost per text.

        :meth:`predict_many` scores a batch through scikit-learn instead, which is faster for
        thousands of texts (evaluation) but differs from one-at-a-time results in the last bits.
        """
        if not texts:
            return []
        scores, known = self.classifier.score_each(texts)
        probs = softmax(scores, self.classifier.temperature)
        return self._results(probs, known, limit)

    def predict_many(self, texts: Sequence[str], *, limit: int = 5) -> list[IntentResult]:
        if not texts:
            return []
        probs = self.classifier.probabilities(texts)
        known = [self.classifier.known_words(text) > 0 for text in texts]
        return self._results(probs, known, limit)

    def _results(self, probs: Any, known: Sequence[bool], limit: int) -> list[IntentResult]:
        """Rank each row; only the first ``limit`` (+1 for the out-of-scope label) are built."""
        labels = self.classifier.labels
        oos_index = labels.index(self.oos_label) if self.oos_label in labels else -1
        guessing = len(labels) > 1  # with one label, "no known word" means nothing
        orders = np.argsort(-probs, axis=-1)
        if 0 <= limit < orders.shape[1]:
            orders = orders[:, : limit + 1]
        results = []
        for row, order, has_word in zip(probs.tolist(), orders.tolist(), known, strict=True):
            top = order[0]
            out = top == oos_index or row[top] < self.threshold or (guessing and not has_word)
            ranking = tuple(IntentScore(labels[i], round(row[i], 4)) for i in order if i != oos_index)
            results.append(IntentResult(ranking[:limit], out))
        return results

    def _unknown(self, text: str) -> bool:
        """No word of the message was ever seen in training: any intent would be a guess."""
        return len(self.labels) > 1 and self.classifier.known_words(text) == 0

    def decisions(self, texts: Sequence[str]) -> tuple[list[str], Any, list[bool]]:
        """Per text: the best in-scope label, its confidence, and whether the model rejects it.

        Batch scoring (evaluation). The confidence is the best in-scope probability, 0 for a
        text with no known word, so it ranks messages the way the threshold does (for AUROC).
        """
        if not texts:
            return [], np.zeros(0), []
        probs = self.classifier.probabilities(texts)
        labels = self.classifier.labels
        oos_index = labels.index(self.oos_label) if self.oos_label in labels else -1
        ranked = probs.copy()
        if oos_index >= 0:
            ranked[:, oos_index] = -1.0
        best = ranked.argmax(axis=1)
        confidence = ranked.max(axis=1)
        top = probs.argmax(axis=1)
        rejected = []
        for i, text in enumerate(texts):
            unknown = self._unknown(text)
            if unknown:
                confidence[i] = 0.0
            rejected.append(bool(top[i] == oos_index or confidence[i] < self.threshold or unknown))
        return [labels[i] for i in best], confidence, rejected

    def top_labels(self, texts: Sequence[str], *, oos_as: str | None = None) -> list[str]:
        """Top label per text; with ``oos_as``, out-of-scope decisions are reported as that label."""
        probs = self.classifier.probabilities(texts)
        labels = self.classifier.labels
        out: list[str] = []
        for text, row in zip(texts, probs, strict=True):
            top = int(np.argmax(row))
            rejected = labels[top] == self.oos_label or row[top] < self.threshold or self._unknown(text)
            if oos_as is not None and rejected:
                out.append(oos_as)
            else:
                out.append(labels[top])
        return out
