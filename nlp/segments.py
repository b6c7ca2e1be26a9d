"""Customer segments: cluster customers on their contact and support behaviour, then name each
cluster from its centroid in plain words. Pure and CPU-only: no storage, no I/O (docs/segments.md).

Input: one row per customer, columnar (:class:`FeatureTable`), in the units of :data:`FEATURES`.
Counts and day spans are ``log1p``-scaled (a customer with 40 tickets is not 40 times as
different as one with 1), then every column is standardised (``StandardScaler``), so a centroid's
coordinates are z-scores against the whole population: "1.2 standard deviations more negative
than the average customer". A missing CSAT (never rated) is set to the population's mean rating
before scaling, so it pulls a customer towards no segment.

The number of clusters ``k`` is the one with the best silhouette score for k = 3..8 (ties: the
smaller k), measured on a seeded sample of at most :data:`SAMPLE` customers (silhouette is
quadratic in the sample). The final model is ``KMeans`` (``n_init=10``) up to :data:`FULL_KMEANS`
customers and ``MiniBatchKMeans`` beyond, seeded, on every customer. Rows are sorted by customer
id first, so the same data gives the same segments. Under :data:`MIN_CLUSTERED` customers there
is nothing to cluster: each customer gets a name by the fixed thresholds of :func:`rule_name`.

Naming (:func:`name_clusters`): each candidate name has a score over the centroid's z-scores
(:data:`_SCORES`); the best (cluster, name) pair above :data:`NAME_THRESHOLD` takes that name,
then the next best among what is left, until no pair scores enough; clusters left over are
``regular`` (then ``regular-2``…). Names are therefore unique within a run and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "FEATURES",
    "MIN_CLUSTERED",
    "NAMES",
    "FeatureTable",
    "Segment",
    "Segmentation",
    "describe",
    "name_clusters",
    "rule_name",
    "segment_customers",
]

#: The columns of a feature table, in this order.
FEATURES = (
    "recency_days",  # days since the customer's last message (or since the record was made)
    "tenure_days",  # days since the customer record was made
    "conversations_90d",  # conversations with a message in the last 90 days
    "channels",  # distinct channels ever used
    "open_tickets",  # tickets not solved or closed
    "past_tickets",  # tickets solved or closed
    "negative_share",  # share of the customer's messages of the last 90 days labelled negative, 0-1
    "complaints_90d",  # messages of the last 90 days flagged as complaints
    "csat",  # mean CSAT 1-5; NaN when never rated
)
_LOG = frozenset(
    {"recency_days", "tenure_days", "conversations_90d", "channels", "open_tickets", "past_tickets",
     "complaints_90d"}
)  # fmt: skip
MIN_CLUSTERED = 20  # fewer customers: named one by one by rule_name, no clustering
K_RANGE = range(3, 9)
SAMPLE = 4000  # customers the silhouette (quadratic) is measured on
FULL_KMEANS = 50_000  # more customers: MiniBatchKMeans
SEED = 25
NAME_THRESHOLD = 0.4
NAMES = ("at-risk", "heavy-support", "dormant", "new", "loyal", "multichannel", "regular")

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FeatureTable:
    """Customers (``ids``) and one array per feature name of :data:`FEATURES`, aligned with them."""

    ids: Sequence[int]
    columns: Mapping[str, Sequence[float]]


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    description: str
    size: int
    centroid: dict[str, float | None]  # the members' mean of each feature (csat: of the rated; None: none)


@dataclass(frozen=True, slots=True)
class Segmentation:
    method: str  # "kmeans", "minibatch" or "rule" (too few customers to cluster)
    k: int  # segments found
    silhouette: float | None  # of the chosen k on the sample; None for "rule"
    scores: dict[int, float]  # the silhouette of each k tried
    segments: tuple[Segment, ...]  # largest first
    assignment: dict[int, str]  # customer id → segment name


def segment_customers(table: FeatureTable) -> Segmentation:
    """Segment the customers of ``table``; see the module docstring for how."""
    order = np.argsort(np.asarray(table.ids, dtype=np.int64), kind="stable")
    from sklearn.cluster import KMeans, MiniBatchKMeans  # here: importing nlp loads no scikit-learn
    from sklearn.metrics import silhouette_score

    ids = np.asarray(table.ids, dtype=np.int64)[order]
    raw = np.column_stack([np.asarray(table.columns[f], dtype=np.float64)[order] for f in FEATURES])
    if len(ids) == 0:
        return Segmentation("rule", 0, None, {}, (), {})
    scaled = _scale(raw)
    if len(ids) < MIN_CLUSTERED or len(np.unique(scaled, axis=0)) <= K_RANGE.start:
        names = [rule_name(dict(zip(FEATURES, row, strict=True))) for row in raw]
        return _result("rule", None, {}, ids, raw, names)
    sample = _sample(len(ids))
    scores: dict[int, float] = {}
    distinct = len(np.unique(scaled[sample], axis=0))  # more clusters than points: nothing to learn
    for k in K_RANGE:
        if k > distinct or k >= len(sample):
            break
        labels = KMeans(n_clusters=k, n_init=4, random_state=SEED).fit_predict(scaled[sample])
        if len(set(labels.tolist())) < 2:
            continue
        scores[k] = float(silhouette_score(scaled[sample], labels))
    k = max(scores, key=lambda c: (round(scores[c], 6), -c)) if scores else K_RANGE.start
    if len(ids) <= FULL_KMEANS:
        method, model = "kmeans", KMeans(n_clusters=k, n_init=10, random_state=SEED)
    else:
        method = "minibatch"
        model = MiniBatchKMeans(n_clusters=k, n_init=3, batch_size=4096, random_state=SEED)
    labels = model.fit_predict(scaled)
    used = sorted(set(labels.tolist()))
    centres = np.vstack([scaled[labels == c].mean(axis=0) for c in used])
    means = [_plain_means(raw[labels == c]) for c in used]
    named = name_clusters(centres, means)
    names = [named[used.index(int(c))] for c in labels]
    return _result(method, scores.get(k), scores, ids, raw, names)


def _scale(raw: Floats) -> Floats:
    data = raw.copy()
    csat = data[:, FEATURES.index("csat")]
    rated = ~np.isnan(csat)
    csat[~rated] = float(csat[rated].mean()) if rated.any() else 3.0
    for i, name in enumerate(FEATURES):
        if name in _LOG:
            data[:, i] = np.log1p(np.clip(data[:, i], 0, None))
    from sklearn.preprocessing import StandardScaler

    scaled: Floats = StandardScaler().fit_transform(data)
    return scaled


def _sample(n: int) -> npt.NDArray[np.int64]:
    if n <= SAMPLE:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(SEED).choice(n, size=SAMPLE, replace=False))


def _z(centre: Floats, name: str) -> float:
    return float(centre[FEATURES.index(name)])


# Candidate names and how strongly a centroid (z-scores) fits each; the best fits win, once each.
_SCORES: dict[str, Callable[[Floats], float]] = {
    "at-risk": lambda c: max(_z(c, "negative_share"), _z(c, "complaints_90d"), -_z(c, "csat")),
    "heavy-support": lambda c: (_z(c, "open_tickets") + _z(c, "past_tickets")) / 2,
    "dormant": lambda c: _z(c, "recency_days") - max(_z(c, "conversations_90d"), 0.0),
    "new": lambda c: -_z(c, "tenure_days"),
    "loyal": lambda c: (
        (_z(c, "conversations_90d") - _z(c, "recency_days") + _z(c, "csat")) / 2
        - max(_z(c, "negative_share"), _z(c, "complaints_90d"), 0.0)
    ),
    "multichannel": lambda c: _z(c, "channels"),
}


# What a centroid must also be in plain units to carry the name: relative fit alone would call
# the least-old cluster "new" even when its customers have been with us for a year.
_GUARDS: dict[str, Callable[[Mapping[str, float]], bool]] = {
    "at-risk": lambda m: m["negative_share"] >= 0.2 or m["complaints_90d"] >= 0.5 or m["csat"] <= 3,
    "heavy-support": lambda m: m["open_tickets"] + m["past_tickets"] >= 2,
    "dormant": lambda m: m["recency_days"] >= 30,
    "new": lambda m: m["tenure_days"] <= 30,
    "loyal": lambda m: m["conversations_90d"] >= 1 and m["negative_share"] < 0.2 and m["csat"] >= 3.5,
    "multichannel": lambda m: m["channels"] >= 1.5,
}


def name_clusters(centres: Floats, means: Sequence[Mapping[str, float]] | None = None) -> list[str]:
    """A unique name per centroid row (z-scores in :data:`FEATURES` order), greedily by fit;
    ``means``: each cluster's mean in plain units (csat NaN: none rated), checked by the guards."""
    scored = enumerate(_SCORES.items())
    pairs = sorted((-score(c), j, i, name) for j, (name, score) in scored for i, c in enumerate(centres))
    names: dict[int, str] = {}
    taken: set[str] = set()
    for negative, _j, i, name in pairs:
        if -negative < NAME_THRESHOLD:
            break
        if means is not None and not _GUARDS[name]({**means[i], "csat": _csat(means[i])}):
            continue
        if i not in names and name not in taken:
            names[i] = name
            taken.add(name)
    extra = 0
    for i in range(len(centres)):
        if i not in names:
            extra += 1
            names[i] = "regular" if extra == 1 else f"regular-{extra}"
    return [names[i] for i in range(len(centres))]


def _plain_means(members: Floats) -> dict[str, float]:
    """Each feature's mean over ``members`` in its own unit (csat: of the rated, NaN if none)."""
    out = {f: float(members[:, i].mean()) for i, f in enumerate(FEATURES) if f != "csat"}
    csat = members[:, FEATURES.index("csat")]
    out["csat"] = float(csat[~np.isnan(csat)].mean()) if (~np.isnan(csat)).any() else math.nan
    return out


def _csat(mean: Mapping[str, float]) -> float:
    """An unrated cluster's CSAT for the guards: neutral (3.5 passes loyal, fails at-risk)."""
    value = mean["csat"]
    return 3.5 if math.isnan(value) else value


def rule_name(row: Mapping[str, float]) -> str:
    """Fixed thresholds for one customer, used when there are too few to cluster."""
    csat = row["csat"]
    if row["negative_share"] >= 0.5 or row["complaints_90d"] >= 1 or (not math.isnan(csat) and csat <= 2):
        return "at-risk"
    if row["open_tickets"] + row["past_tickets"] >= 3:
        return "heavy-support"
    if row["recency_days"] >= 60:
        return "dormant"
    if row["tenure_days"] <= 14:
        return "new"
    if row["conversations_90d"] >= 2 and (math.isnan(csat) or csat >= 4):
        return "loyal"
    return "regular"


_MEANING = {
    "at-risk": "negative sentiment, complaints or low CSAT",
    "heavy-support": "many tickets",
    "dormant": "no contact for a long time",
    "new": "recently became customers",
    "loyal": "frequent recent contact and good CSAT",
    "multichannel": "reach us on several channels",
    "regular": "close to the average customer",
}


def describe(name: str, centroid: Mapping[str, float | None], size: int) -> str:
    """One line: what the name means, then the centroid's figures."""
    base = name.rsplit("-", 1)[0] if name.startswith("regular-") else name
    csat = centroid.get("csat")
    rated = "not rated" if csat is None else f"CSAT {csat:.1f}"
    c = {f: float(v or 0.0) for f, v in centroid.items()}
    return (
        f"{_MEANING.get(base, base)}: {size} customers; last contact {c['recency_days']:.0f} days ago, "
        f"customer for {c['tenure_days']:.0f} days, {c['conversations_90d']:.1f} conversations "
        f"in 90 days on {c['channels']:.1f} channels, {c['open_tickets']:.1f} open and "
        f"{c['past_tickets']:.1f} past tickets, {c['negative_share']:.0%} negative messages, "
        f"{c['complaints_90d']:.1f} complaints, {rated}"
    )


def _result(
    method: str, silhouette: float | None, scores: dict[int, float], ids: npt.NDArray[np.int64],
    raw: Floats, names: Sequence[str],
) -> Segmentation:  # fmt: skip
    labels = np.asarray(names)
    segments = []
    for name in sorted(set(names)):
        members = raw[labels == name]
        csat = members[:, FEATURES.index("csat")]
        rated = csat[~np.isnan(csat)]
        centroid: dict[str, float | None] = {
            f: round(float(members[:, i].mean()), 4) for i, f in enumerate(FEATURES) if f != "csat"
        }
        centroid["csat"] = round(float(rated.mean()), 4) if len(rated) else None
        segments.append(Segment(name, describe(name, centroid, len(members)), len(members), centroid))
    segments.sort(key=lambda s: (-s.size, s.name))
    assignment = dict(zip(ids.tolist(), names, strict=True))
    return Segmentation(method, len(segments), silhouette, scores, tuple(segments), assignment)
