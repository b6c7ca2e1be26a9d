"""The email connector's backend: thread lookups, files, quarantine, the IMAP cursor.

A thin adapter: every read and write is a ticketing repository's (history, turns, channel state,
files and the mail holds of :mod:`ticketing.mail_hold`); this module binds them to the email
channel and knows our Message-ID format. A mail over its sender's rate limit is not set aside
but recorded in its conversation without a reply (:meth:`EmailBackendImpl.record_unanswered`),
through the app's one :class:`~ticketing.turns.Turns` writer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from bot.attachment_files import AttachmentFiles
from bot.flow import inbound_record, record_turn, resolve_sender
from core.contracts import InboundMessage, InboundResult, QuickReply
from ticketing.channel_files import DiskFiles
from ticketing.channel_state import ChannelState
from ticketing.customers import ConversationRef, Customers
from ticketing.history import History
from ticketing.mail_hold import quarantine_hold, set_aside_area
from ticketing.turns import ConversationState, Plan, Turn, Turns

__all__ = ["EmailBackendImpl"]

CHANNEL = "email"
_OUR_ID = re.compile(r"^<frontdesk\.(\d{1,18})\.[0-9a-f]{16}@[^>]+>$")
_MAX_LOOKUP_IDS = 50  # of the customer's References: the newest that matter, a bounded query


def _our_interactions(message_ids: Sequence[str]) -> list[int]:
    """The interaction ids our own Message-IDs name (connectors.email.compose.message_id_for)."""
    return [int(m.group(1)) for m in map(_OUR_ID.match, message_ids) if m]


class EmailBackendImpl:
    def __init__(
        self,
        *,
        customers: Customers,
        turns: Turns,
        history: History,
        state: ChannelState,
        files: DiskFiles,
        attachments: AttachmentFiles,
    ) -> None:
        self._attachments = attachments  # every channel's files: replies carry agents' files
        self._customers = customers
        self._turns = turns
        self._history = history
        self._state = state
        self._files = files
        self.quarantined = quarantine_hold(files)
        self.set_aside_mails = set_aside_area(files)

    async def thread_for_ticket(self, number: int) -> str | None:
        return await self._history.thread_of_ticket(CHANNEL, number)

    async def thread_for_message_ids(self, message_ids: Sequence[str]) -> str | None:
        theirs = [m for m in message_ids if not _OUR_ID.match(m)]
        return await self._history.thread_of_messages(
            CHANNEL, interaction_ids=_our_interactions(message_ids), external_ids=theirs[:_MAX_LOOKUP_IDS]
        )

    async def buttons_of(self, message_ids: Sequence[str]) -> tuple[QuickReply, ...]:
        ours = _our_interactions(message_ids)
        if not ours:
            return ()
        found = await self._history.reply_buttons(CHANNEL, ours[0])
        return tuple(QuickReply(str(b["label"]), str(b["payload"])) for b in found)

    async def store_file(self, area: str, filename: str, data: bytes) -> str:
        return await self._files.put(area, filename, data)

    async def read_file(self, storage_key: str) -> bytes | None:
        return await self._attachments.read(storage_key)

    async def quarantine(self, raw: bytes, *, reason: str) -> str:
        return await self.quarantined.keep(raw, reason=reason)

    async def set_aside(self, raw: bytes, *, kind: str) -> str:
        return await self.set_aside_mails.kind(kind).keep(raw, reason=kind)

    async def record_unanswered(self, message: InboundMessage, *, reason: str) -> InboundResult:
        """A turn whose plan does nothing: the message joins its conversation and open ticket.

        ``record_only``: no CSAT answer, no reopening, no SLA clock; the mail is only recorded.
        """
        ref = await resolve_sender(self._customers, message)

        def plan(_state: ConversationState, _take_number: Callable[[], int]) -> Plan:
            return Plan(analysis={"not_answered": reason})

        def turn_for(ref: ConversationRef) -> Turn:
            return Turn(record=inbound_record(ref, message), plan=plan, record_only=True)

        result = await record_turn(self._customers, self._turns, message, ref, turn_for)
        return InboundResult(result.interaction_id, result.duplicate, result.created_at)

    async def load_cursor(self, name: str) -> dict[str, Any] | None:
        return await self._state.get(CHANNEL, name)

    async def save_cursor(self, name: str, value: dict[str, Any]) -> None:
        await self._state.put(CHANNEL, name, value)

    def single_consumer(self, name: str) -> AbstractAsyncContextManager[None]:
        return self._state.single_consumer(name)
