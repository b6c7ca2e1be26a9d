"""The outbox: replies wait here until their channel has taken them.

Rows are claimed with a lease (``state='sending'``, ``claimed_until``) in one conditional
``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``, so several processes on one
PostgreSQL never deliver the same row twice, and a process that dies mid-delivery only delays
its rows until the lease runs out. SQLite ignores ``FOR UPDATE``; there one process does all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing import json_text
from ticketing.driver import CompiledStatement, StatementBatch, commit, rollback
from ticketing.models import OutboxItem
from ticketing.time import utcnow

__all__ = ["Backlog", "Claimed", "OutboxStore", "backoff", "enqueue"]


async def enqueue(
    conn: AsyncConnection, *, interaction_id: int, channel: str, payload: dict[str, Any], now: datetime
) -> None:
    """A row that delivers ``payload`` on ``channel``, due at once, in the caller's transaction
    (one message at a time: the turn writer queues its batches itself)."""
    await conn.execute(
        insert(OutboxItem),
        {"interaction_id": interaction_id, "channel": channel, "payload": payload, "state": "pending",
         "attempts": 0, "next_attempt_at": now, "claimed_until": None, "last_error": None,
         "external_id": None, "created_at": now, "sent_at": None},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    channel: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits in the outbox, for /metrics: rows per state (``sent`` is not counted) and when
    the oldest row still waiting (pending or sending) was written, None when none waits."""

    rows: dict[str, int]
    oldest_waiting_at: datetime | None


_NAME = re.compile(r"[a-z][a-z0-9_]*")


def _claim(channels: frozenset[str]) -> CompiledStatement:
    """Claim = take due rows of the given channels with a lease, in one statement (see the module
    docstring). The channel names are written into the SQL (they are our registry's identifiers,
    checked), so the statement stays one compiled string per process."""
    for name in channels:
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a channel name: {name!r}")
    names: list[ColumnElement[str]] = [literal_column(f"'{name}'") for name in sorted(channels)]
    served = OutboxItem.channel.in_(names) if names else false()
    due = (
        select(OutboxItem.id)
        .where(
            served,
            or_(
                and_(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= bindparam("now")),
                and_(OutboxItem.state == "sending", OutboxItem.claimed_until < bindparam("now")),
            ),
        )
        .order_by(OutboxItem.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(OutboxItem)
        .where(OutboxItem.id.in_(due.scalar_subquery()))
        .values(state="sending", claimed_until=bindparam("until"), attempts=OutboxItem.attempts + 1)
        .returning(OutboxItem.id, OutboxItem.channel, OutboxItem.payload, OutboxItem.attempts)
    )
    # Run on the driver, one trip with marking sent (see ``CompiledStatement``): a dispatcher
    # round under load otherwise spent more of the event loop in SQLAlchemy than in delivering.
    return CompiledStatement(claim, ("now", "until", "limit"))


_MARK_SENT = (
    update(OutboxItem)
    .where(OutboxItem.id == bindparam("b_id"), OutboxItem.state == "sending")
    .values(state="sent", sent_at=bindparam("b_now"), external_id=bindparam("b_ext"), claimed_until=None)
)


_MARK_SENT_ROWS = CompiledStatement(_MARK_SENT, ("b_id", "b_ext", "b_now"))


class OutboxStore:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        self._claims: dict[frozenset[str], CompiledStatement] = {}

    async def exchange(
        self,
        sent: Sequence[tuple[int, str | None]],
        *,
        channels: frozenset[str],
        limit: int = 100,
        lease: timedelta = timedelta(seconds=60),
    ) -> list[Claimed]:
        """Record the last round's deliveries (``(id, external id)``) and claim the rows due
        now, in one transaction: a dispatcher round costs one trip to SQLite's driver thread.

        Only rows of ``channels``, the ones this process can deliver: a process without a
        channel (a ``frontdesk chat --live`` beside the server, processes configured with
        different channels) leaves its rows to one that has it, instead of failing them."""
        now = utcnow()
        if not channels and not sent:
            return []  # nothing to record, nothing this process could deliver
        claim = self._claims.get(channels)
        if claim is None:
            claim = self._claims[channels] = _claim(channels)
        async with self._engine.connect() as conn:
            try:
                trip = StatementBatch()
                _MARK_SENT_ROWS.queue(trip, conn.dialect, [(i, ext, now) for i, ext in sent])
                at = claim.queue_fetch(trip, conn.dialect, (now, now + lease, limit))
                rows = (await commit(conn, trip))[at]
            except BaseException:
                await rollback(conn)
                raise
        decode = json_text.loads if conn.dialect.name == "sqlite" else json_text.as_read
        claimed = (Claimed(i, channel, decode(payload), attempts) for i, channel, payload, attempts in rows)
        return sorted(claimed, key=lambda c: c.id)

    async def retry_later(self, item_id: int, *, error: str, at: datetime) -> None:
        await self._set(
            item_id, state="pending", next_attempt_at=at, last_error=error[:500], claimed_until=None
        )

    async def give_up(self, item_id: int, *, error: str) -> None:
        await self._set(item_id, state="failed", last_error=error[:500], claimed_until=None)

    async def pending_count(self) -> int:
        stmt = (
            select(func.count()).select_from(OutboxItem).where(OutboxItem.state.in_(("pending", "sending")))
        )
        async with self._engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def backlog(self) -> Backlog:
        """One grouped read of the unsent rows, at scrape time only (never per message); the
        (state, next_attempt_at) index keeps it off the sent rows."""
        stmt = (
            select(OutboxItem.state, func.count(), func.min(OutboxItem.created_at))
            .where(OutboxItem.state.in_(("pending", "sending", "failed")))
            .group_by(OutboxItem.state)
        )
        async with self._engine.connect() as conn:
            result = (await conn.execute(stmt)).all()
        rows = {"pending": 0, "sending": 0, "failed": 0}
        waiting: list[datetime] = []
        for state, count, oldest in result:
            rows[state] = int(count)
            if state != "failed" and oldest is not None:
                waiting.append(oldest)
        return Backlog(rows=rows, oldest_waiting_at=min(waiting) if waiting else None)

    async def _set(self, item_id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))


def backoff(attempts: int, *, base: float = 2.0, cap: float = 600.0) -> timedelta:
    """Capped exponential backoff; the jitter is added by the caller who owns the randomness."""
    return timedelta(seconds=min(cap, base ** min(attempts, 20)))
