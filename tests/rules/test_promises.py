"""Replies that promise what their rule does not do are refused at load; acknowledgements."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from core.yamlfile import SourceError
from rules.decision import Acknowledge, OpenTicket, Reply, SetTicket
from rules.facts import ConversationFacts
from tests.rules.helpers import OPEN, analysis, engine, facts, ruleset

LABELS = """
settings:
  queue_labels: {orders: our warehouse team}
rules:
"""


def problems(tmp_path: Path, rules: str) -> str:
    with pytest.raises(SourceError) as info:
        ruleset(tmp_path, LABELS + rules)
    return "\n".join(info.value.problems)


def test_urgent_needs_an_urgent_priority_on_every_path(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
  - name: complaint
    then:
      - open_ticket: {priority: urgent}
      - reply: "I've flagged it as urgent (ticket {ticket})."
""",
    )
    assert (
        "rules[0].then[1].reply: the reply promises 'urgent', but on a conversation that already has" in text
    )
    assert "say {result.priority} or add set_ticket: {priority: urgent}" in text


@pytest.mark.parametrize(
    "then",
    [
        # set_ticket raises the open ticket as well as a new one
        "[{open_ticket: {priority: urgent}}, {set_ticket: {priority: urgent}}, {reply: 'It is urgent.'}]",
        # the reply for an existing ticket is another text
        "[{open_ticket: {priority: urgent}}, {reply: {text: 'Urgent!', existing_ticket: 'Added.'}}]",
        # the values come from what happened
        "[{open_ticket: {queue: orders}}, {reply: 'Passed to {result.team} as {result.priority}.'}]",
    ],
)
def test_replies_that_keep_their_word_load(tmp_path: Path, then: str) -> None:
    ruleset(tmp_path, LABELS + f"  - name: r\n    then: {then}\n")


def test_a_condition_rules_a_path_out(tmp_path: Path) -> None:
    rules = """
  - name: r
    when: {conversation: {has_open_ticket: false}}
    then: [{open_ticket: {queue: orders, priority: high}}, {reply: "Our warehouse team: high priority."}]
"""
    ruleset(tmp_path, LABELS + rules)


def test_a_team_named_in_plain_words_needs_its_queue(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """
  - name: order
    then: [{open_ticket: {queue: orders}}, {reply: "I've asked our warehouse team."}]
  - name: other
    when: {intent: x}
    then: [{reply: "Our Warehouse Team is on it."}]
""",
    )
    assert (
        "rules[0].then[1].reply: the reply names 'our warehouse team' (queue orders), but on a conversation"
        in text
    )
    assert "rules[1].then[0].reply: the reply names 'our warehouse team'" in text


def test_result_variables_need_a_ticket(tmp_path: Path) -> None:
    text = problems(tmp_path, '  - name: r\n    then: [{reply: "Priority {result.priority}."}]\n')
    assert "the reply uses {result.*}, but on a conversation without a ticket the rule opens none" in text


# -- acknowledgements -------------------------------------------------------------------------------

ACK = """
settings:
  acknowledge: {response: ack, without_ticket: ack_none, repeat: REPEAT}
rules:
  - name: note_only
    when: {intent: note}
    then: [{add_note: "seen"}]
  - name: fallback
    then: [{open_ticket: true}]
"""
RESPONSES = """
responses:
  ack: ["Added to {ticket}; reply by {result.reply_by|soon}."]
  ack_none: ["Got it."]
  reply_limit: ["Enough."]
"""


def ack_engine(tmp_path: Path, repeat: str):  # type: ignore[no-untyped-def]
    return engine(tmp_path, ACK.replace("REPEAT", repeat), responses=RESPONSES)


def told(minutes_ago: int) -> ConversationFacts:
    return ConversationFacts(
        has_open_ticket=True,
        ticket_reference="T-1001",
        acknowledged=("T-1001", OPEN - timedelta(minutes=minutes_ago)),
    )


def test_a_message_no_rule_answers_is_acknowledged(tmp_path: Path) -> None:
    bot = ack_engine(tmp_path, "every_message")
    opened = bot.decide(analysis("hm"), facts())
    assert isinstance(opened.actions[0], OpenTicket)
    assert opened.actions[1] == Acknowledge(
        "Added to {ticket}; reply by {result.reply_by|soon}.", "acknowledged"
    )
    assert opened.rules_fired == ("fallback",)
    noted = bot.decide(analysis("fyi", intent="note"), facts(conversation=told(1)))
    assert isinstance(noted.actions[-1], Acknowledge) and noted.actions[-1].template is not None
    alone = bot.decide(analysis("fyi", intent="note"), facts())
    assert alone.actions[-1] == Acknowledge("Got it.", "acknowledged (no ticket)")


@pytest.mark.parametrize(
    ("repeat", "minutes_ago", "again"),
    [
        ("every_message", 0, True),
        ("once_per_ticket", 600, False),
        ("15m", 5, False),
        ("15m", 20, True),
        ("1h", 20, False),
    ],
)
def test_repeat_only_decides_how_often(tmp_path: Path, repeat: str, minutes_ago: int, again: bool) -> None:
    bot = ack_engine(tmp_path, repeat)
    d = bot.decide(analysis("fyi", intent="note"), facts(conversation=told(minutes_ago)))
    said = d.actions[-1]
    assert isinstance(said, Acknowledge)
    assert (said.template is not None) is again, said
    if not again:
        assert said.note.startswith("not repeated: ")
    other = replace(told(minutes_ago), ticket_reference="T-1002")  # a new ticket is always told
    d = bot.decide(analysis("fyi", intent="note"), facts(conversation=other))
    assert d.actions[-1].template is not None  # type: ignore[union-attr]


def test_handed_off_conversations_get_only_the_acknowledgement(tmp_path: Path) -> None:
    bot = ack_engine(tmp_path, "every_message")
    handed = ConversationFacts(handed_off=True, has_open_ticket=True, ticket_reference="T-1001")
    d = bot.acknowledge(analysis("hello?"), facts(conversation=handed))
    assert [type(a) for a in d.actions] == [Acknowledge] and d.rules_fired == ()


def test_replies_are_not_acknowledged_again_and_unknown_responses_are_reported(tmp_path: Path) -> None:
    bot = engine(
        tmp_path,
        "settings: {acknowledge: {}}\nrules: [{name: r, then: [{reply: hi}]}]\n",
        responses='responses: {acknowledge: ["ok"], reply_limit: ["x"]}',
    )
    assert bot.decide(analysis("x"), facts()).actions == (Reply("hi"),)
    with pytest.raises(SourceError) as info:
        ruleset(
            tmp_path / "b",
            "settings: {acknowledge: {response: akc}}\nrules: []\n",
            responses='responses: {ack: ["ok"], reply_limit: ["x"]}',
        )
    assert "settings.acknowledge.response: unknown response 'akc' (did you mean 'ack'?)" in "\n".join(
        info.value.problems
    )


def test_set_ticket_is_decided_for_message_rules_only(tmp_path: Path) -> None:
    bot = engine(tmp_path, "rules: [{name: r, then: [{set_ticket: {priority: high}}, {reply: hi}]}]\n")
    assert bot.decide(analysis("x"), facts()).actions == (SetTicket("high"), Reply("hi"))
    with pytest.raises(SourceError) as info:
        ruleset(tmp_path / "b", "rules: [{name: t, event: ticket, then: [{set_ticket: {priority: high}}]}]\n")
    assert "action set_ticket is not available in event: ticket rules" in "\n".join(info.value.problems)
