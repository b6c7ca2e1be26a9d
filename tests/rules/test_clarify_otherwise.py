"""``clarify: {otherwise: ...}``: a message nobody understands gets an honest answer, not a ticket.

"helo" or a football question has no topic worth offering; without ``otherwise`` clarify passes
the message on (the fallback opens a ticket at once). With it the rule says what it was told to
("I didn't understand; pick a topic or ask for a person") and keeps its ``max_fires`` budget,
so the ticket comes only after repeated failures. Its texts are checked like any reply's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.yamlfile import RulebookError
from nlp.types import Analysis, IntentScore
from rules.decision import OpenTicket, QuickReplyButton, Reply
from rules.facts import ConversationFacts

from .helpers import engine, facts, ruleset

INTENTS = """
intents:
  - name: order_status
    label: Where is my order?
    examples: [where is my order, has my parcel shipped]
  - name: greet
    label: Say hello
    clarify: false
    examples: [hi, hello]
"""

RULES = """
rules:
  - name: clarify
    when: {out_of_scope: true}
    then:
      - clarify:
          min_confidence: 0.35
          otherwise:
            text: Sorry, I didn't understand that.
            buttons: [Where is my order?, Talk to a person]
    max_fires: 2
  - name: fallback
    then: [{open_ticket: true}, {reply: "Passed to the team as {ticket}"}]
"""


def _unsure(*ranked: tuple[str, float]) -> Analysis:
    return Analysis(text="helo", intents=tuple(IntentScore(n, c) for n, c in ranked), out_of_scope=True)


def test_nothing_to_offer_says_otherwise_with_its_buttons_and_opens_no_ticket(tmp_path: Path) -> None:
    decision = engine(tmp_path, RULES, intents=INTENTS).decide(_unsure(("greet", 0.98)), facts())
    assert decision.rules_fired == ("clarify",)
    [reply] = decision.actions
    assert isinstance(reply, Reply) and reply.template == "Sorry, I didn't understand that."
    assert [b.label for b in reply.quick_replies] == ["Where is my order?", "Talk to a person"]
    assert "said otherwise" in decision.trace[0].reason


def test_a_topic_worth_offering_is_still_asked_about(tmp_path: Path) -> None:
    decision = engine(tmp_path, RULES, intents=INTENTS).decide(_unsure(("order_status", 0.5)), facts())
    [reply] = decision.actions
    assert isinstance(reply, Reply) and "didn't understand" not in reply.template
    assert reply.quick_replies == (QuickReplyButton("Where is my order?", "Where is my order?"),)


def test_both_answers_share_the_rules_budget_then_the_fallback_opens_a_ticket(tmp_path: Path) -> None:
    used = facts(conversation=ConversationFacts(turns=3, rule_fires={"clarify": 2}))
    decision = engine(tmp_path, RULES, intents=INTENTS).decide(_unsure(("greet", 0.98)), used)
    assert decision.rules_fired == ("fallback",)
    assert any(isinstance(a, OpenTicket) for a in decision.actions)


@pytest.mark.parametrize(
    ("otherwise", "problem"),
    [
        (
            "{text: Pick one, buttons: [order_status]}",
            "rules.yml:3: rules[0].then[0].clarify.otherwise.buttons[0].label: button shows the internal "
            "name 'order_status' to the customer; write its label instead",
        ),
        (
            "{text: 'I have flagged it as urgent'}",
            "rules.yml:3: rules[0].then[0].clarify.otherwise: the reply promises 'urgent', but on a "
            "conversation without a ticket the rule sets no urgent priority",
        ),
        (
            "{response: not_there}",
            "rules.yml:3: rules[0].then[0].clarify.otherwise.response: unknown response 'not_there'",
        ),
    ],
)
def test_otherwise_is_checked_like_a_reply(tmp_path: Path, otherwise: str, problem: str) -> None:
    rules = f"rules:\n  - name: r\n    then: [{{clarify: {{otherwise: {otherwise}}}}}]\n"
    with pytest.raises(RulebookError) as caught:
        ruleset(tmp_path, rules, intents=INTENTS)
    assert any(problem in p for p in caught.value.problems), caught.value.problems
