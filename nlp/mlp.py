"""A one-hidden-layer network over sparse TF-IDF features, trained with numpy alone.

Why not a linear model: on BANKING77 validation the hidden layer (256 ReLU units, dropout 0.5)
beat the best linear SVM by about a point (docs/nlp.md), because it learns which feature
*combinations* matter. Why not scikit-learn's ``MLPClassifier``: it updates the whole first
layer with Adam after every batch (tens of millions of weights), which took over a minute per
epoch here. A batch touches only a few thousand feature rows, so this trainer gathers those
rows and applies "lazy" Adam to them alone: seconds per epoch on two cores, no new dependency.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["SparseMLP"]

_LOGGER = logging.getLogger(__name__)

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


class SparseMLP:
    """Softmax classifier ``x -> relu(x W1 + b1) W2 + b2`` for CSR input.

    Args:
        hidden: hidden units.
        dropout: dropout rate on the hidden layer while training.
        learning_rate: Adam step size.
        batch_size: examples per update.
        seed: makes training reproducible.
        average_from: with a value, predictions use the average of the weights at the end of
            every epoch from this one (1-based, counted across ``partial_fit`` calls) on:
            stochastic weight averaging, a flatter and better-generalising solution than the
            last iterate at a constant step size.
    """

    def __init__(
        self,
        *,
        hidden: int = 256,
        dropout: float = 0.5,
        learning_rate: float = 2e-3,
        batch_size: int = 128,
        seed: int = 0,
        average_from: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.average_from = average_from
        self._rng = np.random.default_rng(seed)
        self._epochs_done = 0
        self._average: list[Any] = []  # running means of w1, b1, w2, b2
        self._averaged = 0
        self.w1: Any = None
        self.b1: Any = None
        self.w2: Any = None
        self.b2: Any = None
        self.w1_scale: Any = None  # set by compact(): w1 is then int8, row i scaled by w1_scale[i]
        self._adam: list[Any] = []
        self._step = 0

    def partial_fit(
        self,
        x: Any,
        y: Any,
        *,
        n_classes: int,
        epochs: int,
        progress: Callable[[float], None] | None = None,
    ) -> SparseMLP:
        """Train ``epochs`` more passes over ``(x, y)``; the first call initialises the weights."""
        if self.w1_scale is not None:
            raise RuntimeError("SparseMLP.partial_fit() after compact()")
        if self.w1 is None:
            self._init(x.shape[1], n_classes)
        n = x.shape[0]
        batches = max(1, math.ceil(n / self.batch_size))
        for epoch in range(epochs):
            order = self._rng.permutation(n)
            for b, start in enumerate(range(0, n, self.batch_size)):
                batch = order[start : start + self.batch_size]
                self._update(x[batch], y[batch])
                if progress is not None:  # every batch: a bar that moves per epoch looks stuck
                    progress((epoch + (b + 1) / batches) / epochs)
            self._epochs_done += 1
            if self.average_from is not None and self._epochs_done >= self.average_from:
                self._accumulate()
        return self

    def decision(self, x: Any) -> Any:
        w1, b1, w2, b2 = self._weights()
        if self.w1_scale is not None:  # int8 rows: fold each row's scale into the input instead
            from scipy import sparse  # training and batch scoring only: serving never imports scipy

            x = sparse.csr_matrix(x).multiply(self.w1_scale[None, :]).tocsr().astype(np.float32)
        hidden = np.maximum(np.asarray(x @ w1, dtype=np.float32) + b1, 0.0)
        return hidden @ w2 + b2

    def decision_sparse_row(self, indices: Any, values: Any) -> Any:
        """Scores for one example given as feature indices and values (no matrix built)."""
        w1, b1, w2, b2 = self._weights()
        if self.w1_scale is not None:
            values = values * self.w1_scale[indices]
        hidden = np.maximum(values @ w1[indices] + b1, 0.0)
        return hidden @ w2 + b2

    def compact(self) -> None:
        """Keep only what predicts, with the first layer as int8 rows and one float32 scale each.

        Why: that layer is nearly all of the model (features x hidden units); int8 makes the
        stored model and each serving process's copy a quarter of float32's size. Each row's
        largest weight maps to 127, so a weight moves by at most half a step (0.4 % of the
        row's largest); the BANKING77 accuracy did not change measurably (docs/nlp.md).
        Training cannot continue after this.
        """
        if self.w1 is None or self.w1_scale is not None:
            return
        w1, b1, w2, b2 = self._weights()
        scale = np.abs(w1).max(axis=1) / 127.0
        scale[scale == 0] = 1.0
        self.w1 = np.round(w1 / scale[:, None]).astype(np.int8)
        self.w1_scale = scale.astype(np.float32)
        self.b1, self.w2, self.b2 = b1, w2, b2
        self._average, self._averaged, self._adam = [], 0, []

    def _weights(self) -> tuple[Any, Any, Any, Any]:
        if self._average:
            return self._average[0], self._average[1], self._average[2], self._average[3]
        return self.w1, self.b1, self.w2, self.b2

    def _accumulate(self) -> None:
        params = (self.w1, self.b1, self.w2, self.b2)
        self._averaged += 1
        if not self._average:
            self._average = [p.copy() for p in params]
            return
        weight = 1.0 / self._averaged
        for mean, param in zip(self._average, params, strict=True):
            mean += (param - mean) * weight

    def _init(self, n_features: int, n_classes: int) -> None:
        rng = self._rng
        # Inputs are l2-normalised blocks, so the first layer starts small (shrinking with the
        # vocabulary): large initial rows for rare features overfit before Adam can tame them.
        scale = 0.05 * math.sqrt(2.0 / (0.002 * n_features + 1.0))
        self.w1 = (rng.standard_normal((n_features, self.hidden)) * scale).astype(np.float32)
        self.b1 = np.zeros(self.hidden, dtype=np.float32)
        self.w2 = (rng.standard_normal((self.hidden, n_classes)) * math.sqrt(2.0 / self.hidden)).astype(
            np.float32
        )
        self.b2 = np.zeros(n_classes, dtype=np.float32)
        self._adam = [np.zeros_like(p) for p in (self.w1, self.b1, self.w2, self.b2) for _ in (0, 1)]

    def _update(self, x: Any, y: Any) -> None:
        from scipy import sparse

        # Only the columns this batch uses: renumber them 0..k-1 (much cheaper than x[:, columns]).
        columns, local = np.unique(x.indices, return_inverse=True)
        xc = sparse.csr_matrix((x.data, local.ravel(), x.indptr), shape=(x.shape[0], len(columns)))
        w1c = self.w1[columns]
        pre = np.asarray(xc @ w1c) + self.b1
        hidden = np.maximum(pre, 0.0)
        keep = (self._rng.random(hidden.shape) >= self.dropout).astype(np.float32) / (1.0 - self.dropout)
        dropped = hidden * keep
        logits = dropped @ self.w2 + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        grad = np.exp(logits)
        grad /= grad.sum(axis=1, keepdims=True)
        grad[np.arange(len(y)), y] -= 1.0
        grad /= len(y)
        g_w2 = dropped.T @ grad
        g_b2 = grad.sum(axis=0)
        g_hidden = (grad @ self.w2.T) * keep * (pre > 0)
        g_w1c = np.asarray(xc.T @ g_hidden)
        g_b1 = g_hidden.sum(axis=0)
        self._step += 1
        m1, v1 = self._adam[0], self._adam[1]
        m_rows, v_rows = m1[columns], v1[columns]
        m_rows *= _BETA1
        m_rows += (1 - _BETA1) * g_w1c
        v_rows *= _BETA2
        v_rows += (1 - _BETA2) * (g_w1c * g_w1c)
        m1[columns], v1[columns] = m_rows, v_rows
        w1c -= self._adam_step(m_rows, v_rows)
        self.w1[columns] = w1c
        for i, (param, gradient) in enumerate(((self.b1, g_b1), (self.w2, g_w2), (self.b2, g_b2)), start=1):
            m, v = self._adam[2 * i], self._adam[2 * i + 1]
            m *= _BETA1
            m += (1 - _BETA1) * gradient
            v *= _BETA2
            v += (1 - _BETA2) * gradient * gradient
            param -= self._adam_step(m, v)

    def _adam_step(self, m: Any, v: Any) -> Any:
        scale = self.learning_rate * math.sqrt(1 - _BETA2**self._step) / (1 - _BETA1**self._step)
        denominator = np.sqrt(v)
        denominator += _EPS
        return (scale * m) / denominator

    def __getstate__(self) -> dict[str, Any]:
        """Drop optimiser state (3x the weights) from pickles; a loaded model only predicts."""
        state = dict(self.__dict__)
        state["_adam"] = []
        if self._average:  # only the averaged weights predict; keep one copy
            state["w1"], state["b1"], state["w2"], state["b2"] = self._average
            state["_average"], state["_averaged"] = [], 0
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(
            {"average_from": None, "_epochs_done": 0, "_average": [], "_averaged": 0, "w1_scale": None}
        )
        self.__dict__.update(state)  # pickles from before weight averaging lack those fields
