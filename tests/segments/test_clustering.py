"""nlp/segments.py on synthetic customers: clearly different behaviour gets the expected names,
the same data gives the same segments, few customers are named by the fixed rules."""

from __future__ import annotations

import math

import numpy as np

from nlp.segments import FEATURES, MIN_CLUSTERED, FeatureTable, name_clusters, rule_name, segment_customers

PROFILES = {
    "loyal": dict(recency_days=3, tenure_days=400, conversations_90d=6, channels=2, open_tickets=0,
                  past_tickets=2, negative_share=0.05, complaints_90d=0, csat=4.8),
    "at-risk": dict(recency_days=5, tenure_days=300, conversations_90d=3, channels=1, open_tickets=1,
                    past_tickets=2, negative_share=0.7, complaints_90d=3, csat=1.5),
    "dormant": dict(recency_days=200, tenure_days=500, conversations_90d=0, channels=1, open_tickets=0,
                    past_tickets=1, negative_share=0.0, complaints_90d=0, csat=math.nan),
    "new": dict(recency_days=2, tenure_days=3, conversations_90d=1, channels=1, open_tickets=0,
                past_tickets=0, negative_share=0.0, complaints_90d=0, csat=math.nan),
    "heavy-support": dict(recency_days=4, tenure_days=350, conversations_90d=5, channels=2, open_tickets=4,
                          past_tickets=15, negative_share=0.15, complaints_90d=0, csat=3.8),
}  # fmt: skip


def synthetic(per_group: int, *, seed: int = 1, groups: tuple[str, ...] = tuple(PROFILES)) -> tuple[
    FeatureTable, dict[int, str]
]:  # fmt: skip
    """``per_group`` noisy customers of each profile (ids shuffled), and the profile of each id."""
    rng = np.random.default_rng(seed)
    rows = [(name, PROFILES[name]) for name in groups for _ in range(per_group)]
    ids = [int(i) for i in rng.permutation(len(rows)) + 100]
    columns: dict[str, list[float]] = {f: [] for f in FEATURES}
    for _name, profile in rows:
        for f in FEATURES:
            v = profile[f]
            columns[f].append(v if math.isnan(v) else max(0.0, v * (1 + rng.normal(0, 0.15))))
    return FeatureTable(ids, columns), {i: name for i, (name, _p) in zip(ids, rows, strict=True)}


def test_clearly_different_customers_get_the_names_of_their_behaviour() -> None:
    table, truth = synthetic(30)
    result = segment_customers(table)
    assert result.method == "kmeans" and result.k == 5
    assert result.silhouette is not None and result.silhouette > 0.5
    assert set(result.scores) == set(range(3, 9)) and max(result.scores.values()) == result.silhouette
    assert result.assignment == truth
    assert sorted(s.name for s in result.segments) == sorted(PROFILES)
    risky = next(s for s in result.segments if s.name == "at-risk")
    assert risky.size == 30 and risky.centroid["csat"] is not None and risky.centroid["csat"] < 2
    assert risky.description.startswith("negative sentiment, complaints or low CSAT: 30 customers;")
    assert "% negative messages, 3.1 complaints, CSAT 1.5" in risky.description
    dormant = next(s for s in result.segments if s.name == "dormant")
    assert dormant.centroid["csat"] is None and "not rated" in dormant.description


def test_same_data_same_segments_in_any_row_order() -> None:
    table, _truth = synthetic(25, seed=7)
    first = segment_customers(table)
    order = list(reversed(range(len(table.ids))))
    shuffled = FeatureTable(
        [table.ids[i] for i in order], {f: [table.columns[f][i] for i in order] for f in FEATURES}
    )
    assert segment_customers(shuffled) == segment_customers(table) == first


def test_names_are_unique_and_leftovers_are_regular() -> None:
    centres = np.zeros((4, len(FEATURES)))
    centres[0, FEATURES.index("negative_share")] = 2.0
    centres[1, FEATURES.index("complaints_90d")] = 1.5  # at-risk too, but the name is taken
    assert name_clusters(centres) == ["at-risk", "regular", "regular-2", "regular-3"]


def test_few_customers_are_named_by_fixed_rules() -> None:
    table, truth = synthetic(3)
    assert len(table.ids) < MIN_CLUSTERED
    result = segment_customers(table)
    assert result.method == "rule" and result.silhouette is None and result.scores == {}
    assert result.assignment == truth
    assert rule_name({**PROFILES["loyal"], "csat": math.nan}) == "loyal"
    assert segment_customers(FeatureTable([], {f: [] for f in FEATURES})).segments == ()


def test_identical_customers_are_not_forced_into_clusters() -> None:
    table, _truth = synthetic(30, groups=("new",))
    same = FeatureTable(table.ids, {f: [PROFILES["new"][f]] * len(table.ids) for f in FEATURES})
    result = segment_customers(same)
    assert result.method == "rule" and {s.name for s in result.segments} == {"new"}
