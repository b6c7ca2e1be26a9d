"""Rules with ``event: ticket`` through the real app: an agent's change to a ticket runs them once."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, select

from tests.conftest import AppFactory
from tests.webchat.helpers import UNHANDLED, eventually, rows, send, start_session
from ticketing.models import Interaction, TicketEvent


async def test_solving_a_ticket_tells_the_customer_and_urgent_priority_alerts(
    database_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(database_url)
    visitor = await start_session(client)
    assert "T-1001" in (await send(client, visitor, UNHANDLED))["replies"][0]["text"]

    await app.ticketing.desk.set_priority("T-1001", "urgent", actor="agent:ana")

    async def alerted() -> bool:
        events = await rows(app.engine, select(TicketEvent.kind, TicketEvent.actor, TicketEvent.data))
        by_rule = [(kind, data) for kind, actor, data in events if actor == "rule:urgent_ticket_alert"]
        return (
            "notify",
            {"slack": "#support-urgent", "text": "Ticket T-1001 is now urgent"},
        ) in by_rule and any(kind == "note" for kind, _ in by_rule)

    await eventually(alerted)

    await app.ticketing.desk.solve("T-1001", actor="agent:ana")

    async def told() -> bool:
        history = await client.get("/api/v1/messages", headers=visitor.auth)
        return any("has been marked as solved" in m["text"] for m in (await history.json())["messages"])

    await eventually(told)
    # Decided once: the rule's reply is stored a single time, attributed to the rule.
    replies = await rows(app.engine, select(Interaction.rule).where(Interaction.rule == "ticket_solved"))
    assert len(replies) == 1


async def test_a_burst_of_changes_is_decided_with_two_reads_not_two_per_event(
    database_url: str, make_client: AppFactory
) -> None:
    """Ten tickets solved at once (or auto-closed by one sweep): each customer is told once, and
    the runner reads the ten tickets and their customers together, not one by one inside the
    transaction that holds the cursor."""
    app, client = await make_client(database_url)
    visitors = [await start_session(client) for _ in range(10)]
    for visitor in visitors:
        await send(client, visitor, UNHANDLED)
    await app.ticket_rules.run_once()  # the "created" events: nothing watched
    await app.ticket_rules.stop()  # decide the burst here, in one run
    for n in range(10):
        await app.ticketing.desk.solve(f"T-{1001 + n}", actor="agent:ana")
    reads: list[str] = []
    runner = asyncio.current_task()  # the SLA sweep may read tickets meanwhile: not counted

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if asyncio.current_task() is not runner:
            return
        if sql.lstrip().startswith("SELECT") and ("FROM tickets" in sql or "FROM customers" in sql):
            reads.append(sql)

    event.listen(app.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await app.ticket_rules.run_once() >= 10
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", count)
    assert len(reads) == 2
    replies = await rows(app.engine, select(Interaction.rule).where(Interaction.rule == "ticket_solved"))
    assert len(replies) == 10
