"""settings.closing (rules/closing.py): which messages close the loop on a solved ticket, what they
are answered with, and what the loader refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.yamlfile import RulebookError
from rules.closing import BUILT_IN
from rules.decision import KeepSolved, Reply
from rules.facts import ConversationFacts
from tests.rules.helpers import analysis, engine, facts, ruleset

RULES = """
settings:
  closing: {intents: [thanks, bye], response: closing}
rules:
  - name: thanks
    when: {intent: thanks}
    then: [{reply: "You're welcome!"}]
  - name: fallback
    then: [{open_ticket: true}, {reply: "Ticket {ticket} opened."}]
"""
RESPONSES = """
responses:
  closing: ["Glad it's sorted; {ticket} stays solved."]
  reply_limit: ["Enough."]
"""
INTENTS = """
intents:
  - name: thanks
    examples: [thanks, thank you]
  - name: bye
    examples: [bye, goodbye]
"""


def on(status: str) -> ConversationFacts:
    return ConversationFacts(has_open_ticket=True, ticket_reference="T-1001", ticket_status=status)


def test_a_closing_intent_on_a_solved_ticket_keeps_it_solved(tmp_path: Path) -> None:
    bot = engine(tmp_path, RULES, responses=RESPONSES, intents=INTENTS)
    decided = bot.decide(analysis("thanks!", intent="thanks"), facts(conversation=on("solved")))
    assert decided.actions == (Reply("Glad it's sorted; {ticket} stays solved."), KeepSolved("thanks"))
    assert decided.rules_fired == ("closing",)
    handed_off = ConversationFacts(
        has_open_ticket=True, ticket_reference="T-1001", ticket_status="solved", handed_off=True
    )
    assert bot.acknowledge(analysis("bye", intent="bye"), facts(conversation=handed_off)).actions[-1] == (
        KeepSolved("bye")
    )


@pytest.mark.parametrize(
    ("intent", "status"), [("thanks", "open"), ("thanks", "pending"), (None, "solved"), ("bye", None)]
)
def test_anything_else_is_decided_by_the_rules(
    tmp_path: Path, intent: str | None, status: str | None
) -> None:
    bot = engine(tmp_path, RULES, responses=RESPONSES, intents=INTENTS)
    conversation = on(status) if status is not None else ConversationFacts()
    decided = bot.decide(analysis("it broke again", intent=intent), facts(conversation=conversation))
    assert not any(isinstance(a, KeepSolved) for a in decided.actions)
    assert decided.rule != "closing"


def test_defaults_keep_the_intents_the_rulebook_has_and_a_built_in_text(tmp_path: Path) -> None:
    rules = RULES.replace(
        "  closing: {intents: [thanks, bye], response: closing}\n", "  default_language: en\n"
    )
    loaded = ruleset(tmp_path, rules, responses='responses: {reply_limit: ["Enough."]}', intents=INTENTS)
    assert loaded.closing is not None
    assert loaded.closing.intents == frozenset({"thanks"})  # the default's goodbye is not in intents.yml
    assert loaded.closing.response == BUILT_IN


def test_unknown_intents_and_responses_are_refused_with_their_line(tmp_path: Path) -> None:
    rules = RULES.replace("[thanks, bye], response: closing", "[thanks, thnaks], response: closng")
    with pytest.raises(RulebookError) as caught:
        ruleset(tmp_path, rules, responses=RESPONSES, intents=INTENTS)
    text = str(caught.value)
    assert "settings.closing.intents[1]: unknown intent 'thnaks' (did you mean 'thanks'?)" in text
    assert "settings.closing.response: unknown response 'closng' (did you mean 'closing'?)" in text
