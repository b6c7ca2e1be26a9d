"""Reading a table after an id cursor, when ids are taken at insert but commits land out of order.

On PostgreSQL two transactions may take ids 7 and 8 and commit 8 first: a reader that moves its
cursor to 8 never sees 7. Consumers of the audit trail (ticket-event rules, the Slack
projection) therefore stop before a hole in the ids and wait for it to fill; they move past it
only once it will not fill: ``grace`` seconds have passed and every transaction that was running
when the hole was first seen has ended (the insert was rolled back), or after ``max_wait``
seconds whatever happens. With no hole, the usual case, nothing waits. SQLite has one writer and
reuses the rowid of a rolled-back insert, so holes do not occur there; ``grace`` still applies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["HoleGuard", "any_running", "running_transactions"]

_LOGGER = logging.getLogger(__name__)


async def running_transactions(engine: AsyncEngine) -> tuple[int, ...]:
    """PostgreSQL: the ids of the transactions in progress right now (``xid8``, which carries
    the epoch, so there is no wraparound to worry about). SQLite has one writer: ``()``."""
    if engine.dialect.name != "postgresql":
        return ()
    stmt = text("SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) AS x")
    async with engine.connect() as conn:
        return tuple(int(x) for x in (await conn.execute(stmt)).scalars())


async def any_running(engine: AsyncEngine, xids: tuple[int, ...]) -> bool:
    """Whether any of ``xids`` (from :func:`running_transactions`) is still in progress."""
    if not xids or engine.dialect.name != "postgresql":
        return False
    stmt = text(
        "SELECT count(*) FROM unnest(CAST(:xids AS text[])) AS x"
        " WHERE pg_xact_status(CAST(x AS xid8)) = 'in progress'"
    )
    async with engine.connect() as conn:
        return bool((await conn.execute(stmt, {"xids": [str(x) for x in xids]})).scalar())


@dataclass(frozen=True, slots=True)
class _Hole:
    first: int  # the first missing id
    since: float
    transactions: tuple[int, ...]  # running when the hole was first seen


class HoleGuard:
    """How far one id cursor may move; keeps the hole it waits on between calls."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        name: str,
        grace: float = 2.0,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._name = name
        self._grace = grace
        self._max_wait = max_wait
        self._clock = clock
        self._hole: _Hole | None = None

    @property
    def waiting(self) -> bool:
        return self._hole is not None

    async def upto(self, after: int, ids: Sequence[int]) -> int:
        """The last of ``ids`` (ascending, all above ``after``) the reader may consume now."""
        expected = after + 1
        for i in ids:
            if i != expected and not await self._may_skip(expected, i - 1):
                return expected - 1
            expected = i + 1
        if self._hole is not None and self._hole.first < expected:
            self._hole = None  # it filled
        return expected - 1

    async def _may_skip(self, first: int, last: int) -> bool:
        now = self._clock()
        hole = self._hole
        if hole is None or hole.first != first:
            hole = self._hole = _Hole(first, now, await running_transactions(self._engine))
        waited = now - hole.since
        if waited < self._grace:
            return False
        if waited < self._max_wait and await any_running(self._engine, hole.transactions):
            return False
        _LOGGER.warning(
            "%s: ids %d..%d never appeared (rolled back?) after %.1fs; moving on",
            self._name,
            first,
            last,
            waited,
        )
        self._hole = None
        return True
