"""Scoring an intent model on labelled data: the numbers ``frontdesk nlu evaluate`` prints.

Out-of-scope evaluation follows the CLINC150 convention: in-scope accuracy counts an in-scope
example as right only when the model names its intent *and* does not reject it; out-of-scope
recall counts an out-of-scope example as right when the model rejects it (below the threshold,
or the trained out-of-scope class wins). With an out-of-scope label those figures are the
headline (:mod:`nlp.oos_metrics`): a plain accuracy would count every out-of-scope example as a
miss, whatever the model decided. ``unknown_labels`` lists the data's labels the model was never
trained on (other than the out-of-scope label), which can only ever count as wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nlp.intent_model import IntentModel
from nlp.oos_metrics import OosFigures, oos_figures
from nlp.types import TrainingExample

__all__ = ["Evaluation", "IntentStats", "evaluate"]


@dataclass(frozen=True, slots=True)
class IntentStats:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Evaluation:
    examples: int
    accuracy: float  # top-1 label, the threshold ignored (comparable with published figures)
    macro_f1: float
    per_intent: tuple[IntentStats, ...]
    confused: tuple[tuple[str, str, int], ...]  # (true, predicted, count), worst first
    labels: tuple[str, ...]
    matrix: list[list[int]] = field(repr=False)  # rows: true label, columns: predicted
    in_scope_accuracy: float | None = None
    oos_recall: float | None = None
    model_version: str = ""
    threshold: float = 0.0
    oos: OosFigures | None = None  # with an out-of-scope label: the headline figures
    unknown_labels: tuple[str, ...] = ()  # in the data, unknown to the model (oos label aside)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["oos"] = self.oos.to_dict() if self.oos is not None else None
        data["per_intent"] = [asdict(s) for s in self.per_intent]
        data["confused"] = [{"true": t, "predicted": p, "count": n} for t, p, n in self.confused]
        del data["matrix"]
        return data


def evaluate(
    model: IntentModel,
    examples: Sequence[TrainingExample],
    *,
    oos_label: str | None = None,
    top_confused: int = 10,
) -> Evaluation:
    """Score ``model`` on ``examples``; ``oos_label`` marks the out-of-scope examples, if any.

    With ``oos_label``, the per-intent figures and the confusion matrix count the model's
    decisions: a rejected message is predicted as ``oos_label`` (so ``oos -> refund`` is an
    out-of-scope message the bot would have answered, ``refund -> oos`` a question it turned
    away). ``accuracy`` always ignores the threshold, to compare with published figures.
    """
    texts = [e.text for e in examples]
    truth = [e.intent for e in examples]
    raw = model.top_labels(texts) if texts else []
    predicted = model.top_labels(texts, oos_as=oos_label) if texts and oos_label is not None else raw
    labels = tuple(sorted(set(truth) | set(predicted)))
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t], index[p]] += 1
    per_intent = []
    for label in sorted(set(truth)):
        i = index[label]
        tp = int(matrix[i, i])
        precision = tp / int(matrix[:, i].sum()) if matrix[:, i].sum() else 0.0
        recall = tp / int(matrix[i].sum()) if matrix[i].sum() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent.append(
            IntentStats(label, round(precision, 4), round(recall, 4), round(f1, 4), int(matrix[i].sum()))
        )
    pairs = Counter((t, p) for t, p in zip(truth, predicted, strict=True) if t != p)
    accuracy = float(np.mean([t == p for t, p in zip(truth, raw, strict=True)])) if truth else 0.0
    oos = _oos(model, texts, truth, oos_label) if oos_label is not None and texts else None
    known = set(model.labels)
    unknown = tuple(sorted({t for t in truth if t not in known and t != oos_label}))
    return Evaluation(
        examples=len(examples),
        accuracy=round(accuracy, 4),
        macro_f1=round(float(np.mean([s.f1 for s in per_intent])), 4) if per_intent else 0.0,
        per_intent=tuple(per_intent),
        confused=tuple((t, p, n) for (t, p), n in pairs.most_common(top_confused)),
        labels=labels,
        matrix=matrix.tolist(),
        in_scope_accuracy=oos.in_scope_accuracy if oos is not None else None,
        oos_recall=oos.oos_recall if oos is not None else None,
        model_version=model.version,
        threshold=round(model.threshold, 4),
        oos=oos,
        unknown_labels=unknown,
    )


def _oos(model: IntentModel, texts: list[str], truth: list[str], oos_label: str) -> OosFigures:
    best, confidence, rejected = model.decisions(texts)
    return oos_figures(
        is_oos=[t == oos_label for t in truth],
        rejected=rejected,
        correct=[b == t for b, t in zip(best, truth, strict=True)],
        confidence=confidence,
    )
