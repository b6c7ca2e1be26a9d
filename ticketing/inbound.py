"""Recording inbound messages: idempotent, committed before the channel is acknowledged.

:meth:`Inbound.record` goes through a :class:`~ticketing.batching.GroupCommit`, so concurrent
messages share one transaction. Inside it, the ``inbound_dedup`` insert decides which messages
are new (a retried delivery conflicts on its key and is reported as a duplicate of the
original), and the conversation's current state is read in the same transaction so the flow
knows whether an agent has taken over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.batching import GroupCommit
from ticketing.customers import ConversationRef
from ticketing.database import insert_returning_ids
from ticketing.models import Conversation, InboundDedup, Interaction
from ticketing.time import utcnow

__all__ = ["ConversationState", "Inbound", "InboundRecord", "Recorded"]


@dataclass(frozen=True, slots=True)
class InboundRecord:
    """One inbound message as storage sees it (the bot builds it from an InboundMessage)."""

    conversation: ConversationRef
    channel: str
    idempotency_key: str
    text: str
    received_at: datetime
    sender_role: str = "customer"
    sender_name: str | None = None
    subject: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    external_message_id: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.channel, self.idempotency_key)


@dataclass(frozen=True, slots=True)
class ConversationState:
    customer_id: int
    status: str
    handed_off: bool
    open_ticket_id: int | None
    open_ticket_number: int | None


@dataclass(frozen=True, slots=True)
class Recorded:
    interaction_id: int
    duplicate: bool
    processed: bool  # a duplicate whose original already got its answer
    created_at: datetime
    state: ConversationState = field(compare=False)


class Inbound:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._dedup_insert = dialect.insert(InboundDedup).on_conflict_do_nothing()
        self._batch: GroupCommit[InboundRecord, Recorded] = GroupCommit(self._record_many, name="inbound")

    async def record(self, record: InboundRecord) -> Recorded:
        return await self._batch.submit(record)

    async def close(self) -> None:
        await self._batch.close()

    async def _record_many(self, records: Sequence[InboundRecord]) -> list[Recorded]:
        now = utcnow()
        async with self._engine.begin() as conn:
            states = await _states(conn, {r.conversation.id for r in records})
            fresh = await self._claim_keys(conn, records, now)
            new = [r for r in records if r.key in fresh]
            ids: dict[tuple[str, str], int] = {}
            if new:
                rows = [_interaction_row(r, states[r.conversation.id].customer_id) for r in new]
                new_ids = await insert_returning_ids(conn, Interaction.id, rows)
                for r, interaction_id in zip(new, new_ids, strict=True):
                    key = r.key
                    ids.setdefault(key, interaction_id)
                await conn.execute(
                    _LINK_DEDUP, [{"b_channel": c, "b_key": k, "b_id": i} for (c, k), i in ids.items()]
                )
                await conn.execute(_TOUCH, {"ids": list({r.conversation.id for r in new}), "now": now})
            originals = await _originals(conn, [r for r in records if r not in new])
        out = []
        claimed: set[tuple[str, str]] = set()
        for r in records:
            key = r.key
            state = states[r.conversation.id]
            if key in ids and key not in claimed:
                claimed.add(key)
                out.append(Recorded(ids[key], False, False, r.received_at, state))
            else:
                interaction_id, processed, created = originals.get(key) or (ids[key], False, now)
                out.append(Recorded(interaction_id, True, processed, created, state))
        return out

    async def _claim_keys(
        self, conn: AsyncConnection, records: Sequence[InboundRecord], now: datetime
    ) -> set[tuple[str, str]]:
        rows = [{"channel": r.channel, "key": r.idempotency_key, "created_at": now} for r in records]
        result = await conn.execute(
            self._dedup_insert.returning(InboundDedup.channel, InboundDedup.key), rows
        )
        return {(c, k) for c, k in result.all()}


# Built once: constructing statements costs more than executing them at this batch rate.
_STATES = select(
    Conversation.id,
    Conversation.customer_id,
    Conversation.status,
    Conversation.handed_off,
    Conversation.open_ticket_id,
    Conversation.open_ticket_number,
).where(Conversation.id.in_(bindparam("ids", expanding=True)))
_LINK_DEDUP = (
    update(InboundDedup)
    .where(InboundDedup.channel == bindparam("b_channel"), InboundDedup.key == bindparam("b_key"))
    .values(interaction_id=bindparam("b_id"))
)
_TOUCH = (
    update(Conversation)
    .where(Conversation.id.in_(bindparam("ids", expanding=True)))
    .values(last_message_at=bindparam("now"))
)


# Built once: constructing statements costs more than executing them at this batch rate.
_STATES = select(
    Conversation.id,
    Conversation.customer_id,
    Conversation.status,
    Conversation.handed_off,
    Conversation.open_ticket_id,
    Conversation.open_ticket_number,
).where(Conversation.id.in_(bindparam("ids", expanding=True)))
_LINK_DEDUP = (
    update(InboundDedup)
    .where(InboundDedup.channel == bindparam("b_channel"), InboundDedup.key == bindparam("b_key"))
    .values(interaction_id=bindparam("b_id"))
)
_TOUCH = (
    update(Conversation)
    .where(Conversation.id.in_(bindparam("ids", expanding=True)))
    .values(last_message_at=bindparam("now"))
)


async def _states(conn: AsyncConnection, conversation_ids: set[int]) -> dict[int, ConversationState]:
    rows = await conn.execute(_STATES, {"ids": list(conversation_ids)})
    return {row.id: ConversationState(*row[1:]) for row in rows}


async def _originals(
    conn: AsyncConnection, duplicates: Sequence[InboundRecord]
) -> dict[tuple[str, str], tuple[int, bool, datetime]]:
    if not duplicates:
        return {}
    found: dict[tuple[str, str], tuple[int, bool, datetime]] = {}
    for r in duplicates:  # rare: retries only
        stmt = (
            select(Interaction.id, Interaction.processed_at, Interaction.created_at)
            .join(InboundDedup, InboundDedup.interaction_id == Interaction.id)
            .where(InboundDedup.channel == r.channel, InboundDedup.key == r.idempotency_key)
        )
        row = (await conn.execute(stmt)).first()
        if row is not None:
            found[r.key] = (row.id, row.processed_at is not None, row.created_at)
    return found


def _interaction_row(r: InboundRecord, customer_id: int) -> dict[str, Any]:
    return {
        "conversation_id": r.conversation.id,
        "customer_id": customer_id,
        "ticket_id": None,
        "channel": r.channel,
        "direction": "in",
        "sender_role": r.sender_role,
        "sender_name": r.sender_name,
        "text": r.text,
        "subject": r.subject,
        "attachments": list(r.attachments),
        "quick_replies": [],
        "external_message_id": r.external_message_id,
        "in_reply_to_id": None,
        "analysis": None,
        "rule": None,
        "processed_at": None,
        "created_at": r.received_at,
    }
