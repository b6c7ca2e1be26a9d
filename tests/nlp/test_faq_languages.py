"""FAQ matching over every language's questions: one vector space per language.

A German paraphrase finds its FAQ through the German questions and examples; adding
translations leaves the English variants' scores as they were (``frontdesk nlu evaluate --task
faq`` on bench/data/faq_dev.csv gives the same figures with the example rulebook's translations).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.faq import FaqMatcher
from nlp.types import FaqEntry, FaqTranslation
from rules.rulebook import load_rulebook

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = (
    FaqEntry("shipping", ("How much is shipping?", "What does delivery cost?"), "4.90 EUR", language="en"),
    FaqEntry(
        "returns", ("How do I return an item?", "What is your return policy?"), "30 days", language="en"
    ),
    FaqEntry("hours", ("What are your opening hours?", "When are you open?"), "9-18", language="en"),
)
GERMAN = {
    "shipping": FaqTranslation(
        "de", ("Was kostet der Versand?",), ("ab wann ist die lieferung gratis",), "4,90 EUR"
    ),
    "returns": FaqTranslation(
        "de", ("Wie kann ich einen Artikel zurücksenden?",), ("die jacke passt nicht",), "30 Tage"
    ),
    "hours": FaqTranslation("de", ("Wann haben Sie geöffnet?",), ("habt ihr samstags offen",), "9-18 Uhr"),
}


def _with_german() -> list[FaqEntry]:
    return [
        FaqEntry(e.id, e.questions, e.answer, e.label, e.examples, e.language, (GERMAN[e.id],))
        for e in ENGLISH
    ]


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("Was kostet der Versand nach Österreich?", "shipping"),
        ("ist die lieferung gratis", "shipping"),
        ("kann ich einen artikel zurücksenden", "returns"),
        ("habt ihr am samstag offen?", "hours"),
    ],
)
def test_a_german_question_finds_its_faq(text: str, faq_id: str) -> None:
    best = FaqMatcher(_with_german()).match(text)[0]

    assert best.faq_id == faq_id
    assert best.score >= 0.8


def test_translations_leave_the_english_scores_unchanged() -> None:
    texts = [
        "how much is shiping",
        "can i send my jacket back",
        "are you open on sunday",
        "who won the match",
    ]
    before = FaqMatcher(ENGLISH).raw_scores(texts)
    after = FaqMatcher(_with_german()).raw_scores(texts)

    assert before[0] == after[0]
    # Each method scores the best variant of any language: English variants score as before
    # (their own vector space), so an FAQ's score can only rise; the ranking stays.
    for method in (1, 2):
        assert (after[method] >= before[method]).all()
    ranked = [m[0].faq_id for m in FaqMatcher(_with_german()).match_many(texts)]
    assert ranked == [m[0].faq_id for m in FaqMatcher(ENGLISH).match_many(texts)]


def test_the_example_rulebook_answers_every_faq_in_four_languages() -> None:
    faqs = load_rulebook(ROOT / "rulebook").faqs

    for faq in faqs:
        assert set(faq.answers()) == {"en", "de", "fr", "es"}, faq.id
        assert set(faq.labels()) == {"en", "de", "fr", "es"}, faq.id
        assert {language for language, _ in faq.variants()} == {"en", "de", "fr", "es"}, faq.id
