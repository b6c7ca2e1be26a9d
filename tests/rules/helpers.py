"""Factories for rule tests: analyses built by hand, rulebooks written to a temp folder."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nlp.types import Analysis, Entity, FaqCandidate, IntentScore, Sentiment
from rules.engine import Engine
from rules.facts import ConversationFacts, CustomerFacts, RuleFacts
from rules.loader import RuleSet, load_ruleset

ROOT = Path(__file__).resolve().parents[2]
FAQ = """
faq:
  - id: opening_hours
    questions: ["What are your opening hours?"]
    answer: We are open 9-18.
  - id: shipping
    questions: ["How much is shipping?"]
    answer: Shipping is 4.90 EUR.
"""
CALENDARS = """
calendars:
  shop:
    timezone: Europe/Berlin
    hours:
      mon-fri: "09:00-18:00"
      sat: "10:00-16:00"
    closed: [2025-12-25]
"""
# Tuesday 3 June 2025, 11:00 in Berlin (09:00 UTC): the shop is open.
OPEN = datetime(2025, 6, 3, 9, 0, tzinfo=UTC)
# Sunday 1 June 2025, 12:00 in Berlin: closed.
CLOSED = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)


def analysis(
    text: str = "hello",
    *,
    intent: str | None = None,
    confidence: float = 0.9,
    intents: tuple[tuple[str, float], ...] = (),
    sentiment: float = 0.0,
    entities: dict[str, str] | None = None,
    faq: tuple[tuple[str, float], ...] = (),
    language: str = "en",
) -> Analysis:
    ranked = ((intent, confidence),) if intent else intents
    label = "negative" if sentiment <= -0.3 else ("positive" if sentiment >= 0.3 else "neutral")
    return Analysis(
        text=text,
        language=language,
        intents=tuple(IntentScore(n, c) for n, c in ranked),
        out_of_scope=intent is None,
        sentiment=Sentiment(sentiment, label),
        entities=tuple(Entity(t, v, v, 0, len(v)) for t, v in (entities or {}).items()),
        faq=tuple(FaqCandidate(i, "q", f"answer of {i}", s) for i, s in faq),
    )


def facts(**overrides: Any) -> RuleFacts:
    customer = overrides.pop("customer", CustomerFacts())
    conversation = overrides.pop("conversation", ConversationFacts())
    return RuleFacts(
        customer=customer, conversation=conversation, now=overrides.pop("now", OPEN), **overrides
    )


def write_rulebook(
    directory: Path,
    rules: str | None,
    *,
    calendars: str | None = CALENDARS,
    responses: str | None = None,
    intents: str | None = None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "faq.yml").write_text(FAQ, encoding="utf-8")
    for name, text in (
        ("rules.yml", rules),
        ("calendars.yml", calendars),
        ("responses.yml", responses),
        ("intents.yml", intents),
    ):
        if text is not None:
            (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


def ruleset(tmp_path: Path, rules: str, **kwargs: Any) -> RuleSet:
    return load_ruleset(write_rulebook(tmp_path / "rulebook", rules, **kwargs), faq_threshold=0.8)


def engine(tmp_path: Path, rules: str, **kwargs: Any) -> Engine:
    import random

    return Engine(ruleset=ruleset(tmp_path, rules, **kwargs), rng=random.Random(1))
