"""Loop guards of ``event: ticket`` rules through the real app (both engines).

Two rules that undo each other's tag would ping-pong forever, and a relay of rules each reacting
to the previous one's tag could run as long as the rulebook is. The chain of causing rules is
recorded on the events a rule writes, so the next decision sees all of it: a rule never fires
on a change it led to (directly or through other rules), and a chain stops at ``max_chain``.
A rule that cannot do its work (tagging a closed ticket) must not stall the runner either.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.conftest import AppFactory
from tests.webchat.helpers import rows, send, start_session
from ticketing.models import ChannelCursor, Ticket, TicketEvent

RULES = """
settings:
  limits: {max_chain: 3}
rules:
  - name: open
    then:
      - open_ticket: {subject: "Help"}
      - reply: "Ticket {ticket} is open"
  - name: ping
    event: ticket
    when: {ticket: {tag_added: ping}}
    then:
      - untag: {ticket: [ping]}
      - tag: {ticket: [pong]}
  - name: pong
    event: ticket
    when: {ticket: {tag_added: pong}}
    then:
      - untag: {ticket: [pong]}
      - tag: {ticket: [ping]}
  - name: archive
    event: ticket
    when: {ticket: {status: {changed_to: closed}}}
    then:
      - tag: {ticket: [archived]}
      - add_note: archived
"""
RELAY = """
  - name: relay_{n}
    event: ticket
    when: {{ticket: {{tag_added: step{n}}}}}
    then:
      - tag: {{ticket: [step{next}]}}
"""


def rulebook(tmp_path: Path) -> Path:
    directory = tmp_path / "rulebook"
    directory.mkdir()
    (directory / "faq.yml").write_text(
        "faq:\n  - id: hours\n    questions: [When are you open?]\n    answer: Always.\n"
    )
    relays = "".join(RELAY.format(n=n, next=n + 1) for n in range(1, 6))
    (directory / "rules.yml").write_text(RULES + relays)
    return directory


async def tag_events(app: Any, number: int) -> list[tuple[str, dict[str, Any]]]:
    found = await rows(
        app.engine,
        select(TicketEvent.actor, TicketEvent.data)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(Ticket.number == number, TicketEvent.kind == "tags")
        .order_by(TicketEvent.id),
    )
    return [(actor, data) for actor, data in found]


async def settled(app: Any) -> None:
    """Wait until every event so far has been decided: nothing more can follow."""

    async def done() -> bool:
        # One statement, one snapshot: read apart, a rule's new events could commit in between
        # (with the cursor at the event that caused them) and pass for "nothing more follows".
        cursor = (
            select(ChannelCursor.value)
            .where(ChannelCursor.channel == "rules", ChannelCursor.name == "ticket_events")
            .scalar_subquery()
        )
        ((newest, value),) = await rows(
            app.engine, select(select(func.max(TicketEvent.id)).scalar_subquery(), cursor)
        )
        return value is not None and int(value.get("last", 0)) >= newest

    # Each step waits out the runner's 2 s commit lag; four steps in a row need ~10 s.
    deadline = time.monotonic() + 45
    while not await done():
        assert time.monotonic() < deadline, "ticket rules still running after 45 s: a loop, or stuck"
        await asyncio.sleep(0.1)


async def test_ticket_rules_that_trigger_each_other_stop_at_the_guards(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    app, client = await make_client(database_url, rulebook=rulebook(tmp_path))
    for expected in ("T-1001", "T-1002"):
        body = await send(client, await start_session(client), "I need help")
        assert body["replies"][0]["text"] == f"Ticket {expected} is open"

    await app.ticketing.desk.tag("T-1001", actor="agent:ana", add=["ping"])
    await app.ticketing.desk.tag("T-1002", actor="agent:ana", add=["step1"])

    await settled(app)

    # Ping-pong: ping reacts to the agent, pong to ping; ping may not react to pong's change,
    # which ping itself led to.
    assert await tag_events(app, 1001) == [
        ("agent:ana", {"added": ["ping"], "removed": []}),
        ("rule:ping", {"added": [], "removed": ["ping"], "caused_by": ["ping"]}),
        ("rule:ping", {"added": ["pong"], "removed": [], "caused_by": ["ping"]}),
        ("rule:pong", {"added": [], "removed": ["pong"], "caused_by": ["ping", "pong"]}),
        ("rule:pong", {"added": ["ping"], "removed": [], "caused_by": ["ping", "pong"]}),
    ]
    # Relay: three rules in a row (max_chain: 3), then the fourth may not react.
    assert await tag_events(app, 1002) == [
        ("agent:ana", {"added": ["step1"], "removed": []}),
        ("rule:relay_1", {"added": ["step2"], "removed": [], "caused_by": ["relay_1"]}),
        ("rule:relay_2", {"added": ["step3"], "removed": [], "caused_by": ["relay_1", "relay_2"]}),
        (
            "rule:relay_3",
            {"added": ["step4"], "removed": [], "caused_by": ["relay_1", "relay_2", "relay_3"]},
        ),
    ]
    tags = dict(await rows(app.engine, select(Ticket.number, Ticket.tags)))
    assert tags == {1001: ["ping"], 1002: ["step1", "step2", "step3", "step4"]}


async def test_closing_right_after_solving_runs_the_close_rule_once_and_does_not_stall(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    """Both changes are decided after the ticket is closed: only the second one is the close, and
    the rule's tag on a closed ticket (which cannot change) is skipped instead of failing the
    runner on this event forever."""
    app, client = await make_client(database_url, rulebook=rulebook(tmp_path))
    await send(client, await start_session(client), "I need help")
    await app.ticketing.desk.solve("T-1001", actor="agent:ana")
    await app.ticketing.desk.set_status("T-1001", "closed", actor="agent:ana")
    await settled(app)

    events = await rows(
        app.engine, select(TicketEvent.kind, TicketEvent.data).where(TicketEvent.actor == "rule:archive")
    )
    assert events == [("note", {"text": "archived"})]  # once, and no tags event
    assert await rows(app.engine, select(Ticket.tags)) == [([],)]
