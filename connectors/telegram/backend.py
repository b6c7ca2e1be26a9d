"""What the Telegram connector needs from the rest of Frontdesk besides the inbound sink, by role.

Kept narrow so the connector imports nothing but core contracts: handling an update asks
:class:`ChatStore`, the long-polling loop :class:`UpdateOffsets`. ``bot/telegram_backend.py``
implements both (:class:`TelegramBackend`) on ticketing's repositories and the attachment directory.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

__all__ = ["ChatStore", "TelegramBackend", "UpdateOffsets"]


class ChatStore(Protocol):
    """Customers, our earlier replies and files, as a chat's updates need them."""

    async def link_customer(
        self, *, external_user_id: str, external_thread_id: str, customer_id: int
    ) -> bool:
        """Attach this Telegram user to an existing customer (a verified deep link).

        Returns False when the customer does not exist.
        """

    async def button_payload(
        self, *, user_id: str, chat_id: str, message_id: str, index: int, label: str
    ) -> str | None:
        """The payload of button ``index``, labelled ``label``, on our reply that Telegram
        delivered as ``message_id`` in this user's chat (or, if that delivery is not recorded
        yet, on the newest reply there that has such a button): a payload too long for
        Telegram's ``callback_data`` travels as the button's index and is looked up here."""

    async def store_attachment(self, *, filename: str, content_type: str, data: bytes) -> str:
        """Keep a downloaded file; returns its storage key."""

    async def read_attachment(self, storage_key: str) -> bytes | None:
        """The bytes of a reply's file (an agent's, kept by another channel), or None if gone."""


class UpdateOffsets(Protocol):
    """Where long polling got to, and the lock that lets one process poll."""

    async def load_offset(self) -> int | None:
        """The next ``getUpdates`` offset saved by the last poller, if any."""

    async def save_offset(self, offset: int) -> None:
        """Remember the next ``getUpdates`` offset (after the updates before it are committed)."""

    def single_consumer(self, name: str) -> AbstractAsyncContextManager[None]:
        """Entered once this process is the only one allowed to poll (PostgreSQL advisory lock)."""


class TelegramBackend(ChatStore, UpdateOffsets, Protocol):
    """Every role at once: what :class:`~connectors.telegram.TelegramConnector` is given."""
