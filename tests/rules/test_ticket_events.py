"""Rules with ``event: ticket`` through the real app: an agent's change to a ticket runs them once."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import AppFactory
from tests.webchat.helpers import UNRELATED, eventually, rows, send, start_session
from ticketing.models import Interaction, TicketEvent


async def test_solving_a_ticket_tells_the_customer_and_urgent_priority_alerts(
    database_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(database_url)
    visitor = await start_session(client)
    assert "T-1001" in (await send(client, visitor, UNRELATED))["replies"][0]["text"]

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
