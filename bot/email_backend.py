"""The email connector's backend: thread lookups, files, quarantine, the IMAP cursor.

Quarantined and set-aside mails are kept as ``<id>.eml`` plus a ``<id>.json`` note (reason,
time, size) under ``<files_dir>/email/quarantine/`` and ``<files_dir>/email/set-aside/<kind>/``;
the id is the hash of the raw bytes, so keeping the same mail twice (a re-read after a crash)
stores it once. A mail over its sender's rate limit is not set aside but recorded in its
conversation without a reply (:meth:`EmailBackendImpl.record_unanswered`).

TODO(ticketing): thread lookups belong in ticketing/ (``Tickets.conversation_by_number``,
``History.thread_of_message_ids``) with an index on ``interactions(channel,
external_message_id)``; quarantine wants a table so every process sees the same list.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channel_files import DiskFiles
from bot.channel_state import ChannelCursors, single_consumer
from bot.flow import inbound_record, resolve_sender
from core.contracts import InboundMessage, InboundResult, QuickReply
from ticketing.customers import Customers
from ticketing.models import Conversation, Interaction, Ticket
from ticketing.time import utcnow
from ticketing.turns import ConversationState, Plan, Turn, Turns

__all__ = ["EmailBackendImpl", "HeldMail", "MailHold", "SetAside", "quarantine_hold", "set_aside_area"]

CHANNEL = "email"
_OUR_ID = re.compile(r"^<frontdesk\.(\d{1,18})\.[0-9a-f]{16}@[^>]+>$")


def _our_interactions(message_ids: Sequence[str]) -> list[int]:
    """The interaction ids our own Message-IDs name (connectors.email.compose.message_id_for)."""
    return [int(m.group(1)) for m in map(_OUR_ID.match, message_ids) if m]


@dataclass(frozen=True, slots=True)
class HeldMail:
    id: str
    reason: str
    held_at: datetime
    size: int
    path: Path


class MailHold:
    """A directory of kept mails with a note each: the quarantine, or a set-aside area."""

    def __init__(self, *, directory: Path) -> None:
        self.directory = directory

    async def keep(self, raw: bytes, *, reason: str) -> str:
        mail_id = hashlib.sha256(raw).hexdigest()[:24]
        note = {"reason": reason, "held_at": utcnow().isoformat(), "size": len(raw)}
        await asyncio.to_thread(self._write, mail_id, raw, note)
        return mail_id

    def _write(self, mail_id: str, raw: bytes, note: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        eml = self.directory / f"{mail_id}.eml"
        if not eml.exists():
            tmp = eml.with_suffix(".tmp")
            tmp.write_bytes(raw)
            tmp.replace(eml)
        (self.directory / f"{mail_id}.json").write_text(json.dumps(note))

    def entries(self) -> list[HeldMail]:
        held = []
        for note_path in sorted(self.directory.glob("*.json")):
            note = json.loads(note_path.read_text())
            held.append(
                HeldMail(
                    note_path.stem,
                    str(note.get("reason", "")),
                    datetime.fromisoformat(note["held_at"]),
                    int(note.get("size", 0)),
                    note_path.with_suffix(".eml"),
                )
            )
        return sorted(held, key=lambda h: h.held_at)

    def raw(self, mail_id: str) -> bytes:
        if not re.fullmatch(r"[0-9a-f]{24}", mail_id):
            raise KeyError(mail_id)
        path = self.directory / f"{mail_id}.eml"
        if not path.exists():
            raise KeyError(mail_id)
        return path.read_bytes()

    def release(self, mail_id: str) -> None:
        """Processed after all: move it to ``done/`` (kept for the record, out of the list)."""
        done = self.directory / "done"
        done.mkdir(parents=True, exist_ok=True)
        for suffix in (".eml", ".json"):
            path = self.directory / f"{mail_id}{suffix}"
            if path.exists():
                path.replace(done / path.name)


def quarantine_hold(files: DiskFiles) -> MailHold:
    return MailHold(directory=files.root / "email" / "quarantine")


class SetAside:
    """Mails deliberately not processed, one :class:`MailHold` per kind under ``set-aside/``."""

    def __init__(self, *, directory: Path) -> None:
        self.directory = directory

    def kind(self, kind: str) -> MailHold:
        return MailHold(directory=self.directory / kind)

    def entries(self) -> list[HeldMail]:
        kinds = (
            sorted(p.name for p in self.directory.glob("*/") if p.is_dir()) if self.directory.is_dir() else []
        )
        held = [h for kind in kinds for h in self.kind(kind).entries()]
        return sorted(held, key=lambda h: h.held_at)

    def find(self, mail_id: str) -> tuple[str, MailHold]:
        """The kind and hold of a set-aside mail; KeyError if there is none with that id."""
        for entry in self.entries():
            if entry.id == mail_id:
                hold = self.kind(entry.path.parent.name)
                hold.raw(mail_id)  # still there
                return entry.reason, hold
        raise KeyError(mail_id)


def set_aside_area(files: DiskFiles) -> SetAside:
    return SetAside(directory=files.root / "email" / "set-aside")


class EmailBackendImpl:
    def __init__(self, *, engine: AsyncEngine, files: DiskFiles) -> None:
        self._engine = engine
        self._files = files
        self._cursors = ChannelCursors(engine=engine)
        self.quarantined = quarantine_hold(files)
        self.set_aside_mails = set_aside_area(files)
        self._customers = Customers(engine=engine)
        self._turns: Turns | None = None

    async def thread_for_ticket(self, number: int) -> str | None:
        stmt = (
            select(Conversation.external_thread_id)
            .join(Ticket, Ticket.conversation_id == Conversation.id)
            .where(Ticket.number == number, Conversation.channel == CHANNEL)
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()

    async def thread_for_message_ids(self, message_ids: Sequence[str]) -> str | None:
        ours = _our_interactions(message_ids)
        async with self._engine.connect() as conn:
            if ours:  # our replies name their interaction: a primary-key lookup
                stmt = (
                    select(Conversation.external_thread_id)
                    .join(Interaction, Interaction.conversation_id == Conversation.id)
                    .where(Interaction.id.in_(ours), Conversation.channel == CHANNEL)
                    .limit(1)
                )
                found = (await conn.execute(stmt)).scalar()
                if found is not None:
                    return found
            theirs = [m for m in message_ids if not _OUR_ID.match(m)]
            if not theirs:
                return None
            stmt = (
                select(Conversation.external_thread_id)
                .join(Interaction, Interaction.conversation_id == Conversation.id)
                .where(Interaction.channel == CHANNEL, Interaction.external_message_id.in_(theirs[:50]))
                .limit(1)
            )
            return (await conn.execute(stmt)).scalar()

    async def buttons_of(self, message_ids: Sequence[str]) -> tuple[QuickReply, ...]:
        ours = _our_interactions(message_ids)
        if not ours:
            return ()
        stmt = select(Interaction.quick_replies).where(
            Interaction.id == ours[0], Interaction.channel == CHANNEL, Interaction.direction == "out"
        )
        async with self._engine.connect() as conn:
            found = (await conn.execute(stmt)).scalar()
        return tuple(QuickReply(str(b["label"]), str(b["payload"])) for b in found or ())

    async def store_file(self, area: str, filename: str, data: bytes) -> str:
        return await self._files.put(area, filename, data)

    async def quarantine(self, raw: bytes, *, reason: str) -> str:
        return await self.quarantined.keep(raw, reason=reason)

    async def set_aside(self, raw: bytes, *, kind: str) -> str:
        return await self.set_aside_mails.kind(kind).keep(raw, reason=kind)

    async def record_unanswered(self, message: InboundMessage, *, reason: str) -> InboundResult:
        """A turn whose plan does nothing: the message joins its conversation and open ticket."""
        ref = await resolve_sender(self._customers, message)
        if self._turns is None:
            # Turns without a ticket config: no CSAT answer, no reopening, no SLA clock; the
            # mail is only recorded. (Its number pool reserves a block of ticket numbers on first
            # use that this plan never takes: a gap in the numbering, as after a restart.)
            self._turns = Turns(engine=self._engine)

        def plan(_state: ConversationState, _take_number: Callable[[], int]) -> Plan:
            return Plan(analysis={"not_answered": reason})

        result = await self._turns.record(Turn(record=inbound_record(ref, message), plan=plan))
        return InboundResult(result.interaction_id, result.duplicate, result.created_at)

    async def load_cursor(self, name: str) -> dict[str, Any] | None:
        return await self._cursors.get(CHANNEL, name)

    async def save_cursor(self, name: str, value: dict[str, Any]) -> None:
        await self._cursors.put(CHANNEL, name, value)

    @contextlib.asynccontextmanager
    async def single_consumer(self, name: str) -> AsyncIterator[None]:
        async with single_consumer(self._engine, name):
            yield
