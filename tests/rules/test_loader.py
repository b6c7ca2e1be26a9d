"""Validation at load: every problem is reported as file:line with a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.yamlfile import RulebookError, SourceError
from rules.loader import load_ruleset
from tests.rules.helpers import ROOT, ruleset


def problems(tmp_path: Path, rules: str, **kwargs: object) -> str:
    with pytest.raises(SourceError) as info:
        ruleset(tmp_path, rules, **kwargs)  # type: ignore[arg-type]
    return "\n".join(info.value.problems)


def test_example_rulebook_loads() -> None:
    rs = load_ruleset(ROOT / "rulebook", faq_threshold=0.8)
    assert {"greeting", "order_status", "refund", "complaint", "human", "fallback"} <= {
        r.name for r in rs.rules
    }
    assert "shop" in rs.calendars


def test_no_rules_file_uses_builtin_rules(tmp_path: Path) -> None:
    rs = ruleset(tmp_path, None)  # type: ignore[arg-type]
    assert [r.name for r in rs.rules] == ["faq", "fallback_existing_ticket", "fallback"]
    assert rs.source is None


def test_unknown_key_has_line_and_suggestion(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: greet
            when:
              intnet: greet
            then: [{reply: hi}]
        """,
    )
    assert "rules.yml:5: rules[0].when.intnet: unknown key 'intnet' (did you mean 'intent'?)" in text


def test_unknown_action_is_reported(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: greet
            then: [{replly: hi}]
        """,
    )
    assert "rules.yml:4:" in text and "did you mean 'reply'?" in text


def test_wrong_type(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: greet
            when: {sentiment: {min: lots}}
            then: [{reply: hi}]
        """,
    )
    assert "rules.yml:4: rules[0].when.sentiment.min:" in text


def test_two_kinds_in_one_action(tmp_path: Path) -> None:
    text = problems(tmp_path, "rules:\n  - name: a\n    then:\n      - {reply: hi, hand_off: true}\n")
    assert "rules.yml:4:" in text and "separate list items" in text


def test_unknown_intent_with_intents_file(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        "rules:\n  - name: a\n    when: {intent: order_stauts}\n    then: [{reply: hi}]\n",
        intents="intents:\n  order_status: [where is my order]\n  greet: [hi]\n",
    )
    assert (
        "rules.yml:3: rules[0].when.intent.is[0]: "
        "unknown intent 'order_stauts' (did you mean 'order_status'?)" in text
    )


def test_unknown_calendar_response_variable_regex(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: a
            when:
              time: {business_hours: shp}
              text: {regex: "([a-z"}
            then:
              - reply: {response: greetng}
              - reply: "Hi {customer.nmae}"
        """,
    )
    assert (
        "rules.yml:5: rules[0].when.time.business_hours: unknown calendar 'shp' (did you mean 'shop'?)"
        in text
    )
    assert "rules.yml:6: rules[0].when.text.regex: invalid regular expression" in text
    assert "unknown response 'greetng'" in text
    assert (
        "rules.yml:9: rules[0].then[1].reply.text: "
        "unknown variable {customer.nmae} (did you mean {customer.name}?)" in text
    )


def test_shadowed_by_catch_all(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: fallback
            then: [{reply: sorry}]
          - name: greet
            when: {intent: greet}
            then: [{reply: hi}]
        """,
    )
    assert (
        "rules.yml:5: rules[1].name: rule 'greet' can never fire: "
        "rule 'fallback' (line 3) matches every message" in text
    )


def test_shadowed_by_weaker_rule_but_not_by_continue_or_max_fires(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: any_order
            when: {intent: order_status}
            then: [{reply: "which order?"}]
          - name: order_with_ref
            when: {intent: order_status, entity: order_ref}
            then: [{reply: on it}]
        """,
    )
    assert "rule 'order_with_ref' can never fire: rule 'any_order' (line 3) has a subset" in text
    ruleset(
        tmp_path / "ok",
        """
        rules:
          - name: log
            then: [{add_note: seen}]
            continue: true
          - name: limited
            then: [{reply: sorry}]
            max_fires: 2
          - name: last
            then: [{hand_off: true}]
        """,
    )


def test_duplicate_rule_names(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: a
            when: {channel: email}
            then: [{reply: hi}]
          - name: a
            when: {channel: webchat}
            then: [{reply: hi}]
        """,
    )
    assert "rules.yml:6: rules[1].name: rule name 'a' is used twice (first at line 3)" in text


def test_calendar_errors(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        "rules: []\n",
        calendars="""
        calendars:
          shop:
            timezone: Europe/Berln
            hours:
              mon-fry: "09:00-18:00"
              sat: "10-16"
        """,
    )
    assert "calendars.yml:4: calendars.shop: unknown time zone 'Europe/Berln'" in text


def test_yaml_syntax_error(tmp_path: Path) -> None:
    text = problems(tmp_path, "rules:\n  - name: a\n    then: [{reply: hi}\n")
    assert "rules.yml:" in text


def test_errors_are_rulebook_errors(tmp_path: Path) -> None:
    with pytest.raises(RulebookError):
        ruleset(tmp_path, "rules:\n  - name: a\n    then: []\n")
