"""The webhook producer's reads: what happened since its cursors, turned into delivery rows.

Nothing on the message path writes for webhooks: the durable records already say what
happened. This feed tails ``ticket_events`` (ticket.created, ticket.updated, sla.*, csat) and
``interactions`` (message.created) in id order, each behind a
:class:`~ticketing.commit_order.HoleGuard` (PostgreSQL commits ids out of order; interaction ids
are reserved from the sequence, so they can too), and inserts one delivery per matching
subscription in the transaction that moves its cursors (``channel_cursors``, locked
``FOR UPDATE``): every event is queued exactly once. Only the holder of the advisory lock runs it.
Erasures are queued by ``customer_admin.erase`` itself, in its own transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.commit_order import HoleGuard
from ticketing.leader import Leadership
from ticketing.models import ChannelCursor, Conversation, Interaction, Ticket, TicketEvent
from ticketing.webhooks import CURSOR_CHANNEL, Subscription, enqueue, event_body

__all__ = ["LOCK", "WebhookFeed", "message_data", "ticket_data"]

LOCK = 0x46_44_57_48_4B  # "FDWHK"
_UPDATED = ("status", "priority", "queue", "assignee", "tags")
_KINDS = {"created": "ticket.created", "sla_warning": "sla.warning", "sla_breach": "sla.breached",
          "csat": "csat.received"} | {kind: "ticket.updated" for kind in _UPDATED}  # fmt: skip


def ticket_data(row: dict[str, Any]) -> dict[str, Any]:
    """The ticket as a payload shows it (docs/webhooks.md)."""
    return {
        "id": row["id"], "number": row["number"], "reference": f"T-{row['number']}",
        "status": row["status"], "priority": row["priority"], "queue": row["queue"],
        "tags": list(row["tags"] or ()), "assignee": row["assignee"], "subject": row["subject"],
        "channel": row["channel"], "customer_id": row["customer_id"],
        "conversation_id": row["conversation_id"],
    }  # fmt: skip


def message_data(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "conversation_id": row.conversation_id, "conversation": row.public_id,
        "customer_id": row.customer_id, "ticket_id": row.ticket_id, "channel": row.channel,
        "direction": row.direction, "sender_role": row.sender_role, "sender_name": row.sender_name,
        "text": row.text, "subject": row.subject, "attachments": list(row.attachments or ()),
    }  # fmt: skip


class WebhookFeed:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        self._leadership = Leadership(engine=engine, key=LOCK, name="the webhook producer")
        self._event_holes = HoleGuard(engine, name="webhooks (ticket events)")
        self._message_holes = HoleGuard(engine, name="webhooks (interactions)")
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._cursor_insert = dialect.insert(ChannelCursor).on_conflict_do_nothing()
        # The cursors as this process last committed them: when nothing is newer, a round costs
        # one read and no write transaction (another process moves them only while it leads).
        self._taken: tuple[int, int] | None = None

    async def lead(self) -> bool:
        return await self._leadership.check()

    async def release(self) -> None:
        await self._leadership.release()

    async def newest(self) -> tuple[int, int]:
        """The newest event and interaction ids, read without a transaction."""
        stmt = select(
            select(func.coalesce(func.max(TicketEvent.id), 0)).scalar_subquery(),
            select(func.coalesce(func.max(Interaction.id), 0)).scalar_subquery(),
        )
        async with self._engine.connect() as conn:
            events, messages = (await conn.execute(stmt)).one()
        return int(events), int(messages)

    async def run_once(
        self, subscriptions: Sequence[Subscription], *, now: datetime, limit: int
    ) -> tuple[int, int]:
        """Queue the next events and messages after the cursors; returns (rows read, deliveries)."""
        newest_events, newest_messages = await self.newest()
        taken = self._taken
        if taken is not None and newest_events <= taken[0] and newest_messages <= taken[1]:
            return 0, 0
        async with self._engine.begin() as conn:
            read, queued = 0, 0
            after = await self._cursor(conn, "ticket_events", newest_events, now)
            events = (
                await conn.execute(
                    select(
                        TicketEvent.id,
                        TicketEvent.ticket_id,
                        TicketEvent.kind,
                        TicketEvent.data,
                        TicketEvent.actor,
                        TicketEvent.created_at,
                    )
                    .where(TicketEvent.id > after)
                    .order_by(TicketEvent.id)
                    .limit(limit)
                )
            ).all()
            upto = await self._event_holes.upto(after, [row.id for row in events])
            events = [row for row in events if row.id <= upto]
            events_last = upto
            if events:
                queued += await self._queue_events(conn, events, subscriptions, now)
                await self._advance(conn, "ticket_events", upto, now)
                read += len(events)
            after = await self._cursor(conn, "interactions", newest_messages, now)
            if not any("message.created" in sub.events for sub in subscriptions):
                # Nobody wants messages: skip them unread (the web chat writes thousands a second).
                if newest_messages > after:
                    await self._advance(conn, "interactions", newest_messages, now)
                self._taken = (events_last, max(after, newest_messages))
                return read, queued
            messages = (
                await conn.execute(
                    select(
                        Interaction.id,
                        Interaction.conversation_id,
                        Conversation.public_id,
                        Interaction.customer_id,
                        Interaction.ticket_id,
                        Interaction.channel,
                        Interaction.direction,
                        Interaction.sender_role,
                        Interaction.sender_name,
                        Interaction.text,
                        Interaction.subject,
                        Interaction.attachments,
                        Interaction.created_at,
                    )
                    .join(Conversation, Conversation.id == Interaction.conversation_id)
                    .where(Interaction.id > after)
                    .order_by(Interaction.id)
                    .limit(limit)
                )
            ).all()
            upto = await self._message_holes.upto(after, [row.id for row in messages])
            messages = [row for row in messages if row.id <= upto]
            messages_last = upto
            if messages:
                rows = [
                    ("message.created", _order_key(m.ticket_id, m.conversation_id),
                     event_body("message.created", m.created_at, {"message": message_data(m)}))
                    for m in messages
                ]  # fmt: skip
                queued += await enqueue(conn, rows, subscriptions, now)
                await self._advance(conn, "interactions", upto, now)
                read += len(messages)
        self._taken = (events_last, messages_last)
        return read, queued

    async def _queue_events(
        self,
        conn: AsyncConnection,
        events: Sequence[Any],
        subscriptions: Sequence[Subscription],
        now: datetime,
    ) -> int:
        wanted = [e for e in events if e.kind in _KINDS]
        if not wanted:
            return 0
        ids = sorted({e.ticket_id for e in wanted})
        tickets = {
            row["id"]: dict(row)
            for row in (await conn.execute(select(Ticket.__table__).where(Ticket.id.in_(ids)))).mappings()
        }
        rows = []
        for event in wanted:
            ticket = tickets.get(event.ticket_id)
            if ticket is None:
                continue
            kind = _KINDS[event.kind]
            data: dict[str, Any] = {"ticket": ticket_data(ticket), "actor": event.actor, "event_id": event.id}
            if kind == "ticket.updated":
                data["change"] = {"field": event.kind, **(event.data or {})}
            elif kind == "csat.received":
                data["csat"] = {
                    "score": (event.data or {}).get("score"),
                    "comment": (event.data or {}).get("comment"),
                }
            elif kind.startswith("sla."):
                data["sla"] = {
                    "target": (event.data or {}).get("target"),
                    "due_at": (event.data or {}).get("due_at"),
                }
            rows.append((kind, _order_key(event.ticket_id, None), event_body(kind, event.created_at, data)))
        return await enqueue(conn, rows, subscriptions, now)

    async def _cursor(self, conn: AsyncConnection, name: str, newest: int, now: datetime) -> int:
        """The last id taken; on first start the newest (history is not sent, ``replay`` is for that)."""
        await conn.execute(
            self._cursor_insert,
            {"channel": CURSOR_CHANNEL, "name": name, "value": {"last": newest}, "updated_at": now},
        )
        stmt = select(ChannelCursor.value).where(
            ChannelCursor.channel == CURSOR_CHANNEL, ChannelCursor.name == name
        )
        value = (await conn.execute(stmt.with_for_update())).scalar_one()
        return int(value.get("last", 0))

    async def _advance(self, conn: AsyncConnection, name: str, last: int, now: datetime) -> None:
        await conn.execute(
            update(ChannelCursor)
            .where(ChannelCursor.channel == CURSOR_CHANNEL, ChannelCursor.name == name)
            .values(value={"last": last}, updated_at=now)
        )


def _order_key(ticket_id: int | None, conversation_id: int | None) -> str | None:
    if ticket_id is not None:
        return f"ticket:{ticket_id}"
    return None if conversation_id is None else f"conversation:{conversation_id}"
