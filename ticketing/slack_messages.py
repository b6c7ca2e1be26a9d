"""Where the Slack messages that carry a customer's content are, so that erasing them can delete them.

``slack_messages`` (migration 0017) holds one row per Slack message or file Frontdesk posted that
shows something of a ticket's customer: the ticket card (kind ``card``), every line the
projection posted into its thread or the alerts channel (``message``: the customer's messages,
the bot's and agents' replies, notes, changes), the customer's files uploaded there (``file``).
A row is the channel and the message's ``ts`` (a file's id) and the ticket; never any text. It
is written by the projection right after Slack accepted the post (``INSERT … ON CONFLICT DO
NOTHING`` on the channel and ``ts``: a retried step records nothing twice), off the customer's
message path. The bot's answers in a Slack customer's own channel or DM need no row here: the
outbox keeps each one's ``ts`` (or file id) in ``outbox.external_id`` when it is sent.

Erasing a customer (``ticketing/customer_admin.py``) turns, in its transaction, their rows and
their sent Slack outbox items into *pending deletions* (``state = 'erase'``): from then on the
rows name a Slack message only, no customer, and :mod:`connectors.slack.erasure` deletes them
(``chat.delete``, ``files.delete``; the card is redacted with ``chat.update``), retrying with
backoff while Slack is unavailable; a crash or an outage loses none. A line the projection posts
after the erase committed, of something that happened before it (it read the feed before), is
recorded as a pending deletion at once: the record waits for the erase on the customer's row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models import Base, Conversation, Customer, Id, Interaction, OutboxItem, Ticket
from ticketing.time import utcnow

__all__ = ["KINDS", "PendingDeletion", "SlackMessage", "SlackMessages", "schedule_erasure"]

KINDS = ("message", "card", "file")
KEPT, ERASE, FAILED = "kept", "erase", "failed"
SLACK = "slack"  # the Slack connector's channel name (outbox rows of Slack customers)
_TS = re.compile(r"^\d+\.\d+$")  # a message's ts; anything else the outbox kept is a file id
_MAX_BACKOFF = 600.0


class SlackMessage(Base):
    """A Slack message or file that shows a ticket's customer (``kept``), or one to delete
    (``erase``, no longer tied to a customer) or that Slack refused to delete (``failed``)."""

    __tablename__ = "slack_messages"
    __table_args__ = (
        UniqueConstraint("channel_id", "ts"),  # a retried post or step records nothing twice
        Index("ix_slack_messages_state_next_attempt_at", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    channel_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(64))  # the message's ts, a file's id (kind ``file``)
    kind: Mapped[str] = mapped_column(String(16))  # message | card | file
    state: Mapped[str] = mapped_column(String(16), default=KEPT)  # kept | erase | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class PendingDeletion:
    id: int
    channel: str
    ts: str
    kind: str
    attempts: int


class SlackMessages:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert

    async def posted(self, ticket_id: int, channel: str, ts: str, *, kind: str, shows: datetime) -> None:
        """Slack accepted a post of ``kind`` about ``ticket_id``, showing what was written at
        ``shows``. Recorded once, however often a retry calls this; recorded as a pending
        deletion at once when the ticket's customer was erased after ``shows``."""
        if kind not in KINDS:
            raise ValueError(f"unknown Slack message kind {kind!r}")
        now = utcnow()
        async with self._engine.begin() as conn:
            # FOR SHARE waits for an erase of this customer in progress (it updated the row first).
            who = (
                select(Customer.erased_at)
                .join(Ticket, Ticket.customer_id == Customer.id)
                .where(Ticket.id == ticket_id)
                .with_for_update(read=True, of=Customer)
            )
            erased_at = (await conn.execute(who)).scalar()
            erased = erased_at is not None and _aware(shows) < _aware(erased_at)
            values = {"ticket_id": ticket_id, "channel_id": channel, "ts": ts, "kind": kind,
                      "state": ERASE if erased else KEPT, "attempts": 0,
                      "next_attempt_at": now if erased else None, "created_at": now}  # fmt: skip
            await conn.execute(self._insert(SlackMessage).values(**values).on_conflict_do_nothing())

    async def due(self, *, limit: int) -> list[PendingDeletion]:
        """Pending deletions whose time has come, oldest first."""
        stmt = (
            select(SlackMessage.id, SlackMessage.channel_id, SlackMessage.ts, SlackMessage.kind,
                   SlackMessage.attempts)
            .where(SlackMessage.state == ERASE, SlackMessage.next_attempt_at <= utcnow())
            .order_by(SlackMessage.next_attempt_at, SlackMessage.id)
            .limit(limit)
        )  # fmt: skip
        async with self._engine.connect() as conn:
            return [PendingDeletion(*row) for row in (await conn.execute(stmt)).all()]

    async def deleted(self, deletion_id: int) -> None:
        """Slack deleted it (or it was gone already): nothing is left to remember."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(SlackMessage).where(SlackMessage.id == deletion_id))

    async def retry_later(self, deletion_id: int, error: str) -> None:
        """Slack was unavailable: try again after a backoff that grows with the attempts."""
        async with self._engine.begin() as conn:
            attempts = (
                await conn.execute(select(SlackMessage.attempts).where(SlackMessage.id == deletion_id))
            ).scalar()
            if attempts is None:
                return
            delay = min(_MAX_BACKOFF, 2.0 ** min(int(attempts), 10))
            await conn.execute(
                update(SlackMessage).where(SlackMessage.id == deletion_id)
                .values(attempts=SlackMessage.attempts + 1, last_error=error[:200],
                        next_attempt_at=utcnow() + timedelta(seconds=delay))
            )  # fmt: skip

    async def refused(self, deletion_id: int, error: str) -> None:
        """Slack refused for good (``cant_delete_message``…): kept as ``failed``, to look at."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(SlackMessage).where(SlackMessage.id == deletion_id)
                .values(state=FAILED, attempts=SlackMessage.attempts + 1, last_error=error[:200],
                        next_attempt_at=None)
            )  # fmt: skip

    async def pending(self) -> int:
        """How many Slack messages still wait to be deleted."""
        async with self._engine.connect() as conn:
            stmt = select(func.count()).select_from(SlackMessage).where(SlackMessage.state == ERASE)
            return int((await conn.execute(stmt)).scalar_one())


async def schedule_erasure(
    conn: AsyncConnection, customer_id: int, ticket_ids: list[int], now: datetime
) -> int:
    """In the erase's transaction, before the conversations' thread ids are renamed: the
    customer's Slack messages become pending deletions. Returns how many were scheduled.

    The projection's rows of the customer's tickets, and the bot's and agents' answers sent into
    the customer's own Slack threads (the outbox's sent items: their ``ts`` or file id)."""
    scheduled = 0
    if ticket_ids:
        marked = await conn.execute(
            update(SlackMessage)
            .where(SlackMessage.ticket_id.in_(ticket_ids), SlackMessage.state == KEPT)
            .values(state=ERASE, next_attempt_at=now)
        )
        scheduled += int(marked.rowcount or 0)
    sent = (
        await conn.execute(
            select(Conversation.external_thread_id, OutboxItem.external_id, Interaction.ticket_id)
            .join(Interaction, Interaction.id == OutboxItem.interaction_id)
            .join(Conversation, Conversation.id == Interaction.conversation_id)
            .where(Interaction.customer_id == customer_id, OutboxItem.channel == SLACK,
                   OutboxItem.state == "sent", OutboxItem.external_id.is_not(None))
        )
    ).all()  # fmt: skip
    rows = []
    for thread, ref, ticket_id in sent:
        channel = str(thread or "").partition(":")[0]
        if channel and ref:
            kind = "message" if _TS.match(ref) else "file"
            rows.append(
                {"ticket_id": ticket_id, "channel_id": channel, "ts": ref, "kind": kind, "state": ERASE,
                 "attempts": 0, "next_attempt_at": now, "created_at": now}
            )  # fmt: skip
    if rows:
        insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
        added = await conn.execute(insert(SlackMessage).values(rows).on_conflict_do_nothing())
        scheduled += int(added.rowcount or 0)
    return scheduled


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back naive (they are UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=utcnow().tzinfo)
