"""SLA warnings, breaches and escalations appear in the ticket's thread and the alert channels,
mentioning the assignee."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import card_ts, in_thread, is_card, post_action, start
from tests.slack.payloads import button
from tests.webchat.helpers import send, start_session
from ticketing.models import Ticket, TicketEvent
from ticketing.time import utcnow

COMPLAINT = "This is unacceptable, the item arrived broken and I am furious"


async def test_warnings_breaches_and_escalations_mention_the_assignee(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    await app.ticketing.roster.add_queue("tier2")
    await app.ticketing.roster.add_agent("alice", queues=["support", "tier2"], display_name="Alice Agent")
    visitor = await start_session(client)
    await send(client, visitor, COMPLAINT)
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    async with app.engine.connect() as conn:
        ticket = (await conn.execute(select(Ticket.__table__))).mappings().one()
    assert "complaint" in ticket["tags"]
    assert (await post_action(client, button("ticket_claim", ticket["number"]))).status == 200

    # Time passes: one sweep a month later fires every clock of the ticket.
    report = await app.ticketing.scheduler.sweep(now=utcnow() + timedelta(days=30))
    assert report.fired >= 3
    async with app.engine.connect() as conn:
        kinds = set((await conn.execute(select(TicketEvent.kind))).scalars())
    assert {"sla_warning", "sla_breach", "escalated", "notify"} <= kinds

    [warning] = await slack.wait_for("chat.postMessage", where=in_thread(ts, ":warning: SLA *first_reply*"))
    assert "<@U0ALICE>" in warning.params["text"]
    [breach] = await slack.wait_for(
        "chat.postMessage", where=in_thread(ts, ":rotating_light: SLA *first_reply*")
    )
    assert "<@U0ALICE>" in breach.params["text"]
    [escalated] = await slack.wait_for(
        "chat.postMessage", where=in_thread(ts, "Escalated by *complaint_unanswered*")
    )
    assert "<@U0ALICE>" in escalated.params["text"]
    alerts = await slack.wait_for("chat.postMessage", 3, where=lambda c: c.params["channel"] == "C0ALERTS")
    assert all(f"T-{ticket['number']}" in c.params["text"] for c in alerts)
    [lead] = await slack.wait_for("chat.postMessage", where=lambda c: c.params["channel"] == "C0LEADS")
    assert "has no first reply" in lead.params["text"] and "<@U0ALICE>" in lead.params["text"]
    await slack.wait_for(
        "chat.update", where=lambda c: "urgent" in str(c.params["blocks"]) and c.params["ts"] == ts
    )
