"""What ``event: ticket`` rules and message rules cannot use is rejected at load, as file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.rules.helpers import ruleset, write_rulebook
from tests.rules.test_loader import problems

TICKET_RULE_ACTIONS = """
rules:
  - name: on_solved
    event: ticket
    when: {ticket: {status: {changed_to: solved}}}
    then:
      - open_ticket: {subject: again}
      - hand_off: true
      - set_attribute: {plan: gold}
      - tag: {customer: [happy], ticket: [done]}
      - untag:
          customer: [waiting]
      - close_conversation: true
      - answer_faq: true
      - clarify: true
      - tag: vip
"""


def test_actions_a_ticket_rule_cannot_perform(tmp_path: Path) -> None:
    text = problems(tmp_path, TICKET_RULE_ACTIONS)
    unavailable = "is not available in event: ticket rules (use"
    assert [line.split("/rulebook/", 1)[1] for line in text.splitlines()] == [
        line.replace("{unavailable}", unavailable)
        for line in [
            "rules.yml:7: rules[0].then[0].open_ticket: action open_ticket {unavailable} add_note or "
            "tag: {ticket: [...]}; the rule already runs on a ticket)",
            "rules.yml:8: rules[0].then[1].hand_off: action hand_off {unavailable} notify to alert the "
            "agents, or add_note)",
            "rules.yml:9: rules[0].then[2].set_attribute: action set_attribute {unavailable} "
            "tag: {ticket: [...]} or add_note; customer records change in message rules only)",
            "rules.yml:10: rules[0].then[3].tag.customer: action tag: {customer: ...} {unavailable} "
            "tag: {ticket: [...]})",
            "rules.yml:12: rules[0].then[4].untag.customer: action untag: {customer: ...} {unavailable} "
            "untag: {ticket: [...]})",
            "rules.yml:13: rules[0].then[5].close_conversation: action close_conversation {unavailable} "
            "reply; a solved ticket closes by itself)",
            "rules.yml:14: rules[0].then[6].answer_faq: action answer_faq {unavailable} reply; "
            "a ticket change has no customer message to match an FAQ)",
            "rules.yml:15: rules[0].then[7].clarify: action clarify {unavailable} reply; "
            "a ticket change has no customer message to clarify)",
            # `tag: vip` is the shorthand for tagging the customer.
            "rules.yml:16: rules[0].then[8].tag.customer: action tag: {customer: ...} {unavailable} "
            "tag: {ticket: [...]})",
        ]
    ]


def test_ticket_level_actions_are_accepted(tmp_path: Path) -> None:
    rs = ruleset(
        tmp_path,
        """
        rules:
          - name: on_solved
            event: ticket
            when: {ticket: {status: {changed_to: solved}}, customer: {tag: vip}, channel: email}
            then:
              - reply: "Ticket {ticket} is {ticket.status}"
              - add_note: told the customer
              - notify: {slack: "#vip", text: "{ticket} solved"}
              - tag: {ticket: [done]}
              - untag: {ticket: [waiting]}
        """,
    )
    assert [plan.kind for plan in rs.by_event["ticket"][0].then] == [
        "reply",
        "add_note",
        "notify",
        "tag",
        "untag",
    ]


def test_ticket_conditions_in_a_message_rule(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: solved_chat
            when:
              any:
                - ticket: {status: solved}
                - not: {ticket: {tag: vip}}
            then: [{reply: hi}]
        """,
    )
    hint = (
        "condition ticket is only available in event: ticket rules (add `event: ticket` to this rule, "
        "or use conversation: {has_open_ticket: true})"
    )
    assert f"rules.yml:6: rules[0].when.any[0].ticket: {hint}" in text
    assert f"rules.yml:7: rules[0].when.any[1].not.ticket: {hint}" in text


def test_message_conditions_in_a_ticket_rule(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: on_change
            event: ticket
            when:
              intent: greet
              text: {contains: refund}
              all:
                - conversation: {turns: {min: 2}, handed_off: true}
                - customer: {tag: vip, first_contact: true}
            then: [{add_note: hi}]
        """,
    )
    assert (
        "rules.yml:6: rules[0].when.intent: condition intent is not available in event: ticket rules: "
        "a ticket change has no customer message (use ticket: conditions)" in text
    )
    assert "rules.yml:7: rules[0].when.text: condition text is not available" in text
    assert (
        "rules.yml:9: rules[0].when.all[0].conversation.handed_off: condition conversation.handed_off "
        "is not available in event: ticket rules (use ticket: conditions)" in text
    )
    assert "rules.yml:9: rules[0].when.all[0].conversation.turns: condition conversation.turns" in text
    assert (
        "rules.yml:10: rules[0].when.all[1].customer.first_contact: condition customer.first_contact "
        "is not available in event: ticket rules (use customer: {tag: ...})" in text
    )
    assert len(text.splitlines()) == 5


def test_disabled_rules_are_not_checked(tmp_path: Path) -> None:
    ruleset(
        tmp_path,
        """
        rules:
          - name: draft
            event: ticket
            enabled: false
            then: [{hand_off: true}]
        """,
    )


def test_rules_check_fails_on_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_rulebook(tmp_path / "rb", TICKET_RULE_ACTIONS)
    assert main(["rules", "check", "--rulebook", str(directory)]) == 2
    err = capsys.readouterr().err
    assert "rules.yml:7: rules[0].then[0].open_ticket: action open_ticket is not available" in err
