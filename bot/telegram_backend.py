"""The Telegram connector's backend: customer linking, the update offset, attachment files.

TODO(ticketing): ``link_customer`` re-implements the identity move of
``ticketing.customers.Customers.identify`` for a known customer id; it belongs in ticketing as
``Customers.link_identity(ref, customer_id)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channel_files import DiskFiles
from bot.channel_state import ChannelCursors, single_consumer
from ticketing.customers import Customers
from ticketing.models import ChannelIdentity, Conversation, Customer, Interaction, OutboxItem, Ticket
from ticketing.time import utcnow

__all__ = ["TelegramBackendImpl"]

CHANNEL = "telegram"
_BUTTON_LOOKBACK = 20  # our latest replies in a chat searched for a pressed button's payload


class TelegramBackendImpl:
    def __init__(self, *, engine: AsyncEngine, customers: Customers, files: DiskFiles) -> None:
        self._engine = engine
        self._customers = customers
        self._cursors = ChannelCursors(engine=engine)
        self._files = files

    async def link_customer(
        self, *, external_user_id: str, external_thread_id: str, customer_id: int
    ) -> bool:
        ref = await self._customers.resolve(CHANNEL, external_user_id, external_thread_id)
        async with self._engine.begin() as conn:
            target = (
                await conn.execute(select(Customer.merged_into_id).where(Customer.id == customer_id))
            ).first()
            if target is None:
                return False
            customer_id = target.merged_into_id or customer_id
            current = (
                await conn.execute(
                    select(ChannelIdentity.customer_id)
                    .where(ChannelIdentity.id == ref.identity_id)
                    .with_for_update()
                )
            ).scalar_one()
            if current == customer_id:
                return True
            conversations = select(Conversation.id).where(Conversation.identity_id == ref.identity_id)
            await conn.execute(
                update(Interaction)
                .where(Interaction.conversation_id.in_(conversations))
                .values(customer_id=customer_id)
            )
            await conn.execute(
                update(Ticket)
                .where(Ticket.conversation_id.in_(conversations))
                .values(customer_id=customer_id)
            )
            await conn.execute(
                update(Conversation)
                .where(Conversation.identity_id == ref.identity_id)
                .values(customer_id=customer_id)
            )
            await conn.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.id == ref.identity_id)
                .values(customer_id=customer_id)
            )
            others = (
                await conn.execute(
                    select(ChannelIdentity.id).where(ChannelIdentity.customer_id == current).limit(1)
                )
            ).first()
            if others is None:  # the anonymous record is now empty: point it at the real one
                await conn.execute(
                    update(Customer)
                    .where(Customer.id == current)
                    .values(merged_into_id=customer_id, updated_at=utcnow())
                )
        return True

    async def load_offset(self) -> int | None:
        value = await self._cursors.get(CHANNEL, "updates")
        return int(value["offset"]) if value and "offset" in value else None

    async def save_offset(self, offset: int) -> None:
        await self._cursors.put(CHANNEL, "updates", {"offset": offset})

    async def button_payload(
        self, *, user_id: str, chat_id: str, message_id: str, index: int, label: str
    ) -> str | None:
        """Exact when the outbox has recorded which Telegram message carried our reply: two
        replies may offer the same label at the same place with different payloads (a menu
        asked twice). Until then (a press faster than the outbox's bookkeeping), the newest
        of our recent replies that has this label at ``index``."""
        in_chat = (
            select(Interaction.quick_replies)
            .join(Conversation, Conversation.id == Interaction.conversation_id)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .where(
                ChannelIdentity.channel == CHANNEL,
                ChannelIdentity.external_id == user_id,
                Conversation.external_thread_id == chat_id,
                Interaction.direction == "out",
            )
        )
        delivered = in_chat.join(OutboxItem, OutboxItem.interaction_id == Interaction.id).where(
            OutboxItem.channel == CHANNEL, OutboxItem.external_id == message_id
        )
        recent = in_chat.order_by(Interaction.id.desc()).limit(_BUTTON_LOOKBACK)
        async with self._engine.connect() as conn:
            exact = (await conn.execute(delivered.limit(1))).scalars().all()
            offered = exact or (await conn.execute(recent)).scalars().all()
        for buttons in offered:
            if len(buttons) > index and buttons[index]["label"] == label:
                return str(buttons[index]["payload"])
        return None

    async def store_attachment(self, *, filename: str, content_type: str, data: bytes) -> str:
        return await self._files.put("attachments/telegram", filename, data)

    @contextlib.asynccontextmanager
    async def single_consumer(self, name: str) -> AsyncIterator[None]:
        async with single_consumer(self._engine, name):
            yield
