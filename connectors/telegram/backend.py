"""What the Telegram connector needs from the rest of Frontdesk besides the inbound sink.

Kept narrow so the connector imports nothing but bot contracts; ``bot/telegram_backend.py``
implements it on the database and the attachment directory.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

__all__ = ["TelegramBackend"]


class TelegramBackend(Protocol):
    async def link_customer(
        self, *, external_user_id: str, external_thread_id: str, customer_id: int
    ) -> bool:
        """Attach this Telegram user to an existing customer (a verified deep link).

        Returns False when the customer does not exist.
        """

    async def load_offset(self) -> int | None:
        """The next ``getUpdates`` offset saved by the last poller, if any."""

    async def save_offset(self, offset: int) -> None:
        """Remember the next ``getUpdates`` offset (after the updates before it are committed)."""

    async def button_payload(
        self, *, user_id: str, chat_id: str, message_id: str, index: int, label: str
    ) -> str | None:
        """The payload of button ``index``, labelled ``label``, on our reply that Telegram
        delivered as ``message_id`` in this user's chat (or, if that delivery is not recorded
        yet, on the newest reply there that has such a button): a payload too long for
        Telegram's ``callback_data`` travels as the button's index and is looked up here."""

    async def store_attachment(self, *, filename: str, content_type: str, data: bytes) -> str:
        """Keep a downloaded file; returns its storage key."""

    def single_consumer(self, name: str) -> AbstractAsyncContextManager[None]:
        """Entered once this process is the only one allowed to poll (PostgreSQL advisory lock)."""
