from __future__ import annotations

import pytest

from nlp.sentiment import SentimentAnalyzer

S = SentimentAnalyzer()


@pytest.mark.parametrize(
    "text",
    [
        "This is the third time I'm asking!",
        "still not fixed",
        "I've been waiting for weeks now and nobody has answered",
        "THIS IS UNACCEPTABLE",
        "worst service ever",
        "not happy at all",
        "😡",
        "the parcel arrived broken :(",
        "I'm fed up with this",
        "good app but the delivery was terrible",
    ],
)
def test_complaints_are_negative(text: str) -> None:
    assert S.score(text).label == "negative"


@pytest.mark.parametrize(
    "text", ["Thanks, great service!", "I love it 😍", "not bad at all", "super quick delivery, thank you :)"]
)
def test_praise_is_positive(text: str) -> None:
    assert S.score(text).label == "positive"


@pytest.mark.parametrize("text", ["where is my order?", "what are your opening hours", "", "12345", "你好"])
def test_plain_questions_are_neutral(text: str) -> None:
    assert S.score(text).label == "neutral"


def test_negation_flips_and_intensifiers_and_caps_strengthen() -> None:
    good = S.score("the service was good").score
    assert S.score("the service was not good").score < 0 < good
    assert S.score("the service was very good").score > good
    assert S.score("the service was GOOD").score > good
    assert S.score("bad!!!").score < S.score("bad").score < 0


def test_admin_lexicon_extends_and_overrides() -> None:
    custom = SentimentAnalyzer(extra={"lifesaver": 3.0, "good": -1.0, "falling apart": -2.5})

    assert custom.score("the courier was a lifesaver").label == "positive"
    assert custom.score("good").label == "negative"
    assert custom.score("my boots are falling apart").label == "negative"
    assert S.score("the courier was a lifesaver").label == "neutral"


def test_score_stays_in_range_for_extreme_text() -> None:
    assert S.score("terrible " * 10_000).score >= -1.0
    assert S.score("excellent " * 10_000).score <= 1.0
