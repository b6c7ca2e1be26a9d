"""Customers with different behaviour, made through the app's own turn writer (the path every
channel's messages take), on the loopback channel of :func:`tests.api.helpers.start_api`."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from tests.api.helpers import Api
from ticketing.models import Conversation, Customer
from ticketing.turns import InboundRecord, Plan, TicketDraft, Turn

_keys = itertools.count(1)
NEUTRAL = {"intent": None, "sentiment": {"score": 0.0, "label": "neutral"}, "complaint": {"is": False}}
ANGRY = {"intent": None, "sentiment": {"score": -0.9, "label": "negative"}, "complaint": {"is": True}}


async def say(
    api: Api, user: str, text: str = "hello", *, thread: str | None = None,
    analysis: dict[str, Any] = NEUTRAL, ticket: bool = False, days_ago: float = 0,
) -> int:  # fmt: skip
    """One customer message (on a new thread unless given), optionally opening a ticket; returns
    the customer's id. ``days_ago``: the message and its conversation are that old (the clock moved
    on since: the conversation's last message and the customer's creation are set back after the write)."""
    n = next(_keys)
    ref = await api.app.customers.resolve("loopback", user, thread or f"{user}-thread{n}")

    def plan(_state: Any, take: Any) -> Plan:
        draft = (
            TicketDraft(number=take(), subject=text, actor="rule:test", queue="support", priority="normal")
            if ticket
            else None
        )
        return Plan(analysis=analysis, open_ticket=draft)

    at = datetime.now(UTC) - timedelta(days=days_ago)
    result = await api.app.turns.record(Turn(InboundRecord(ref, "loopback", f"seg-{n}", text, at), plan))
    assert not result.refused and not result.duplicate, result
    async with api.app.engine.begin() as conn:
        owner = select(Conversation.customer_id).where(Conversation.id == ref.id)
        customer = int((await conn.execute(owner)).scalar_one())
        if days_ago:
            conversation = update(Conversation).where(Conversation.id == ref.id)
            await conn.execute(conversation.values(last_message_at=at))
            await conn.execute(update(Customer).where(Customer.id == customer).values(created_at=at))
        return customer


async def desk(api: Api, per_group: int = 5) -> dict[str, list[int]]:
    """Five groups of customers: plain (one message), frequent (six conversations), heavy-support
    (three tickets), at-risk (angry complaints), dormant (one message 200 days ago)."""
    groups: dict[str, list[int]] = {}
    for i in range(per_group):
        groups.setdefault("plain", []).append(await say(api, f"plain{i}"))
        for _ in range(6):
            cid = await say(api, f"frequent{i}", "thanks!")
        groups.setdefault("frequent", []).append(cid)
        for _ in range(3):
            cid = await say(api, f"heavy{i}", "my order is broken", ticket=True)
        groups.setdefault("heavy", []).append(cid)
        thread = f"angry{i}-thread"
        for _ in range(2):
            cid = await say(api, f"angry{i}", "this is awful", thread=thread, analysis=ANGRY)
        groups.setdefault("angry", []).append(cid)
        groups.setdefault("dormant", []).append(await say(api, f"dormant{i}", days_ago=200))
    return groups
