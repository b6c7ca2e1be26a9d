"""Email copies of the agents' web chat replies that the visitor did not see in the chat.

A web chat visitor who left an address (the pre-chat form, the email capture) and then left the
site would never learn that an agent answered. So every agent reply on a web chat conversation
gets a ``reply_copies`` row (migration 0018), written with the reply in its transaction
(:func:`note_reply`, from ``ticketing/outbound.py``). The widget marks the rows of the replies it
showed in an open chat ``seen`` (:meth:`ReplyCopies.seen`); :meth:`ReplyCopies.queue_due` turns
each row still pending after a while into an ``email`` outbox row on the same interaction, to
the customer's address (verified, else the claimed one), or ``skipped`` when there is none.

The address may be only the visitor's word: nothing but the reply they wait for is sent to it
(no bot replies, no history), nothing is linked on it, and a mail answered arrives as an email
conversation of its own. A row is claimed with ``UPDATE … WHERE state = 'pending'`` before its
outbox row is written, in one transaction, so two processes never queue a copy twice. Rows older
than :data:`WINDOW` are skipped, not sent: switching the email channel on never mails old replies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, String, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models import Base, Conversation, Customer, Id, Interaction
from ticketing.outbox import enqueue

__all__ = ["WINDOW", "DueCopy", "ReplyCopies", "ReplyCopy", "note_reply"]

WEBCHAT, EMAIL = "webchat", "email"  # the channels' names (connectors.*.channel_name)
PENDING, SEEN, QUEUED, SKIPPED = "pending", "seen", "queued", "skipped"
WINDOW = timedelta(hours=24)


class ReplyCopy(Base):
    """An agent's web chat reply: ``pending`` until the widget showed it (``seen``) or its email
    copy was queued (``queued``) or there was no address or it grew too old (``skipped``)."""

    __tablename__ = "reply_copies"
    __table_args__ = (
        Index("ix_reply_copies_state_created_at", "state", "created_at"),
        Index("ix_reply_copies_conversation_id_state", "conversation_id", "state"),
    )
    interaction_id: Mapped[int] = mapped_column(Id, ForeignKey("interactions.id"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(Id, ForeignKey("conversations.id"))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


async def note_reply(
    conn: AsyncConnection, *, interaction_id: int, conversation_id: int, now: datetime
) -> None:
    """An agent's reply on a web chat conversation, in the reply's own transaction."""
    await conn.execute(
        insert(ReplyCopy),
        {"interaction_id": interaction_id, "conversation_id": conversation_id, "state": PENDING,
         "created_at": now, "done_at": None},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class DueCopy:
    """A reply to copy, with what its mail says around it."""

    interaction_id: int
    address: str
    text: str
    sender_name: str | None
    language: str | None  # the conversation's


# (the reply) → (the mail's subject, the mail's text)
Letter = Callable[[DueCopy], tuple[str, str]]


class ReplyCopies:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def seen(self, conversation_id: int, up_to: int, *, now: datetime) -> int:
        """The widget showed the conversation's replies up to interaction ``up_to``: no copies."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(ReplyCopy)
                .where(
                    ReplyCopy.conversation_id == conversation_id,
                    ReplyCopy.state == PENDING,
                    ReplyCopy.interaction_id <= up_to,
                )
                .values(state=SEEN, done_at=now)
            )
        return int(result.rowcount or 0)

    async def queue_due(self, *, now: datetime, after: timedelta, letter: Letter, limit: int = 100) -> int:
        """Queue the copies of the replies pending for ``after``; returns how many were queued."""
        async with self._engine.connect() as conn:
            due = (
                await conn.execute(
                    select(ReplyCopy.interaction_id)
                    .where(ReplyCopy.state == PENDING, ReplyCopy.created_at <= now - after)
                    .order_by(ReplyCopy.created_at)
                    .limit(limit)
                )
            ).scalars()
            ids = [int(i) for i in due]
        queued = 0
        for interaction_id in ids:
            async with self._engine.begin() as conn:
                queued += await _queue_one(conn, interaction_id, now, after, letter)
        return queued


async def _queue_one(
    conn: AsyncConnection, interaction_id: int, now: datetime, after: timedelta, letter: Letter
) -> int:
    row = (
        await conn.execute(
            select(
                Interaction.text, Interaction.sender_name, Interaction.attachments, Interaction.created_at,
                Conversation.id.label("conversation_id"), Conversation.public_id, Conversation.language,
                Customer.email, Customer.claimed_email,
            )
            .join(Conversation, Conversation.id == Interaction.conversation_id)
            .join(Customer, Customer.id == Conversation.customer_id)
            .where(Interaction.id == interaction_id)
        )
    ).one()  # fmt: skip
    address = row.email or row.claimed_email
    send = address is not None and row.created_at > now - after - WINDOW
    claimed = await conn.execute(
        update(ReplyCopy)
        .where(ReplyCopy.interaction_id == interaction_id, ReplyCopy.state == PENDING)
        .values(state=QUEUED if send else SKIPPED, done_at=now)
    )
    if not claimed.rowcount or not send or address is None:
        return 0  # another process took it, or it stays unsent
    copy = DueCopy(interaction_id, address, row.text, row.sender_name, row.language)
    subject, text = letter(copy)
    payload: dict[str, Any] = {
        "channel": EMAIL, "external_user_id": address, "external_thread_id": row.public_id,
        "conversation_id": row.conversation_id, "conversation_public_id": row.public_id,
        "sender_role": "agent", "sender_name": row.sender_name, "subject": subject, "in_reply_to": None,
        "quick_replies": [], "interaction_id": interaction_id, "text": text, "created_at": now.isoformat(),
    }  # fmt: skip
    if row.attachments:
        payload["attachments"] = list(row.attachments)
    await enqueue(conn, interaction_id=interaction_id, channel=EMAIL, payload=payload, now=now)
    return 1
