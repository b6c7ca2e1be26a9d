"""Reading a conversation's messages (web chat history, retried deliveries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import Interaction, OutboxItem

__all__ = ["History", "StoredMessage"]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    direction: str
    sender_role: str
    sender_name: str | None
    text: str
    created_at: datetime
    external_message_id: str | None
    quick_replies: tuple[dict[str, Any], ...]
    ticket_id: int | None


_COLUMNS = (
    Interaction.id,
    Interaction.direction,
    Interaction.sender_role,
    Interaction.sender_name,
    Interaction.text,
    Interaction.created_at,
    Interaction.external_message_id,
    Interaction.quick_replies,
    Interaction.ticket_id,
)


def _message(row: Any) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        direction=row.direction,
        sender_role=row.sender_role,
        sender_name=row.sender_name,
        text=row.text,
        created_at=row.created_at,
        external_message_id=row.external_message_id,
        quick_replies=tuple(row.quick_replies or ()),
        ticket_id=row.ticket_id,
    )


class History:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def conversation(
        self, conversation_id: int, *, after: int = 0, limit: int = 100
    ) -> list[StoredMessage]:
        stmt = (
            select(*_COLUMNS)
            .where(Interaction.conversation_id == conversation_id, Interaction.id > after)
            .order_by(Interaction.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_message(row) for row in await conn.execute(stmt)]

    async def message(self, interaction_id: int) -> StoredMessage | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*_COLUMNS).where(Interaction.id == interaction_id))).first()
        return _message(row) if row else None

    async def reply_payloads(self, inbound_id: int) -> list[dict[str, Any]]:
        """The outbox payloads of the replies to one inbound message (answers a retried delivery)."""
        stmt = (
            select(OutboxItem.payload)
            .join(Interaction, Interaction.id == OutboxItem.interaction_id)
            .where(Interaction.in_reply_to_id == inbound_id)
            .order_by(Interaction.id)
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(stmt)).scalars().all())
