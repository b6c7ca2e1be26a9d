"""Slots and forms: a rule's ``ask``, and what the next message does to the pending question."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from core.yamlfile import SourceError
from rules.decision import AskSlot, ClearAsk, FillSlot, OpenTicket, Reply
from rules.engine import Engine
from rules.facts import Asking, ConversationFacts
from tests.rules.helpers import analysis, engine, facts, ruleset

RULES = """
rules:
  - name: order_status
    when: {intent: order_status}
    then:
      - ask:
          slot: order_number
          entity: order_ref
          pattern: '(?:A-)?\\d{5,6}'
          prompt: "What's your order number?"
          retry: ["Again, please: like A-123456.", "One more time: just the number."]
          give_up: "I'll stop asking."
          cancelled: "Stopped."
          max_attempts: 3
          keep_intents: [order_status]
      - open_ticket: {subject: "Order {slots.order_number}", queue: orders}
      - reply: "Asked about {slots.order_number}."
  - name: hours
    when: {intent: opening_hours}
    then: [{reply: "We open at 9."}]
  - name: known
    when: {slot: {name: order_number, matches: 'A-\\d+'}}
    then: [{reply: "You told me {slots.order_number}."}]
  - name: fallback
    then: [{reply: "Sorry?"}]
"""


def asking(attempts: int = 1, slots: dict[str, str] | None = None) -> ConversationFacts:
    return ConversationFacts(
        turns=2, asking=Asking("order_number", "order_status", attempts), slots=slots or {}
    )


def kinds(actions: tuple[object, ...]) -> list[str]:
    return [type(a).__name__ for a in actions]


@pytest.fixture
def bot(tmp_path: Path) -> Engine:
    return engine(tmp_path, RULES)


def test_the_rule_asks_and_stops_when_the_message_has_no_value(bot: Engine) -> None:
    d = bot.decide(analysis("where is my parcel?", intent="order_status"), facts())
    assert kinds(d.actions) == ["AskSlot", "Reply"]
    assert d.actions[0] == AskSlot("order_number", "order_status", 1)
    assert d.actions[1] == Reply("What's your order number?")


def test_a_value_in_the_first_message_fills_the_slot_at_once(bot: Engine) -> None:
    found = analysis("where is order 12345", intent="order_status", entities={"order_ref": "12345"})
    d = bot.decide(found, facts())
    assert d.actions[0] == FillSlot("order_number", "12345")
    assert isinstance(d.actions[1], OpenTicket) and d.actions[1].subject == "Order 12345"
    assert d.actions[2] == Reply("Asked about 12345.")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("A-123456", "A-123456"),
        ("12345", "12345"),
        ("#12345.", "12345"),
        ("my number is 54321 thanks", "54321"),
    ],
)
def test_the_answer_is_taken_bare_or_in_a_sentence(bot: Engine, text: str, value: str) -> None:
    d = bot.decide(analysis(text), facts(conversation=asking()))  # out of scope: no intent
    assert d.rules_fired == ("order_status",)
    assert d.actions[0] == FillSlot("order_number", value)
    assert d.actions[-1] == Reply(f"Asked about {value}.")


def test_an_entity_that_fails_the_pattern_is_no_answer(bot: Engine) -> None:
    d = bot.decide(analysis("order ORD-77", entities={"order_ref": "ORD-77"}), facts(conversation=asking()))
    assert kinds(d.actions) == ["AskSlot", "Reply"]


def test_invalid_answers_are_asked_again_in_other_words_then_given_up(bot: Engine) -> None:
    first = bot.decide(analysis("123"), facts(conversation=asking(1)))
    second = bot.decide(analysis("A-12"), facts(conversation=asking(2)))
    assert first.actions == (
        AskSlot("order_number", "order_status", 2),
        Reply("Again, please: like A-123456."),
    )
    assert second.actions == (
        AskSlot("order_number", "order_status", 3),
        Reply("One more time: just the number."),
    )
    last = bot.decide(analysis("no idea"), facts(conversation=asking(3)))
    assert last.actions == (ClearAsk("order_number", "gave up"), Reply("I'll stop asking."))


def test_the_customer_can_cancel(bot: Engine) -> None:
    d = bot.decide(analysis("never mind, cancel that"), facts(conversation=asking()))
    assert d.actions == (ClearAsk("order_number", "cancelled"), Reply("Stopped."))


def test_a_new_subject_drops_the_question_and_the_rules_decide(bot: Engine) -> None:
    d = bot.decide(analysis("when do you open?", intent="opening_hours"), facts(conversation=asking()))
    assert d.actions == (ClearAsk("order_number", "changed subject"), Reply("We open at 9."))
    assert d.rules_fired == ("hours",)


def test_the_same_subject_is_no_new_subject(bot: Engine) -> None:
    d = bot.decide(analysis("where is my order??", intent="order_status"), facts(conversation=asking()))
    assert kinds(d.actions) == ["AskSlot", "Reply"]


def test_a_filled_slot_is_reused_and_seen_by_conditions(bot: Engine) -> None:
    known = ConversationFacts(slots={"order_number": "A-123456"})
    d = bot.decide(analysis("any news on my order?", intent="order_status"), facts(conversation=known))
    assert kinds(d.actions) == ["OpenTicket", "Reply"]
    d = bot.decide(analysis("hmm"), facts(conversation=known))
    assert d.actions == (Reply("You told me A-123456."),)


def test_a_question_whose_rule_is_gone_is_dropped(bot: Engine) -> None:
    gone = replace(asking(), asking=Asking("order_number", "deleted_rule", 1))
    d = bot.decide(analysis("12345"), facts(conversation=gone))
    assert d.actions == (ClearAsk("order_number", "the asking rule is gone"), Reply("Sorry?"))


def test_an_ask_needs_a_way_to_recognise_the_answer(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        ruleset(tmp_path, "rules:\n  - name: r\n    then: [{ask: {slot: s, prompt: Which?}}]\n")
    assert "give 'entity', 'pattern' or both" in "\n".join(info.value.problems)


def test_a_bad_pattern_and_ticket_rules_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as info:
        ruleset(
            tmp_path,
            """
            rules:
              - name: r
                then: [{ask: {slot: s, pattern: "(", prompt: Which?}}]
              - name: t
                event: ticket
                then: [{ask: {slot: s, entity: email, prompt: Which?}}]
            """,
        )
    text = "\n".join(info.value.problems)
    assert "rules[0].then[0].ask.pattern: invalid regular expression '('" in text
    assert "rules[1].then[0].ask: action ask is not available in event: ticket rules" in text
