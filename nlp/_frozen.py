"""Fitted TF-IDF vocabularies as plain data, so serving a model never imports scikit-learn.

Why: importing ``sklearn.feature_extraction.text`` costs about 68 MB of resident memory in
every process that unpickles a model (the server and each analysis worker), and serving never
uses it: single messages are featurised by :class:`nlp._fastpath.FeatureRows`, which reads
only the attributes kept here (the same names as scikit-learn's, so it needs no second code
path). A trained classifier swaps its ``FeatureUnion`` for a :class:`FrozenFeatures` in
:meth:`nlp.intent.IntentClassifier.compact`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FrozenBlock", "FrozenFeatures", "freeze"]


@dataclass(slots=True)
class FrozenBlock:
    """One fitted ``TfidfVectorizer``: what featurising needs, under scikit-learn's names."""

    vocabulary_: dict[str, int]
    idf_: Any  # float32, one per column
    analyzer: Callable[[str], list[str]] | str
    preprocessor: Callable[[str], str] | None
    ngram_range: tuple[int, int]


@dataclass(slots=True)
class FrozenFeatures:
    """The blocks of a fitted ``FeatureUnion``, in order (``transformer_list`` like the union's)."""

    transformer_list: list[tuple[str, FrozenBlock]]


def freeze(union: Any) -> FrozenFeatures:
    """Plain copies of a fitted union's vectorizers (they are left as they are)."""
    blocks = []
    for name, vectorizer in union.transformer_list:
        blocks.append(
            (
                name,
                FrozenBlock(
                    vocabulary_=dict(vectorizer.vocabulary_),
                    idf_=np.asarray(vectorizer.idf_, dtype=np.float32),
                    analyzer=vectorizer.analyzer,
                    preprocessor=vectorizer.preprocessor,
                    ngram_range=tuple(vectorizer.ngram_range),
                ),
            )
        )
    return FrozenFeatures(blocks)
