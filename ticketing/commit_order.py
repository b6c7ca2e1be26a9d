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
    the epoch, so there is no wraparound to worry about). SQLite has one writer: ``()``.

    A snapshot spans the whole server, so transactions seen running in *another* database are
    left out: they cannot fill a hole here, and a busy neighbour on a shared server would
    otherwise hold a reader up to ``max_wait``. One whose database is not visible (another
    role's session, without ``pg_read_all_stats``) is kept, to be safe."""
    if engine.dialect.name != "postgresql":
        return ()
    stmt = text(_RUNNING_HERE)
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


# The snapshot's in-progress list, less what pg_stat_activity shows running in another database;
# plus this database's sessions' transactions, which also catches those the list leaves out: it
# holds only ids below the snapshot's xmax (the last *completed* id + 1), so the newest running
# transactions are missing from it. pg_stat_activity's ``backend_xid`` is 32 bits: it gets the
# epoch of the xid8 nearest to xmax.
_RUNNING_HERE = """
WITH s AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::numeric AS xmax),
sessions AS (
    SELECT a.backend_xid::text::numeric AS xid, a.datname FROM pg_stat_activity AS a
    WHERE a.backend_xid IS NOT NULL
)
SELECT x::text FROM pg_snapshot_xip(pg_current_snapshot()) AS x
WHERE NOT EXISTS (
    SELECT 1 FROM sessions WHERE sessions.datname <> current_database()
      AND sessions.xid = x::text::numeric % 4294967296
)
UNION
SELECT (CASE
    WHEN near > s.xmax + 2147483648 THEN near - 4294967296
    WHEN near < s.xmax - 2147483648 THEN near + 4294967296
    ELSE near END)::text
FROM s, sessions, LATERAL (SELECT floor(s.xmax / 4294967296) * 4294967296 + sessions.xid AS near) AS n
WHERE sessions.datname = current_database()
"""


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
