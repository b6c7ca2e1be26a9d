"""The outbox: replies wait here until their channel has taken them.

Rows are claimed with a lease (``state='sending'``, ``claimed_until``) in one conditional
``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)``, so several processes on one
PostgreSQL never deliver the same row twice, and a process that dies mid-delivery only delays
its rows until the lease runs out. SQLite ignores ``FOR UPDATE``; there one process does all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import OutboxItem
from ticketing.time import utcnow

__all__ = ["Claimed", "OutboxStore", "backoff"]


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    channel: str
    payload: dict[str, Any]
    attempts: int


_DUE = (
    select(OutboxItem.id)
    .where(
        or_(
            and_(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= bindparam("now")),
            and_(OutboxItem.state == "sending", OutboxItem.claimed_until < bindparam("now")),
        )
    )
    .order_by(OutboxItem.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
# Claim = take due rows with a lease, in one statement (see the module docstring).
_CLAIM = (
    update(OutboxItem)
    .where(OutboxItem.id.in_(_DUE.scalar_subquery()))
    .values(state="sending", claimed_until=bindparam("until"), attempts=OutboxItem.attempts + 1)
    .returning(OutboxItem.id, OutboxItem.channel, OutboxItem.payload, OutboxItem.attempts)
)
_MARK_SENT = (
    update(OutboxItem)
    .where(OutboxItem.id == bindparam("b_id"), OutboxItem.state == "sending")
    .values(state="sent", sent_at=bindparam("b_now"), external_id=bindparam("b_ext"), claimed_until=None)
)


class OutboxStore:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, *, limit: int = 100, lease: timedelta = timedelta(seconds=60)) -> list[Claimed]:
        now = utcnow()
        async with self._engine.begin() as conn:
            rows = (await conn.execute(_CLAIM, {"now": now, "until": now + lease, "limit": limit})).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)

    async def mark_sent(self, sent: Sequence[tuple[int, str | None]]) -> None:
        if not sent:
            return
        now = utcnow()
        async with self._engine.begin() as conn:
            await conn.execute(_MARK_SENT, [{"b_id": i, "b_ext": ext, "b_now": now} for i, ext in sent])

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

    async def _set(self, item_id: int, **values: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))


def backoff(attempts: int, *, base: float = 2.0, cap: float = 600.0) -> timedelta:
    """Capped exponential backoff; the jitter is added by the caller who owns the randomness."""
    return timedelta(seconds=min(cap, base ** min(attempts, 20)))
