"""Grouping messages the bot did not handle into topics an admin can act on.

TF-IDF of words and word pairs (English stop words out) beside TF-IDF of character 3-5-grams
(so "ship", "shipping" and typos land together), then k-means on the L2-normalised vectors
(spherical: cosine similarity), k chosen by the silhouette score (cosine) among 2 to about the
square root of the number of distinct texts (at most ``max_clusters``: more would split topics
into single messages, which silhouette rewards on short texts), weighted by how often each
distinct text was sent. Each
topic is described by its centroid's heaviest terms and its most typical messages (nearest to
the centroid). Seeded: the same messages give the same topics.

scikit-learn is imported inside :func:`cluster_texts` only: serving processes never import it
(memory, see docs/performance.md); the console runs this in a short-lived worker process.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["TextCluster", "cluster_texts", "suggested_name"]

_SPACE = re.compile(r"\s+")
_MIN_TEXTS = 4


@dataclass(frozen=True, slots=True)
class TextCluster:
    size: int  # messages, repeats included
    terms: tuple[str, ...]  # heaviest centroid terms, best first
    examples: tuple[str, ...]  # most typical distinct texts, nearest to the centroid first
    members: tuple[str, ...]  # every distinct text in it (as first written), most sent first


def _key(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower())


def cluster_texts(
    texts: Sequence[str], *, max_clusters: int = 12, examples: int = 5, terms: int = 6, seed: int = 0
) -> list[TextCluster]:
    """Topics of ``texts``, largest first; fewer than four distinct texts make one topic."""
    counts: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for text in texts:
        key = _key(text)
        if key:
            counts[key] += 1
            shown.setdefault(key, text.strip())
    distinct = sorted(counts, key=lambda k: (-counts[k], k))
    if not distinct:
        return []

    import numpy as np
    from scipy.sparse import hstack
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import normalize

    words = TfidfVectorizer(ngram_range=(1, 2), stop_words="english", sublinear_tf=True)
    try:
        word_matrix = words.fit_transform(distinct)
    except ValueError:  # only stop words: nothing to tell the texts apart
        return [TextCluster(int(sum(counts.values())), (), tuple(shown[k] for k in distinct[:examples]),
                            tuple(shown[k] for k in distinct))]  # fmt: skip
    weights = np.array([counts[k] for k in distinct], dtype=float)
    vocabulary = np.array(words.get_feature_names_out())
    if len(distinct) < _MIN_TEXTS:  # too few to split: one topic
        return [_one(distinct, shown, weights, word_matrix, vocabulary, examples, terms)]
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
    matrix = normalize(hstack([word_matrix, chars.fit_transform(distinct)]).tocsr())
    best: tuple[float, object] | None = None
    most = min(max_clusters, max(2, round(len(distinct) ** 0.5)), len(distinct) - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # texts that differ in stop words only
        for k in range(2, most + 1):
            model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(matrix, sample_weight=weights)
            if len(set(model.labels_)) < 2:
                continue
            score = float(silhouette_score(matrix, model.labels_, metric="cosine", random_state=seed))
            if best is None or score > best[0] + 1e-9:
                best = (score, model)
    if best is None:
        return [_one(distinct, shown, weights, word_matrix, vocabulary, examples, terms)]
    model = best[1]
    labels = model.labels_  # type: ignore[attr-defined]
    centers = model.cluster_centers_  # type: ignore[attr-defined]
    clusters = []
    for label in range(len(centers)):
        rows = np.flatnonzero(labels == label)
        if rows.size == 0:
            continue
        near = rows[np.argsort(-(matrix[rows] @ centers[label]))]
        top = _terms(word_matrix, weights, rows, vocabulary, terms)
        members = sorted(rows, key=lambda r: (-counts[distinct[r]], distinct[r]))
        clusters.append(
            TextCluster(
                size=int(weights[rows].sum()),
                terms=top,
                examples=tuple(shown[distinct[r]] for r in near[:examples]),
                members=tuple(shown[distinct[r]] for r in members),
            )
        )
    return sorted(clusters, key=lambda c: (-c.size, c.terms))


def _terms(word_matrix: Any, weights: Any, rows: Any, vocabulary: Any, terms: int) -> tuple[str, ...]:
    """The heaviest words of ``rows``, each text weighted by how often it was sent."""
    import numpy as np

    center = np.asarray(word_matrix[rows].multiply(weights[rows, None]).sum(axis=0)).ravel()
    return tuple(str(vocabulary[i]) for i in np.argsort(-center)[:terms] if center[i] > 0)


def _one(
    distinct: list[str], shown: dict[str, str], weights: Any, word_matrix: Any, vocabulary: Any,
    examples: int, terms: int,
) -> TextCluster:  # fmt: skip
    import numpy as np

    rows = np.arange(len(distinct))
    return TextCluster(
        size=int(weights.sum()), terms=_terms(word_matrix, weights, rows, vocabulary, terms),
        examples=tuple(shown[k] for k in distinct[:examples]), members=tuple(shown[k] for k in distinct),
    )  # fmt: skip


def suggested_name(cluster: TextCluster) -> str:
    """A snake_case name for a new intent or FAQ from the topic's first terms (``topic`` if none)."""
    words: list[str] = []
    for term in cluster.terms:
        for word in re.findall(r"[a-z0-9]+", term.lower()):
            if word not in words:
                words.append(word)
        if len(words) >= 3:
            break
    return "_".join(words[:3]) or "topic"
