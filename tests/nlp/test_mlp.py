"""The numpy network trainer: learning, weight averaging and what a pickle keeps."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import sparse

from nlp.mlp import SparseMLP


def _data() -> tuple[sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=300)
    dense = rng.random((300, 40)) * (rng.random((300, 40)) < 0.1)
    dense[np.arange(300), y] += 1.0  # feature k marks class k
    return sparse.csr_matrix(dense.astype(np.float32)), y


def test_learns_a_separable_problem() -> None:
    x, y = _data()
    net = SparseMLP(hidden=16, dropout=0.1, batch_size=32, seed=1)
    net.partial_fit(x, y, n_classes=3, epochs=15)
    assert float(np.mean(net.decision(x).argmax(axis=1) == y)) > 0.95


def test_predicts_with_the_mean_of_the_averaged_epochs_and_pickles_only_that() -> None:
    x, y = _data()
    net = SparseMLP(hidden=8, batch_size=64, average_from=2, seed=0)
    snapshots = []
    for _ in range(3):
        net.partial_fit(x, y, n_classes=3, epochs=1)
        snapshots.append([p.copy() for p in (net.w1, net.b1, net.w2, net.b2)])
    w1, b1, w2, b2 = (np.mean([s[i] for s in snapshots[1:]], axis=0) for i in range(4))
    expected = np.maximum(x.toarray() @ w1 + b1, 0.0) @ w2 + b2

    assert net.decision(x) == pytest.approx(expected, abs=1e-4)
    row = x[5]
    assert net.decision_sparse_row(row.indices, row.data) == pytest.approx(expected[5], abs=1e-4)
    loaded = pickle.loads(pickle.dumps(net))
    assert loaded._average == [] and loaded._adam == []
    assert loaded.decision(x) == pytest.approx(expected, abs=1e-4)
