"""Ids of new rows: returned in the order of the rows, or reserved before the rows are written.

A batch that knows its ids before it writes needs no RETURNING, and can write rows that point
at each other (a reply at its message) in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import InstrumentedAttribute

from ticketing.driver import StatementBatch, fetch

__all__ = ["insert_returning_ids", "queue_id_tops", "reserve_ids"]


async def insert_returning_ids(
    conn: AsyncConnection, id_column: InstrumentedAttribute[int], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert many rows in one round trip and return their ids in the order of ``rows``.

    PostgreSQL batches ordered RETURNING natively. SQLAlchemy cannot batch it on SQLite and
    would send one INSERT per row, so there we take the unordered RETURNING of one multi-row
    insert and sort it: inside a write transaction nobody else inserts, and SQLite gives each
    new row of an INTEGER PRIMARY KEY table the next rowid in VALUES order.
    """
    if not rows:
        return []
    stmt = insert(id_column.class_)
    if conn.dialect.name == "sqlite":
        result = await conn.execute(stmt.returning(id_column), list(rows))
        return sorted(int(i) for i in result.scalars().all())
    result = await conn.execute(stmt.returning(id_column, sort_by_parameter_order=True), list(rows))
    return [int(i) for i in result.scalars().all()]


async def reserve_ids(
    conn: AsyncConnection, wanted: Sequence[tuple[type[Any], int]], tops: Sequence[Any] | None = None
) -> list[list[int]]:
    """Ids for ``n`` new rows of each ``(model, n)``, ascending, in one round trip.

    Rows inserted with these ids get exactly the ids the database would have given them in
    that order, so a batch knows its ids before it writes and needs no RETURNING (and can
    write rows that point at each other, a reply at its message, in one statement).
    PostgreSQL draws them from the table's sequence. SQLite gives a new row of an INTEGER
    PRIMARY KEY table (without AUTOINCREMENT, as all of ours) the next id after the largest:
    call this only once the transaction holds SQLite's write lock (after its first write), so
    nobody else inserts until commit. On SQLite, ``tops`` is the row of :func:`queue_id_tops`
    read earlier in the same transaction (after its first write): then no trip is needed.
    """
    if conn.dialect.name == "postgresql":
        (row,) = await fetch(conn, _sql_for(conn.dialect, wanted), tuple(n for _m, n in wanted))
        return [sorted(int(i) for i in ids) for ids in row]
    if tops is None:
        (tops,) = await fetch(conn, _sql_for(conn.dialect, wanted), ())
    return [list(range(int(top) + 1, int(top) + 1 + n)) for top, (_m, n) in zip(tops, wanted, strict=True)]


def queue_id_tops(trip: StatementBatch, dialect: Dialect, models: Sequence[type[Any]]) -> int | None:
    """On SQLite, queue the read that :func:`reserve_ids` needs for these tables (its row is
    ``tops``), to send with the batch's first statements; on PostgreSQL ids come from the
    sequences when their number is known, and this queues nothing."""
    if dialect.name == "postgresql":
        return None
    return trip.fetch(_sql_for(dialect, [(m, 0) for m in models]), ())


def _sql_for(dialect: Dialect, wanted: Sequence[tuple[type[Any], int]]) -> str:
    key = tuple(model.__tablename__ for model, _n in wanted)
    sql = _RESERVE_SQL.get((dialect.name, key))
    if sql is None:
        sql = _RESERVE_SQL[(dialect.name, key)] = _reserve_sql(dialect.name, key)
    return sql


_RESERVE_SQL: dict[tuple[str, tuple[str, ...]], str] = {}


def _reserve_sql(dialect: str, tables: tuple[str, ...]) -> str:
    # Table names come from the models, never from input.
    if dialect == "postgresql":
        sequence = "ARRAY(SELECT nextval(pg_get_serial_sequence('{}', 'id')) FROM generate_series(1, ${}))"
        parts = [sequence.format(t, i + 1) for i, t in enumerate(tables)]
    else:
        parts = [f"(SELECT coalesce(max(id), 0) FROM {t})" for t in tables]  # noqa: S608
    return "SELECT " + ", ".join(parts)
