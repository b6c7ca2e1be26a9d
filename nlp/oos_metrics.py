"""Out-of-scope figures: what a threshold costs in-scope messages and what it catches.

Why a module of its own: an accuracy that counts every out-of-scope example as a miss says
nothing about rejection, so ``frontdesk nlu evaluate --oos-label`` and the BANKING77-OOS bench
both report these figures, computed the same way (the CLINC150 convention): an in-scope
example is right when the model names its intent *and* does not reject it; an out-of-scope
example is caught when the model rejects it. AUROC says how well the confidence separates the
two groups whatever the threshold, so two models can be compared apart from where their
thresholds happen to sit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["OosFigures", "auroc", "oos_figures"]


@dataclass(frozen=True, slots=True)
class OosFigures:
    """Rounded to four places; ``None`` where a group has no examples."""

    in_scope: int  # examples
    out_of_scope: int
    accuracy_no_threshold: float | None  # in-scope, top intent right, rejection ignored
    in_scope_accuracy: float | None  # right intent and accepted
    oos_recall: float | None  # out-of-scope examples rejected
    oos_precision: float | None  # rejected examples that were out of scope
    oos_f1: float | None
    auroc: float | None  # confidence separating in-scope (high) from out-of-scope (low)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def oos_figures(
    *,
    is_oos: Sequence[bool],
    rejected: Sequence[bool],
    correct: Sequence[bool],
    confidence: Sequence[float],
) -> OosFigures:
    """Figures for one labelled set.

    Args:
        is_oos: per example, whether its label marks it out of scope.
        rejected: whether the model rejected it (threshold, trained out-of-scope class, no known word).
        correct: whether the model's top intent equals the label (meaningless for out-of-scope ones).
        confidence: the model's confidence in its top intent (for AUROC).
    """
    oos = np.asarray(is_oos, dtype=bool)
    rej = np.asarray(rejected, dtype=bool)
    right = np.asarray(correct, dtype=bool)
    ins = ~oos
    n_in, n_out = int(ins.sum()), int(oos.sum())
    caught = int((rej & oos).sum())
    recall = caught / n_out if n_out else None
    precision = caught / int(rej.sum()) if n_out and rej.any() else (0.0 if n_out else None)
    f1 = None
    if recall is not None and precision is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return OosFigures(
        in_scope=n_in,
        out_of_scope=n_out,
        accuracy_no_threshold=_round(float(right[ins].mean()) if n_in else None),
        in_scope_accuracy=_round(float((right & ~rej)[ins].mean()) if n_in else None),
        oos_recall=_round(recall),
        oos_precision=_round(precision),
        oos_f1=_round(f1),
        auroc=_round(auroc(confidence, ins) if n_in and n_out else None),
    )


def auroc(scores: Sequence[float] | Any, positive: Sequence[bool] | Any) -> float:
    """Area under the ROC curve: the chance a random positive scores above a random negative.

    Ties count half (the Mann-Whitney statistic), computed from ranks in O(n log n).
    """
    s = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if not n_pos or not n_neg:
        raise ValueError("AUROC needs both positive and negative examples")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_scores = s[order]
    # average ranks over ties
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(s)]
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
