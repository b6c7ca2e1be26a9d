"""Reading a conversation's messages (web chat history, retried deliveries) and finding which
thread a reply, a ticket number or a pressed button belongs to (email and Telegram threading)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import ChannelIdentity, Conversation, Interaction, OutboxItem, Ticket

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
    attachments: tuple[dict[str, Any], ...] = ()  # filename, content_type, size, storage_key


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
    Interaction.attachments,
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
        attachments=tuple(a for a in (row.attachments or ()) if isinstance(a, dict)),
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

    # -- a channel's threads: which conversation a reply, a ticket number or a button belongs to --

    async def thread_of_ticket(self, channel: str, number: int) -> str | None:
        """The external thread id of ticket ``number``'s conversation, if it is on ``channel``."""
        stmt = (
            select(Conversation.external_thread_id)
            .join(Ticket, Ticket.conversation_id == Conversation.id)
            .where(Ticket.number == number, Conversation.channel == channel)
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()

    async def thread_of_messages(
        self, channel: str, *, interaction_ids: Sequence[int], external_ids: Sequence[str]
    ) -> str | None:
        """The thread of the first of these messages found: our own (by interaction id, a
        primary-key lookup) first, then the channel's message ids (open: that lookup has no index
        on ``interactions(channel, external_message_id)`` yet)."""
        async with self._engine.connect() as conn:
            if interaction_ids:
                stmt = (
                    select(Conversation.external_thread_id)
                    .join(Interaction, Interaction.conversation_id == Conversation.id)
                    .where(Interaction.id.in_(interaction_ids), Conversation.channel == channel)
                    .limit(1)
                )
                found = (await conn.execute(stmt)).scalar()
                if found is not None:
                    return found
            if not external_ids:
                return None
            stmt = (
                select(Conversation.external_thread_id)
                .join(Interaction, Interaction.conversation_id == Conversation.id)
                .where(Interaction.channel == channel, Interaction.external_message_id.in_(external_ids))
                .limit(1)
            )
            return (await conn.execute(stmt)).scalar()

    async def reply_buttons(self, channel: str, interaction_id: int) -> list[dict[str, Any]]:
        """The quick replies of our reply ``interaction_id`` on ``channel`` (none if it is not one)."""
        stmt = select(Interaction.quick_replies).where(
            Interaction.id == interaction_id, Interaction.channel == channel, Interaction.direction == "out"
        )
        async with self._engine.connect() as conn:
            found = (await conn.execute(stmt)).scalar()
        return list(found or ())

    async def offered_buttons(
        self, channel: str, *, user_id: str, chat_id: str, message_id: str, lookback: int
    ) -> list[list[dict[str, Any]]]:
        """The quick replies of our reply delivered as ``message_id`` in this user's chat, once the
        outbox has recorded that delivery; until then those of our ``lookback`` newest replies
        there, newest first."""
        in_chat = (
            select(Interaction.quick_replies)
            .join(Conversation, Conversation.id == Interaction.conversation_id)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .where(
                ChannelIdentity.channel == channel,
                ChannelIdentity.external_id == user_id,
                Conversation.external_thread_id == chat_id,
                Interaction.direction == "out",
            )
        )
        delivered = in_chat.join(OutboxItem, OutboxItem.interaction_id == Interaction.id).where(
            OutboxItem.channel == channel, OutboxItem.external_id == message_id
        )
        recent = in_chat.order_by(Interaction.id.desc()).limit(lookback)
        async with self._engine.connect() as conn:
            exact = (await conn.execute(delivered.limit(1))).scalars().all()
            offered = exact or (await conn.execute(recent)).scalars().all()
        return [list(buttons) for buttons in offered]
