from __future__ import annotations

import pytest

from nlp.faq import FaqMatcher
from nlp.types import FaqEntry

FAQ = FaqMatcher(
    [
        FaqEntry("opening_hours", ("What are your opening hours?", "When are you open?"), "9-18"),
        FaqEntry("shipping_cost", ("How much is shipping?", "What does delivery cost?"), "4.90"),
        FaqEntry("returns", ("How do I return an item?", "What is your return policy?"), "30 days"),
    ]
)


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("what are youre opning hours", "opening_hours"),
        ("WHEN R U OPEN??", "opening_hours"),
        ("how much is shiping", "shipping_cost"),
        ("waht does delivrey cost", "shipping_cost"),
        ("retrun policy?", "returns"),
    ],
)
def test_typos_still_find_the_right_faq(text: str, faq_id: str) -> None:
    best = FAQ.match(text)[0]

    assert best.faq_id == faq_id
    assert best.score >= 0.7


def test_candidates_are_ranked_and_unique() -> None:
    candidates = FAQ.match("how much does delivery cost")

    assert [c.score for c in candidates] == sorted((c.score for c in candidates), reverse=True)
    assert len({c.faq_id for c in candidates}) == len(candidates)


def test_no_faqs_or_empty_text_gives_nothing() -> None:
    assert FaqMatcher([]).match("hello") == ()
    assert FAQ.match("") == ()
    assert FAQ.match("!!!") == ()
