"""A conversation's transcript for agents and the REST API: every interaction with its analysis.

The web chat's own history (:mod:`ticketing.history`) shows a visitor what was said; this shows
an agent what happened: who sent each message, which rule produced a reply, what the analysis
made of a message (intent, sentiment, complaint, FAQ), which ticket it belongs to, and the
metadata of its attachments (never their bytes or storage keys). Read a page at a time in id
order on ``ix_interactions_conversation_id_id``, so a long conversation costs one page per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import Conversation, Interaction, Ticket

__all__ = ["ConversationInfo", "TranscriptEntry", "Transcripts"]

_ATTACHMENT_KEYS = ("filename", "content_type", "size", "url")


@dataclass(frozen=True, slots=True)
class ConversationInfo:
    id: int
    public_id: str
    customer_id: int
    channel: str
    status: str
    handed_off: bool
    subject: str | None
    language: str | None
    open_ticket: str | None  # T-<number>
    created_at: datetime
    last_message_at: datetime


@dataclass(frozen=True, slots=True)
class TranscriptEntry:
    id: int
    direction: str  # in | out
    sender_role: str  # customer | bot | agent | system
    sender_name: str | None
    text: str
    subject: str | None
    created_at: datetime
    rule: str | None
    analysis: dict[str, Any] | None
    attachments: tuple[dict[str, Any], ...]
    ticket: str | None  # T-<number>
    in_reply_to: int | None


class Transcripts:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def conversation(self, public_id: str) -> ConversationInfo | None:
        stmt = select(Conversation.__table__).where(Conversation.public_id == public_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            return None
        number = row["open_ticket_number"]
        return ConversationInfo(
            id=row["id"], public_id=row["public_id"], customer_id=row["customer_id"], channel=row["channel"],
            status=row["status"], handed_off=bool(row["handed_off"]), subject=row["subject"],
            language=row["language"], open_ticket=f"T-{number}" if number is not None else None,
            created_at=row["created_at"], last_message_at=row["last_message_at"],
        )  # fmt: skip

    async def page(self, conversation_id: int, *, after: int = 0, limit: int = 200) -> list[TranscriptEntry]:
        """Interactions with an id above ``after``, oldest first."""
        stmt = _ENTRIES.where(Interaction.conversation_id == conversation_id, Interaction.id > after)
        return await self._entries(stmt.order_by(Interaction.id).limit(limit))

    async def of_ticket(
        self, ticket_id: int, conversation_id: int | None, *, limit: int = 500
    ) -> list[TranscriptEntry]:
        """The ticket's messages on every channel (those filed under it) and the rest of the
        conversation it was opened from, oldest first: the newest ``limit`` of them."""
        where = Interaction.ticket_id == ticket_id
        if conversation_id is not None:
            where = or_(where, Interaction.conversation_id == conversation_id)
        entries = await self._entries(_ENTRIES.where(where).order_by(Interaction.id.desc()).limit(limit))
        return entries[::-1]

    async def _entries(self, stmt: Select[Any]) -> list[TranscriptEntry]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            TranscriptEntry(
                id=r.id,
                direction=r.direction,
                sender_role=r.sender_role,
                sender_name=r.sender_name,
                text=r.text,
                subject=r.subject,
                created_at=r.created_at,
                rule=r.rule,
                analysis=r.analysis if isinstance(r.analysis, dict) else None,
                attachments=tuple(_attachment(a) for a in (r.attachments or ()) if isinstance(a, dict)),
                ticket=f"T-{r.number}" if r.number is not None else None,
                in_reply_to=r.in_reply_to_id,
            )
            for r in rows
        ]


_ENTRIES = select(
    Interaction.id,
    Interaction.direction,
    Interaction.sender_role,
    Interaction.sender_name,
    Interaction.text,
    Interaction.subject,
    Interaction.created_at,
    Interaction.rule,
    Interaction.analysis,
    Interaction.attachments,
    Interaction.in_reply_to_id,
    Ticket.number,
).outerjoin(Ticket, Ticket.id == Interaction.ticket_id)


def _attachment(stored: dict[str, Any]) -> dict[str, Any]:
    return {k: stored.get(k) for k in _ATTACHMENT_KEYS}
