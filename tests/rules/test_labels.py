"""Display labels (issue 22, finding 6): what customers see of intents and FAQs, checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.yamlfile import RulebookError
from nlp.types import Analysis, IntentScore
from rules.decision import QuickReplyButton, Reply
from rules.labels import fallback_label

from .helpers import engine, facts, ruleset, write_rulebook

INTENTS = """
intents:
  - name: order_status
    label: Where is my order?
    examples: [where is my order, has my parcel shipped]
  - name: product_availability
    examples: [is this jacket in stock, do you have it in black]
  - name: greet
    label: Say hello
    clarify: false
    examples: [hi, hello]
"""

CLARIFY = """
rules:
  - name: clarify
    when: {out_of_scope: true}
    then: [{clarify: {min_confidence: 0.2}}]
    max_fires: 2
  - name: fallback
    then: [{reply: Passed to the team}]
"""


def _unsure(*ranked: tuple[str, float]) -> Analysis:
    return Analysis(text="hmm", intents=tuple(IntentScore(n, c) for n, c in ranked), out_of_scope=True)


def test_missing_labels_fall_back_to_words_a_customer_wrote_and_are_reported(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, CLARIFY, intents=INTENTS)
    [warning] = [w for w in rs.warnings if "intents.yml" in w]
    assert warning.endswith(
        "intents.yml:6: intent 'product_availability' has no label: customers see its first example "
        "'Is this jacket in stock' where it is offered (add `label:`)"
    )
    decision = engine(tmp_path, CLARIFY, intents=INTENTS).decide(
        _unsure(("product_availability", 0.5), ("order_status", 0.3)), facts()
    )
    [reply] = [a for a in decision.actions if isinstance(a, Reply)]
    labels = [b.label for b in reply.quick_replies]
    assert labels == ["Is this jacket in stock", "Where is my order?"]
    assert "Product availability" not in labels and "product_availability" not in labels


def test_faq_without_label_is_reported_with_its_line(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, CLARIFY, intents=INTENTS)
    faq_warnings = [w for w in rs.warnings if "faq.yml" in w]
    assert faq_warnings and all("has no label: customers see its first question" in w for w in faq_warnings)
    assert all(w.split(":")[1].isdigit() for w in faq_warnings)  # file:line


def test_small_talk_is_never_offered_and_nothing_to_offer_passes_on(tmp_path: Path) -> None:
    e = engine(tmp_path, CLARIFY, intents=INTENTS)
    decision = e.decide(_unsure(("greet", 0.6), ("order_status", 0.1)), facts())
    assert decision.rules_fired == ("fallback",)  # not "did you mean: Say hello?"
    assert "clarify skipped" in decision.trace[0].reason
    offered = e.decide(_unsure(("greet", 0.6), ("order_status", 0.3)), facts())
    [reply] = [a for a in offered.actions if isinstance(a, Reply)]
    assert reply.quick_replies == (QuickReplyButton("Where is my order?", "Where is my order?"),)


def test_intents_without_a_label_source_are_never_offered_by_name(tmp_path: Path) -> None:
    """No intents file (a hand-built rulebook): no label, so no button rather than the name."""
    decision = engine(tmp_path, CLARIFY).decide(_unsure(("order_status", 0.6)), facts())
    assert decision.rules_fired == ("fallback",)


def test_settings_intent_labels_win_over_the_intents_file(tmp_path: Path) -> None:
    rules = "settings:\n  intent_labels: {order_status: Track my parcel}\n" + CLARIFY
    decision = engine(tmp_path, rules, intents=INTENTS).decide(_unsure(("order_status", 0.6)), facts())
    [reply] = [a for a in decision.actions if isinstance(a, Reply)]
    assert [b.label for b in reply.quick_replies] == ["Track my parcel"]


@pytest.mark.parametrize(
    ("then", "problem"),
    [
        (
            "[{reply: {text: Pick one, buttons: [order_status]}}]",
            "rules.yml:3: rules[0].then[0].reply.buttons[0].label: button shows the internal name "
            "'order_status' to the customer; write its label instead",
        ),
        (
            "[{reply: 'You asked about {intent}'}]",
            "rules.yml:3: rules[0].then[0].reply.text: {intent} shows the intent's internal name to the "
            "customer; say it in words instead",
        ),
        (
            "[{clarify: {text: 'Is it product_availability?'}}]",
            "rules.yml:3: rules[0].then[0].clarify.text: shows the internal name 'product_availability' "
            "to the customer; write its label instead",
        ),
    ],
)
def test_replies_and_buttons_that_show_internal_names_are_rejected(
    tmp_path: Path, then: str, problem: str
) -> None:
    rules = f"rules:\n  - name: r\n    then: {then}\n"
    with pytest.raises(RulebookError) as caught:
        ruleset(tmp_path, rules, intents=INTENTS)
    assert any(p.endswith(problem) for p in caught.value.problems), caught.value.problems


def test_responses_that_show_internal_names_are_rejected_with_their_line(tmp_path: Path) -> None:
    responses = "responses:\n  ok: [Fine]\n  guess: ['Your question is about {intent}']\n"
    with pytest.raises(RulebookError) as caught:
        ruleset(tmp_path, "rules:\n  - name: r\n    then: [{reply: {response: ok}}]\n", responses=responses)
    assert any("responses.yml:3: responses.guess: {intent}" in p for p in caught.value.problems)


def test_a_label_is_learnt_as_an_example_so_a_pressed_button_is_understood(tmp_path: Path) -> None:
    from rules.intents_file import load_intents

    directory = write_rulebook(tmp_path / "rb", CLARIFY, intents=INTENTS)
    examples = load_intents(directory / "intents.yml").examples
    assert any(e.text == "Where is my order?" and e.intent == "order_status" for e in examples)


def test_fallback_label_is_the_first_text_capitalised() -> None:
    assert fallback_label(["  where is my order?", "x"]) == "Where is my order?"
    assert fallback_label([]) == ""
