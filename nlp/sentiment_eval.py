"""Scoring sentiment and complaint predictions on labelled messages.

What ``frontdesk nlu evaluate --task sentiment|complaint`` and ``bench/nlu_quality.py`` print:
precision, recall and F1 per class, so "negative recall at a given precision" can be read off
directly. Kept apart from :mod:`nlp.evaluation` (intents) so the two evolve independently.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from nlp.types import Sentiment, SentimentExample, SentimentLabel

__all__ = ["ClassStats", "SentimentEvaluation", "evaluate_labels", "load_labelled_csv", "score_pipeline"]

Task = Literal["sentiment", "complaint"]
_LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")
_TRUE = frozenset({"1", "true", "yes", "complaint", "y"})


@dataclass(frozen=True, slots=True)
class ClassStats:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class SentimentEvaluation:
    task: str
    examples: int
    accuracy: float
    macro_f1: float
    per_class: tuple[ClassStats, ...]
    matrix: dict[str, dict[str, int]]  # true label → predicted label → count

    def stats(self, label: str) -> ClassStats:
        return next(s for s in self.per_class if s.label == label)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_labels(task: str, truth: Sequence[str], predicted: Sequence[str]) -> SentimentEvaluation:
    """Per-class precision, recall and F1 of ``predicted`` against ``truth`` (same order)."""
    labels = sorted(set(truth) | set(predicted))
    matrix = {t: dict.fromkeys(labels, 0) for t in labels}
    for t, p in zip(truth, predicted, strict=True):
        matrix[t][p] += 1
    stats = []
    for label in labels:
        tp = matrix[label][label]
        predicted_n = sum(matrix[t][label] for t in labels)
        support = sum(matrix[label].values())
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        stats.append(ClassStats(label, round(precision, 4), round(recall, 4), round(f1, 4), support))
    right = sum(matrix[label][label] for label in labels)
    present = [s for s in stats if s.support]
    return SentimentEvaluation(
        task=task,
        examples=len(truth),
        accuracy=round(right / len(truth), 4) if truth else 0.0,
        macro_f1=round(sum(s.f1 for s in present) / len(present), 4) if present else 0.0,
        per_class=tuple(stats),
        matrix=matrix,
    )


def load_labelled_csv(path: Path) -> list[SentimentExample]:
    """A CSV with a header: ``text``, ``sentiment`` (negative/neutral/positive) and ``complaint``
    (1/0, true/false); either label column may be missing, not both.

    Raises:
        ValueError: a missing column or an unknown label, naming the file and line.
    """
    out: list[SentimentExample] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = set(reader.fieldnames or ())
        if "text" not in columns or not {"sentiment", "complaint"} & columns:
            raise ValueError(f"{path}:1: need a 'text' column and a 'sentiment' or 'complaint' column")
        for row in reader:
            complaint = (row.get("complaint") or "").strip().lower() in _TRUE
            label = (row.get("sentiment") or "").strip().lower() or ("negative" if complaint else "neutral")
            if label not in _LABELS:
                raise ValueError(f"{path}:{reader.line_num}: unknown sentiment {label!r}")
            out.append(SentimentExample(row["text"], label, complaint))
    return out


Predict = Callable[[str], tuple[Sentiment, bool]]


def score_pipeline(task: Task, examples: Sequence[SentimentExample], predict: Predict) -> SentimentEvaluation:
    """Evaluate ``predict`` (text → sentiment, complaint) on ``examples`` for one task."""
    results = [predict(e.text) for e in examples]
    if task == "sentiment":
        return evaluate_labels(task, [e.label for e in examples], [s.label for s, _c in results])
    truth = ["complaint" if e.complaint else "other" for e in examples]
    return evaluate_labels(task, truth, ["complaint" if c else "other" for _s, c in results])
