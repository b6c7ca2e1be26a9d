"""SQLite's search index kept up off the message path: new rows are added in bulk, in rounds.

Why not triggers on insert: FTS5 writes what it has gathered at every statement's end, so a
trigger that adds one row per inserted message wrote a small index segment per message
(measured: 35-100 us a message inside the turn batch's transaction, on the connection every
message waits for). One ``INSERT … SELECT`` per round adds the rows written since the last
round for a few microseconds each. Searches see a message within ``interval`` seconds.

The cursors (``channel_cursors``, channel ``search``: the last interaction and ticket id added)
move in the transaction that adds the rows; SQLite has one writer and no holes in its ids, so
"every id up to the cursor is indexed" always holds. The update and delete triggers of
migration 0010 read the same cursors, so an erasure removes exactly the words that were added.
PostgreSQL needs none of this: its expression indexes are the database's own (ticket_search).
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.loops import BackgroundTask, every
from ticketing.time import utcnow

__all__ = ["SearchIndex"]

_LOGGER = logging.getLogger(__name__)
_ADD = {
    "interactions": text(
        "INSERT INTO interactions_fts(rowid, text) SELECT id, text FROM interactions"
        " WHERE id > :after AND id <= :upto AND direction = 'in' AND text <> '[erased]'"
    ),
    "tickets": text(
        "INSERT INTO tickets_fts(rowid, subject) SELECT id, subject FROM tickets"
        " WHERE id > :after AND id <= :upto AND subject <> '[erased]'"
    ),
}
_TOP = {name: text(f"SELECT coalesce(max(id), 0) FROM {name}") for name in _ADD}  # noqa: S608 (fixed names)
_LOCK = text("UPDATE channel_cursors SET updated_at = :now WHERE channel = 'search'")
_CURSOR = text(
    "SELECT json_extract(value, '$.id') FROM channel_cursors WHERE channel = 'search' AND name = :name"
)
_MOVE = text(
    "UPDATE channel_cursors SET value = json_object('id', :upto) WHERE channel = 'search' AND name = :name"
)


class SearchIndex:
    def __init__(self, *, engine: AsyncEngine, interval: float = 1.0, batch: int = 20_000) -> None:
        self._engine = engine
        self._interval = interval
        self._batch = batch
        self._loop = BackgroundTask(name="search-index")

    async def start(self) -> None:
        if self._engine.dialect.name == "sqlite":
            self._loop.start(every(self._interval, self.catch_up, failed=self._failed))

    async def stop(self) -> None:
        await self._loop.stop()

    async def catch_up(self) -> int:
        """Add every row written so far (in rounds of ``batch``); returns how many were read."""
        total = 0
        while (added := await self.index_once()) > 0:
            total += added
        return total

    async def index_once(self) -> int:
        """One round: up to ``batch`` new ids of each table, and the cursors, in one transaction."""
        if self._engine.dialect.name != "sqlite":
            return 0
        moved = 0
        async with self._engine.begin() as conn:
            await conn.execute(
                _LOCK, {"now": utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")}
            )  # the write lock first
            for name, add in _ADD.items():
                after = int((await conn.execute(_CURSOR, {"name": name})).scalar() or 0)
                upto = min(int((await conn.execute(_TOP[name])).scalar_one()), after + self._batch)
                if upto > after:
                    await conn.execute(add, {"after": after, "upto": upto})
                    await conn.execute(_MOVE, {"name": name, "upto": upto})
                    moved += upto - after
        return moved

    @staticmethod
    def _failed(exc: Exception) -> None:
        _LOGGER.warning("search index round failed, retrying next round: %s", exc)
