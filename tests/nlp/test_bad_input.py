"""Whatever a customer sends, analyze() returns a valid Analysis and never raises."""

from __future__ import annotations

import pytest

from nlp import Analysis, AnalysisContext, Pipeline

NASTY = {
    "empty": "",
    "spaces": " \n\t  ",
    "100kb": "where is my order " * 6000,
    "100kb_one_word": "a" * 100_000,
    "emoji_only": "😡😡😡🙄",
    "chinese": "我的订单在哪里\uff1f",
    "arabic": "أين طلبي؟ order 12345",
    "mixed": "Hello 你好 مرحبا Привет",
    "control": "\x00\x01\x02where\x07 is\x1b[31m my order\x7f",
    "lone_surrogate": "refund \ud800 please",
    "rtl_marks": "\u200f\u202eorder\u202c status",
    "zalgo": "h̷̢e̸l̵p̶ m̷e̷",
    "only_punct": "?!?!...,,,",
    "huge_number": "9" * 5000,
    "many_emails": " ".join(f"user{i}@example.com" for i in range(2000)),
}


@pytest.mark.parametrize("text", NASTY.values(), ids=NASTY.keys())
def test_nasty_input_gives_valid_analysis(shop_pipeline: Pipeline, text: str) -> None:
    analysis = shop_pipeline.analyze(text, AnalysisContext(channel="webchat", language=None))

    assert isinstance(analysis, Analysis)
    assert analysis.text == text
    assert -1.0 <= analysis.sentiment.score <= 1.0
    assert analysis.sentiment.label in {"negative", "neutral", "positive"}
    for entity in analysis.entities:
        assert text[entity.start : entity.end] == entity.text
    for intent in analysis.intents:
        assert 0.0 <= intent.confidence <= 1.0
    if analysis.out_of_scope:
        assert analysis.intent is None


@pytest.mark.parametrize("text", ["", "   ", "😡😡", "?!"])
def test_text_without_words_is_out_of_scope(shop_pipeline: Pipeline, text: str) -> None:
    analysis = shop_pipeline.analyze(text, AnalysisContext())

    assert analysis.out_of_scope
    assert analysis.intents == ()


def test_without_a_model_every_message_is_out_of_scope() -> None:
    analysis = Pipeline(faqs=[]).analyze("where is my order?", AnalysisContext(language="de"))

    assert analysis.intents == ()
    assert analysis.out_of_scope
    assert analysis.model_version is None
    assert analysis.language == "en"  # detected from the text: it beats the hint (nlp/language.py)


def test_entities_beyond_the_analysed_prefix_are_ignored_but_text_is_kept() -> None:
    text = "x " * 20_000 + "mail me at late@example.com"
    analysis = Pipeline(max_chars=1000).analyze(text, AnalysisContext())

    assert analysis.text == text
    assert analysis.entities_of("email") == []
