"""Values from a closed set (statuses, priorities, channels, ...) are checked at load, as file:line."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from bot.cli import main
from connectors.email.translate import CHANNEL as EMAIL
from connectors.slack.translate import CHANNEL as SLACK
from connectors.telegram.translate import CHANNEL as TELEGRAM
from connectors.webchat.translate import CHANNEL as WEBCHAT
from core.calendars import WEEKDAYS as CALENDAR_DAYS
from core.yamlfile import SourceError
from nlp.types import SentimentLabel
from rules import testcases
from rules.schema import CHANNELS, PRIORITIES, SENTIMENTS, STATUSES, WEEKDAYS
from rules.testcases import ACTION_KINDS, load_cases
from tests.rules.helpers import ruleset, write_rulebook
from tests.rules.test_loader import problems
from ticketing import lifecycle

STATUS_LIST = "expected one of: new, open, pending, on-hold, solved, closed"


def lines(text: str) -> list[str]:
    return [line.split("/rulebook/", 1)[1] for line in text.splitlines()]


def test_closed_sets_match_the_code_that_produces_the_values() -> None:
    assert STATUSES == lifecycle.STATUSES
    assert PRIORITIES == lifecycle.PRIORITIES
    assert get_args(SentimentLabel) == SENTIMENTS
    assert WEEKDAYS == CALENDAR_DAYS
    assert set(CHANNELS) == {WEBCHAT, SLACK, TELEGRAM, EMAIL, "console"}
    # rule tests' `expect: {actions: [...]}` names the kinds of the decided actions
    assert set(ACTION_KINDS) == set(testcases._KINDS.values())


def test_ticket_field_values(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: on_change
            event: ticket
            when:
              ticket:
                status: {changed_to: urgnet}
                priority: {is: [hgih, low], changed_from: urgent}
                queue: {changed_to: anything-goes}
              any:
                - ticket: {status: opne}
                - not: {ticket: {status: {changed_from: [new, solvd]}}}
            then: [{add_note: changed}]
        """,
    )
    assert lines(text) == [
        "rules.yml:7: rules[0].when.ticket.status.changed_to[0]: "
        f"unknown ticket status 'urgnet'; {STATUS_LIST}",
        "rules.yml:8: rules[0].when.ticket.priority.is[0]: unknown ticket priority 'hgih' "
        "(did you mean 'high'?); expected one of: low, normal, high, urgent",
        "rules.yml:11: rules[0].when.any[0].ticket.status.is[0]: "
        f"unknown ticket status 'opne' (did you mean 'open'?); {STATUS_LIST}",
        "rules.yml:12: rules[0].when.any[1].not.ticket.status.changed_from[1]: "
        f"unknown ticket status 'solvd' (did you mean 'solved'?); {STATUS_LIST}",
    ]


def test_every_status_and_priority_is_accepted(tmp_path: Path) -> None:
    statuses, priorities = ", ".join(STATUSES), ", ".join(PRIORITIES)
    ruleset(
        tmp_path,
        f"""
        rules:
          - name: on_change
            event: ticket
            when: {{ticket: {{status: {{is: [{statuses}], changed_from: [{statuses}]}},
                             priority: {{changed_to: [{priorities}]}}}}}}
            then: [{{add_note: changed}}]
        """,
    )


def test_schema_literals_get_suggestions(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: a
            event: tickets
            when:
              channel: [webchat, telgram]
              sentiment: negatve
              time: {weekday: [mon, sundy]}
            then: [{open_ticket: {priority: urgnet}}]
        """,
    )
    assert lines(text) == [
        "rules.yml:4: rules[0].event: unknown value 'tickets' (did you mean 'ticket'?); "
        "expected one of: message, ticket",
        "rules.yml:6: rules[0].when.channel[1]: unknown value 'telgram' (did you mean 'telegram'?); "
        "expected one of: webchat, slack, telegram, email, console",
        "rules.yml:7: rules[0].when.sentiment.label[0]: unknown value 'negatve' (did you mean 'negative'?); "
        "expected one of: negative, neutral, positive",
        "rules.yml:8: rules[0].when.time.weekday[1]: unknown value 'sundy' (did you mean 'sun'?); "
        "expected one of: mon, tue, wed, thu, fri, sat, sun",
        "rules.yml:9: rules[0].then[0].open_ticket.priority: unknown value 'urgnet' "
        "(did you mean 'urgent'?); expected one of: low, normal, high, urgent",
    ]


def test_unknown_faq_id(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        rules:
          - name: shipping
            when: {faq: {id: [opening_hours, shiping], min_score: 0.5}}
            then: [{answer_faq: true}]
        """,
    )
    assert lines(text) == [
        "rules.yml:4: rules[0].when.faq.id[1]: unknown FAQ id 'shiping' (did you mean 'shipping'?); "
        "faq.yml ids: opening_hours, shipping"
    ]


def test_intent_labels_name_intents(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
        settings:
          intent_labels:
            order_status: Where is my order?
            order_stauts: Where is it?
        rules:
          - name: unsure
            then: [{clarify: true}]
        """,
        intents="intents:\n  order_status: [where is my order]\n  greet: [hi]\n",
    )
    assert lines(text) == [
        "rules.yml:5: settings.intent_labels.order_stauts: unknown intent 'order_stauts' "
        "(did you mean 'order_status'?)"
    ]


def test_queue_names_are_open(tmp_path: Path) -> None:
    ruleset(
        tmp_path,
        """
        rules:
          - name: moved
            event: ticket
            when: {ticket: {queue: {changed_from: support, changed_to: brand-new-queue}}}
            then: [{add_note: moved}]
        """,
    )


def test_rules_check_exits_2_on_a_bad_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = write_rulebook(
        tmp_path / "rb",
        "rules:\n  - name: a\n    event: ticket\n"
        "    when: {ticket: {status: solvd}}\n    then: [{add_note: x}]\n",
    )
    assert main(["rules", "check", "--rulebook", str(directory)]) == 2
    assert (
        "rules.yml:4: rules[0].when.ticket.status.is[0]: unknown ticket status 'solvd'"
        in capsys.readouterr().err
    )


def test_rule_test_files_check_closed_sets(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(
        """\
tests:
  - name: bad values
    channel: telegarm
    event: ticket
    ticket: {status: slvd, priority: hihg}
    expect:
      ticket: {priority: urgnt}
      actions: [reply, handoff]
""",
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as info:
        load_cases(tmp_path)
    text = [p.split("cases.yaml:", 1)[1] for p in info.value.problems]
    assert text == [
        "3: tests[0].channel: unknown value 'telegarm' (did you mean 'telegram'?); "
        "expected one of: webchat, slack, telegram, email, console",
        f"5: tests[0].ticket.status: unknown value 'slvd' (did you mean 'solved'?); {STATUS_LIST}",
        "5: tests[0].ticket.priority: unknown value 'hihg' (did you mean 'high'?); "
        "expected one of: low, normal, high, urgent",
        "7: tests[0].expect.ticket.ExpectedTicket.priority: unknown value 'urgnt' (did you mean 'urgent'?); "
        "expected one of: low, normal, high, urgent",
        "7: tests[0].expect.ticket.literal[False]: Input should be False",  # the other member of the union
        "8: tests[0].expect.actions[1]: unknown value 'handoff' (did you mean 'hand_off'?); "
        "expected one of: " + ", ".join(ACTION_KINDS),
    ]
