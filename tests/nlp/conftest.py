"""Fixtures for the NLP tests: one small model trained once on the example shop's intents."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from nlp import IntentModel, Pipeline, TrainingExample, train
from nlp.intent import IntentClassifier
from nlp.types import FaqEntry
from rules.intents_file import load_nlu_rulebook

RULEBOOK = Path(__file__).resolve().parents[2] / "rulebook"


@pytest.fixture(scope="session")
def shop_examples() -> tuple[TrainingExample, ...]:
    """The example rulebook's in-scope examples (its `oos` examples are left out: tests add their own)."""
    intents = load_nlu_rulebook(RULEBOOK).intents
    assert intents is not None
    return tuple(e for e in intents.examples if e.intent != intents.oos_label)


@pytest.fixture(scope="session")
def shop_model(shop_examples: tuple[TrainingExample, ...]) -> IntentModel:
    return train(shop_examples)


@pytest.fixture(scope="session")
def shop_classifier(shop_examples: tuple[TrainingExample, ...]) -> IntentClassifier:
    """Fitted, not compacted: its vectorizers are still scikit-learn's, to pin the fast path to."""
    return IntentClassifier().fit([e.text for e in shop_examples], [e.intent for e in shop_examples])


@pytest.fixture(scope="session")
def shop_pipeline(shop_model: IntentModel) -> Pipeline:
    rulebook = load_nlu_rulebook(RULEBOOK)
    faqs = [
        FaqEntry("opening_hours", ("What are your opening hours?", "When are you open?"), "9-18"),
        FaqEntry("shipping_cost", ("How much is shipping?", "What does delivery cost?"), "4.90 EUR"),
        FaqEntry("returns", ("How do I return an item?", "How do I get a refund?"), "30 days"),
    ]
    return Pipeline(
        faqs=faqs,
        model=shop_model,
        sentiment_lexicon=rulebook.sentiment_lexicon,
        entity_patterns=rulebook.entity_patterns,
        gazetteers=rulebook.gazetteers,
        today=lambda: date(2026, 3, 10),
    )
