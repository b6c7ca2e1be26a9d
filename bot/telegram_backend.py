"""The Telegram connector's backend: customer linking, the update offset, attachment files.

A thin adapter: every read and write is a ticketing repository's (customers, history, channel
state, files); this module only binds them to the Telegram channel.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from bot.attachment_files import AttachmentFiles
from ticketing.channel_files import DiskFiles
from ticketing.channel_state import ChannelState
from ticketing.customers import Customers
from ticketing.history import History

__all__ = ["TelegramBackendImpl"]

CHANNEL = "telegram"
_BUTTON_LOOKBACK = 20  # our latest replies in a chat searched for a pressed button's payload


class TelegramBackendImpl:
    def __init__(
        self,
        *,
        customers: Customers,
        history: History,
        state: ChannelState,
        files: DiskFiles,
        attachments: AttachmentFiles,
    ) -> None:
        self._attachments = attachments  # every channel's files: replies carry agents' files
        self._customers = customers
        self._history = history
        self._state = state
        self._files = files

    async def link_customer(
        self, *, external_user_id: str, external_thread_id: str, customer_id: int
    ) -> bool:
        ref = await self._customers.resolve(CHANNEL, external_user_id, external_thread_id)
        return await self._customers.link_identity(ref, customer_id)

    async def load_offset(self) -> int | None:
        value = await self._state.get(CHANNEL, "updates")
        return int(value["offset"]) if value and "offset" in value else None

    async def save_offset(self, offset: int) -> None:
        await self._state.put(CHANNEL, "updates", {"offset": offset})

    async def button_payload(
        self, *, user_id: str, chat_id: str, message_id: str, index: int, label: str
    ) -> str | None:
        """Exact when the outbox has recorded which Telegram message carried our reply: two
        replies may offer the same label at the same place with different payloads (a menu
        asked twice). Until then (a press faster than the outbox's bookkeeping), the newest
        of our recent replies that has this label at ``index``."""
        offered = await self._history.offered_buttons(
            CHANNEL, user_id=user_id, chat_id=chat_id, message_id=message_id, lookback=_BUTTON_LOOKBACK
        )
        for buttons in offered:
            if len(buttons) > index and buttons[index]["label"] == label:
                return str(buttons[index]["payload"])
        return None

    async def store_attachment(self, *, filename: str, content_type: str, data: bytes) -> str:
        return await self._files.put("attachments/telegram", filename, data)

    async def read_attachment(self, storage_key: str) -> bytes | None:
        return await self._attachments.read(storage_key)

    def single_consumer(self, name: str) -> AbstractAsyncContextManager[None]:
        return self._state.single_consumer(name)
