"""Which process runs the single-consumer loops: the holder of a PostgreSQL advisory lock.

Several Frontdesk processes may share one PostgreSQL. Loops that must run once (the SLA
sweep) run only in the process that holds a session-level advisory lock on a connection of
its own. When that process dies, PostgreSQL drops its connection and with it the lock, and
the next process to try takes over. A leader that loses its connection (network, server
restart) stops leading at once and competes again. On SQLite there is one process: it leads.
Correctness never depends on the lock alone: work is still claimed row by row in the database.
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["Leadership"]

_LOGGER = logging.getLogger(__name__)


class Leadership:
    def __init__(self, *, engine: AsyncEngine, key: int, name: str) -> None:
        # No defaults: every lock names what its holder runs, and the log lines say so (the
        # ticket rules lock once logged that it ran the SLA scheduler).
        self._engine = engine
        self._key = key
        self._name = name
        self._conn: AsyncConnection | None = None
        self._single = engine.dialect.name != "postgresql"

    @property
    def held(self) -> bool:
        return self._single or self._conn is not None

    async def check(self) -> bool:
        """Keep or try to take the lock; returns whether this process leads now."""
        if self._single:
            return True
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))
                return True
            except Exception:
                # Stop leading now and compete at the next check: the loop stops its work first,
                # so it never runs on beside a process that took the lock meanwhile.
                _LOGGER.warning("lost the lock connection of %s; competing for it again", self._name)
                await self._drop()
                return False
        try:
            conn = await self._engine.connect()
        except Exception:
            _LOGGER.exception("cannot reach the database to compete for %s", self._name)
            return False
        try:
            # Autocommit: no transaction stays open on this connection, and each check is one
            # round trip. The session-level lock lasts until unlock or disconnect.
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            won = bool(
                (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key})).scalar()
            )
        except Exception:  # e.g. a pooled connection the server has just terminated
            _LOGGER.warning("competing for %s failed; trying again", self._name, exc_info=True)
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()
            return False
        if not won:
            await conn.close()
            return False
        self._conn = conn
        _LOGGER.info("this process now runs %s (advisory lock %d)", self._name, self._key)
        return True

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()
