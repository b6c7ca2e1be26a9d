"""Training an :class:`~nlp.intent_model.IntentModel` from examples, with calibration.

A stratified slice is held out (15 % of the data, but at most 500 examples and at least 5 %)
to fit the softmax temperature and the out-of-scope threshold on data the model has not
seen. The linear SVM is then refitted on everything; the network is not trained twice: it
runs three quarters of its epochs without the slice, is calibrated, and runs the rest on
everything (warm), predicting with the average of the last half of the epochs' weights. With fewer
than two examples of some intent there is nothing to hold out, and defaults are used instead.
The trained classifier is compacted for storing and serving (:meth:`IntentClassifier.compact`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from core.errors import FrontdeskError
from nlp.intent import IntentClassifier, IntentConfig, softmax
from nlp.intent_model import IntentModel
from nlp.types import TrainingExample

__all__ = ["MODEL_FORMAT", "Progress", "TrainingError", "fit_threshold", "train", "training_hash"]

_LOGGER = logging.getLogger(__name__)

MODEL_FORMAT = 4
"""Bumped whenever the pickled layout or the features change; part of every model hash."""

Progress = Callable[[str, float], None]
"""Called with a stage name and the overall fraction done (0..1)."""

_DEFAULT_TEMPERATURE = 8.0
_DEFAULT_THRESHOLD = 0.25
_HOLDOUT = 0.15
_HOLDOUT_CAP = 500
_HOLDOUT_MIN = 0.05
_RELIABLE_HOLDOUT = 200
_REJECT_BUDGET = 0.01  # share of held-out in-scope messages whose right answer may be rejected
_MAX_THRESHOLD = 0.9  # a slice the model gets right with certainty must not demand certainty
_TEMPERATURES = np.geomspace(0.5, 60.0, 60)


class TrainingError(FrontdeskError, ValueError):
    """The examples cannot train a model (no examples, empty texts only)."""


def training_hash(
    examples: Iterable[TrainingExample],
    *,
    config: IntentConfig | None = None,
    oos_label: str | None = None,
) -> str:
    """A stable key for "the model these examples make": order-insensitive, 16 hex chars."""
    digest = hashlib.sha256()
    settings = {"format": MODEL_FORMAT, "config": repr(config or IntentConfig()), "oos": oos_label}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    for text, intent in sorted({(e.text, e.intent) for e in examples}):
        digest.update(b"\x00" + intent.encode("utf-8", "replace") + b"\x01" + text.encode("utf-8", "replace"))
    return digest.hexdigest()[:16]


def train(
    examples: Sequence[TrainingExample],
    *,
    config: IntentConfig | None = None,
    oos_label: str | None = None,
    threshold: float | None = None,
    progress: Progress | None = None,
) -> IntentModel:
    """Train, calibrate and return a model (not yet saved; see :class:`nlp.models.ModelStore`).

    Args:
        examples: labelled texts; duplicates are dropped.
        config: classifier hyper-parameters.
        oos_label: the label that marks out-of-scope examples, if the data has such a class.
        threshold: fixed out-of-scope threshold; ``None`` fits it on held-out data.
        progress: optional callback for a progress bar.

    Raises:
        TrainingError: no usable examples.
    """
    report = progress or (lambda _stage, _fraction: None)
    started = time.perf_counter()
    unique = sorted({(e.text.strip(), e.intent) for e in examples if e.text.strip() and e.intent})
    if not unique:
        raise TrainingError("no training examples (every text or intent is empty)")
    texts = [t for t, _ in unique]
    labels = [label for _, label in unique]
    config = config or IntentConfig()
    classifier = IntentClassifier(config=config)
    classifier.set_labels(labels)
    report("features", 0.02)
    classifier.fit_features(texts)
    split = _holdout_split(texts, labels, config.seed)
    holdout: dict[str, Any] = {"holdout": 0}
    temperature, fitted_threshold = _DEFAULT_TEMPERATURE, _DEFAULT_THRESHOLD
    total = config.epochs_for(len(texts))
    if split is None:
        classifier.fit_model(
            texts, labels, epochs=total, progress=lambda f: report("training", 0.05 + 0.9 * f)
        )
    else:
        fit_x, held_x, fit_y, held_y = split
        # The network trains most epochs without the held-out part, is calibrated on it, then
        # finishes on everything (warm), so calibration costs no extra training.
        final = 0
        if classifier.kind == "mlp" and config.refit > 0:
            final = min(total - 1, max(1, round(total * config.refit)))
        first = total - final
        share = 0.9 if classifier.kind == "mlp" and not final else 0.7
        classifier.fit_model(
            fit_x,
            fit_y,
            epochs=first,
            total_epochs=total,
            progress=lambda f: report("training", 0.05 + share * f),
        )
        report("calibrating", 0.05 + share)
        temperature, fitted_threshold, holdout = _calibrate(classifier, held_x, held_y, oos_label)
        if classifier.kind == "svm" or final:
            report("finishing", 0.8)
            classifier.fit_model(
                texts, labels, epochs=final or None, progress=lambda f: report("finishing", 0.8 + 0.19 * f)
            )
    classifier.temperature = temperature
    classifier.compact()
    report("done", 1.0)
    seconds = round(time.perf_counter() - started, 2)
    info: dict[str, Any] = {
        "examples": len(unique),
        "intents": dict(sorted(Counter(labels).items())),
        "model": classifier.kind,
        "temperature": round(temperature, 4),
        "train_seconds": seconds,
        **holdout,
    }
    version = training_hash(examples, config=config, oos_label=oos_label)
    _LOGGER.info("trained intent model %s on %d examples in %.1fs", version, len(unique), seconds)
    final_threshold = fitted_threshold if threshold is None else threshold
    return IntentModel(classifier, version, final_threshold, oos_label, info)


def _holdout_split(texts: list[str], labels: list[str], seed: int) -> tuple[Any, Any, Any, Any] | None:
    """A stratified held-out part, or ``None`` when some intent has too few examples to spare."""
    counts = Counter(labels)
    # A threshold needs a few hundred examples, not 15 % of a large data set: the fewer held out,
    # the more of the data every epoch of the shipped network sees.
    n_holdout = max(
        min(int(len(texts) * _HOLDOUT), _HOLDOUT_CAP), int(len(texts) * _HOLDOUT_MIN), len(counts)
    )
    if len(counts) < 2 or min(counts.values()) < 2 or n_holdout >= len(texts) - len(counts):
        return None
    from sklearn.model_selection import train_test_split  # training only: serving never imports it

    parts = train_test_split(texts, labels, test_size=n_holdout, stratify=labels, random_state=seed)
    return parts[0], parts[1], parts[2], parts[3]


def _calibrate(
    classifier: IntentClassifier, held_x: list[str], held_y: list[str], oos_label: str | None
) -> tuple[float, float, dict[str, Any]]:
    scores = classifier.decision(held_x)
    index = {label: i for i, label in enumerate(classifier.labels)}
    truth = np.array([index[label] for label in held_y])
    temperature = _fit_temperature(scores, truth)
    probs = softmax(scores, temperature)
    top = probs.argmax(axis=1)
    oos = index.get(oos_label, -2) if oos_label else -2
    threshold = fit_threshold(probs.max(axis=1), top, truth, oos)
    if len(held_x) < _RELIABLE_HOLDOUT:  # a few dozen examples cannot place a threshold well
        threshold = max(threshold, _DEFAULT_THRESHOLD)
    accuracy = float(np.mean(top == truth))
    return temperature, threshold, {"holdout": len(held_x), "holdout_accuracy": round(accuracy, 4)}


def _fit_temperature(scores: Any, truth: Any) -> float:
    """The softmax temperature that minimises held-out log-loss (a 1-D grid is plenty)."""
    best, best_loss = _DEFAULT_TEMPERATURE, float("inf")
    rows = np.arange(len(truth))
    for t in _TEMPERATURES:
        probs = softmax(scores, float(t))
        loss = -float(np.mean(np.log(probs[rows, truth] + 1e-12)))
        if loss < best_loss:
            best, best_loss = float(t), loss
    return best


def fit_threshold(confidence: Any, top: Any, truth: Any, oos: int) -> float:
    """The highest threshold that rejects at most 1 % of the held-out messages the model gets right.

    Why a budget rather than "the most correct decisions": an out-of-scope message is rarely
    in the held-out part (only with ``oos`` examples), so that optimum weighs rejected right
    answers only against caught wrong ones and, with a confident model, rejects almost nothing
    an unknown subject would fall below. Every right answer rejected costs a point of in-scope
    accuracy per hundred messages; the budget caps that cost, and what the threshold catches
    below it (wrong answers, subjects the bot was not trained on) is the gain. At most 0.9:
    where nearly every held-out answer is right with a confidence of 1.0, the budget's place
    would be 1.0 itself, and new messages the model is merely 99 % sure of would be rejected.
    """
    in_scope = truth != oos
    right = np.sort(confidence[(top == truth) & in_scope & (top != oos)])
    allowed = int(_REJECT_BUDGET * int(in_scope.sum()))
    if not len(right):
        return _DEFAULT_THRESHOLD
    return min(float(right[min(allowed, len(right) - 1)]), _MAX_THRESHOLD)
