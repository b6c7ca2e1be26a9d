"""The audit trail (``ticket_events``) read in order by one consumer, the ticket rules.

A consumer keeps its place in ``channel_cursors`` and reads the events after it, deciding and
writing in the same transaction that moves the cursor, so every event is taken exactly once.
Ids are taken at insert but transactions commit out of order, so a batch stops before a hole
until it fills (or will not: :class:`~ticketing.commit_order.HoleGuard`). Only the process
holding the advisory lock reads (on SQLite, the one process). The rules themselves live in
``bot/``: this module hands out plain rows and takes the writes a rule makes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing import csat, lifecycle, outbound
from ticketing.commit_order import HoleGuard
from ticketing.driver import CompiledStatement
from ticketing.leader import Leadership
from ticketing.models import ChannelCursor, Conversation, Customer, Ticket, TicketEvent
from ticketing.sla_config import SlaConfig
from ticketing.ticket_rows import TicketRow, record

__all__ = ["EventBatch", "EventTicket", "FeedEvent", "TicketEventFeed"]

LOCK = 0x46_44_52_55_4C  # "FDRUL"
_CURSOR = ("rules", "ticket_events")
_NEWEST_EVENT = CompiledStatement(select(func.coalesce(func.max(TicketEvent.id), 0)), ())


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One audit event: ``data`` holds what changed (``from``/``to``, tags added or removed)."""

    id: int
    ticket_id: int
    actor: str
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventTicket:
    """A ticket an event is about, and what rules may know of its customer."""

    row: TicketRow
    customer_name: str | None
    customer_email: str | None
    customer_tags: tuple[str, ...]
    language: str | None = None  # the conversation's: replies about the ticket are in it


class TicketEventFeed:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        self._leadership = Leadership(engine=engine, key=LOCK, name="the ticket rules feed")
        self._holes = HoleGuard(engine, name="ticket rules")
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._cursor_insert = dialect.insert(ChannelCursor).on_conflict_do_nothing()

    async def lead(self) -> bool:
        """Keep or try to take the advisory lock; returns whether this process reads the feed."""
        return await self._leadership.check()

    async def release(self) -> None:
        await self._leadership.release()

    async def newest(self) -> int:
        """The newest event's id, read without a transaction (0: none yet)."""
        ((newest,),) = await _NEWEST_EVENT.read(self._engine, ())
        return int(newest)

    @contextlib.asynccontextmanager
    async def batch(self, *, now: datetime, limit: int) -> AsyncIterator[EventBatch]:
        """The next events after the cursor (up to ``limit``, not past a hole), in one transaction."""
        async with self._engine.begin() as conn:
            cursor = await self._cursor(conn, now)
            rows = (
                await conn.execute(
                    select(
                        TicketEvent.id,
                        TicketEvent.ticket_id,
                        TicketEvent.actor,
                        TicketEvent.kind,
                        TicketEvent.data,
                    )
                    .where(TicketEvent.id > cursor)
                    .order_by(TicketEvent.id)
                    .limit(limit)
                )
            ).all()
            upto = await self._holes.upto(cursor, [row[0] for row in rows])
            events = tuple(
                FeedEvent(id=i, ticket_id=t, actor=a, kind=k, data=d or {})
                for i, t, a, k, d in rows
                if i <= upto
            )
            yield EventBatch(conn=conn, now=now, cursor=cursor, events=events)

    async def _cursor(self, conn: AsyncConnection, now: datetime) -> int:
        """The last event decided; on first start, the newest event (history is not replayed)."""
        newest = (await conn.execute(select(func.coalesce(func.max(TicketEvent.id), 0)))).scalar_one()
        await conn.execute(
            self._cursor_insert,
            {"channel": _CURSOR[0], "name": _CURSOR[1], "value": {"last": newest}, "updated_at": now},
        )
        stmt = select(ChannelCursor.value).where(
            ChannelCursor.channel == _CURSOR[0], ChannelCursor.name == _CURSOR[1]
        )
        value = (await conn.execute(stmt.with_for_update())).scalar_one()
        return int(value.get("last", 0))


class EventBatch:
    """One transaction of the feed: its events, the reads and writes rules make, the cursor move."""

    def __init__(
        self, *, conn: AsyncConnection, now: datetime, cursor: int, events: tuple[FeedEvent, ...]
    ) -> None:
        self._conn = conn
        self.now = now
        self.cursor = cursor  # the last event taken before this batch
        self.events = events

    async def tickets(self, ids: Iterable[int]) -> dict[int, EventTicket]:
        """Each ticket with its customer and its conversation's language, in three reads however
        many there are."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        stmt = select(Ticket.__table__).where(Ticket.id.in_(wanted))
        tickets = [dict(row) for row in (await self._conn.execute(stmt)).mappings()]
        if len(tickets) < len(wanted):  # gone: the batch fails and is retried
            raise LookupError(f"tickets {sorted(set(wanted) - {t['id'] for t in tickets})} not found")
        contact = func.coalesce(Customer.email, Customer.claimed_email)  # as message rules see it
        people = select(Customer.id, Customer.display_name, contact, Customer.tags).where(
            Customer.id.in_(sorted({t["customer_id"] for t in tickets}))
        )
        customers: dict[int, Sequence[Any]] = {row[0]: row[1:] for row in await self._conn.execute(people)}
        languages = select(Conversation.id, Conversation.language).where(
            Conversation.id.in_(sorted({t["conversation_id"] for t in tickets if t["conversation_id"]}))
        )
        spoken: dict[int, str | None] = {row[0]: row[1] for row in await self._conn.execute(languages)}
        out = {}
        for t in tickets:
            name, email, tags = customers[t["customer_id"]]
            out[t["id"]] = EventTicket(
                row=t,
                customer_name=name,
                customer_email=email,
                customer_tags=tuple(tags or ()),
                language=spoken.get(t["conversation_id"]),
            )
        return out

    async def ticket(self, ticket_id: int) -> TicketRow:
        """The ticket as it is now (an earlier action in this batch may have changed it)."""
        stmt = select(Ticket.__table__).where(Ticket.id == ticket_id)
        return dict((await self._conn.execute(stmt)).mappings().one())

    async def record(self, ticket_id: int, actor: str, kind: str, data: dict[str, Any]) -> None:
        await record(self._conn, ticket_id, actor, kind, data, self.now)

    async def send(
        self,
        *,
        conversation_id: int,
        text: str,
        ticket_id: int,
        sender_name: str,
        rule: str,
        quick_replies: tuple[dict[str, str], ...],
    ) -> None:
        """Queue a bot message to the ticket's conversation (the outbox delivers it)."""
        await outbound.send(
            self._conn, conversation_id=conversation_id, text=text, now=self.now, ticket_id=ticket_id,
            sender_role="bot", sender_name=sender_name, rule=rule, quick_replies=quick_replies,
        )  # fmt: skip

    async def set_tags(
        self,
        ticket: TicketRow,
        actor: str,
        *,
        add: Sequence[str],
        remove: Sequence[str],
        caused_by: Sequence[str],
    ) -> None:
        await lifecycle.set_tags(
            self._conn, ticket, actor, self.now, add=add, remove=remove, caused_by=caused_by
        )

    async def ask_csat(self, config: SlaConfig, ticket: TicketRow) -> bool:
        """Ask for the rating of a ticket that was solved (its row as :meth:`tickets` read it),
        after the rules' replies to the solve: the same transaction, so its outbox row comes
        after theirs. False if it is no longer solved, has no conversation or was rated."""
        return await csat.ask(self._conn, config, ticket, self.now)

    async def advance(self, last: int) -> None:
        """Move the cursor to ``last``: the events up to it are decided when this commits."""
        await self._conn.execute(
            update(ChannelCursor)
            .where(ChannelCursor.channel == _CURSOR[0], ChannelCursor.name == _CURSOR[1])
            .values(value={"last": last}, updated_at=self.now)
        )
