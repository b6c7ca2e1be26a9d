"""Statements sent on the driver connection (aiosqlite/asyncpg) under a SQLAlchemy connection.

The hot write paths (a batch of turns, the outbox) run statements compiled once and sent with
positional rows: through SQLAlchemy's async adaptation each statement costs the event loop
several times what the driver does (see :func:`fetch`). Everything else uses SQLAlchemy.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Insert, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.aiosqlite_thread import thread_runner

__all__ = ["CompiledStatement", "StatementBatch", "commit", "executemany", "fetch", "rollback"]


async def fetch(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
    """Rows of ``sql`` (in the driver's paramstyle) as the driver returns them, no processing.

    Runs on the driver connection inside ``conn``'s transaction: through SQLAlchemy's async
    adaptation, cursor creation, execute, fetch and close are separate trips to the driver,
    several times the event loop's Python per statement (docs/performance.md); several of them
    go in one :class:`StatementBatch`. Statements sent this way are not echoed and get no
    SQLAlchemy events or exception wrapping (the batch only needs "it failed").
    """
    driver = await _driver(conn)
    if driver is None:
        return list((await conn.exec_driver_sql(sql, tuple(params))).all())
    if conn.dialect.name == "postgresql":
        return list(await driver.fetch(sql, *params))
    return list(await driver.execute_fetchall(sql, params))


async def executemany(conn: AsyncConnection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """``sql`` once per row, on the driver connection (see :func:`fetch`)."""
    driver = await _driver(conn)
    if driver is None:
        await conn.exec_driver_sql(sql, rows)
    else:
        await driver.executemany(sql, rows)


class StatementBatch:
    """Statements that go to the driver together, in order: on SQLite in one trip to
    aiosqlite's thread instead of one per statement.

    Under load every trip costs a batch more than its SQL: the statement's result comes back
    through the event loop, behind every request that loop is busy with, so a batch of a
    dozen statements holds SQLite's one connection for a dozen loop iterations. Writes whose
    results nobody reads (executemany) and reads that do not depend on them are queued here
    and sent at once (:mod:`ticketing.aiosqlite_thread`). On PostgreSQL, and on a driver
    without aiosqlite's thread, the statements run one by one as :func:`fetch` and
    :func:`executemany` would.
    """

    __slots__ = ("_commit", "_one_by_one", "_steps")

    def __init__(self, *, one_by_one: bool = False) -> None:
        """``one_by_one``: send each statement on its own even on aiosqlite, as every other
        driver does (so that path is tested on SQLite too)."""
        self._steps: list[tuple[str, Sequence[Any], bool]] = []
        self._commit = False
        self._one_by_one = one_by_one

    def fetch(self, sql: str, params: Sequence[Any]) -> int:
        """Queue a query; its rows are ``run()``'s result at the returned index."""
        self._steps.append((sql, params, False))
        return len(self._steps) - 1

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if rows:
            self._steps.append((sql, rows, True))

    async def run(self, conn: AsyncConnection) -> list[list[Sequence[Any]]]:
        """Send the queued statements; returns the rows of each (empty for executemany)."""
        steps, self._steps = self._steps, []
        commit, self._commit = self._commit, False
        if not steps and not commit:
            return []
        driver = await _driver(conn)
        sqlite = conn.dialect.name == "sqlite"
        on_thread = thread_runner(driver) if sqlite and not self._one_by_one else None
        if on_thread is not None:
            out: list[list[Sequence[Any]]] = await on_thread(partial(_run_steps, steps=steps, commit=commit))
            return out
        results: list[list[Sequence[Any]]] = []
        for sql, params, many in steps:
            if many:
                await executemany(conn, sql, list(params))
                results.append([])
            else:
                results.append(await fetch(conn, sql, params))
        if sqlite and commit and driver is not None:
            await driver.commit()
        return results


async def commit(conn: AsyncConnection, trip: StatementBatch) -> list[list[Sequence[Any]]]:
    """Send ``trip`` and commit the transaction, on SQLite in the same trip; returns the
    trip's results.

    For the batches that run on an ``engine.connect()`` connection and send everything through
    trips: SQLAlchemy has begun no transaction of its own then (aiosqlite began one at the
    first write), so there is nothing for it to commit. If a statement did go through SQLAlchemy
    (always on PostgreSQL), its transaction is committed after the trip, as usual.
    """
    trip._commit = True
    results = await trip.run(conn)
    if conn.in_transaction():
        await conn.commit()
    return results


async def rollback(conn: AsyncConnection) -> None:
    """Undo what a batch on an ``engine.connect()`` connection wrote (see :func:`commit`): the
    driver's transaction is SQLAlchemy's only if a statement went through SQLAlchemy."""
    if conn.in_transaction():
        await conn.rollback()
    elif conn.dialect.name == "sqlite":
        driver = (await conn.get_raw_connection()).driver_connection
        if driver is not None:
            await driver.rollback()


def _run_steps(
    raw: sqlite3.Connection, *, steps: list[tuple[str, Sequence[Any], bool]], commit: bool
) -> list[list[Sequence[Any]]]:
    """In aiosqlite's thread, on its sqlite3 connection (which begins the transaction at the
    first write, as it does for statements sent one by one)."""
    out: list[list[Sequence[Any]]] = []
    for sql, params, many in steps:
        if many:
            raw.executemany(sql, params)
            out.append([])
        else:
            out.append(raw.execute(sql, params).fetchall())
    if commit:
        raw.commit()
    return out


async def _driver(conn: AsyncConnection) -> Any:
    """The aiosqlite/asyncpg connection under ``conn``, or None until SQLAlchemy has begun the
    PostgreSQL transaction (it does so at its first statement; aiosqlite begins by itself at
    the first write, as it does under SQLAlchemy)."""
    driver: Any = (await conn.get_raw_connection()).driver_connection
    if driver is None or (conn.dialect.name == "postgresql" and not driver.is_in_transaction()):
        return None
    return driver


_Processor = Callable[[Any], Any]
_Convert = Callable[[Sequence[Sequence[Any]]], list[tuple[Any, ...]]]
_UNSET = object()
_DOLLAR = re.compile(r"\$(\d+)")
# Bound parameters per statement: SQLite allows 32766, PostgreSQL 32767.
_MAX_PARAMETERS = 30_000


class CompiledStatement:
    """An INSERT, UPDATE or SELECT compiled once per dialect and run with rows of positional values.

    ``conn.execute(stmt, [dict, ...])`` spends more Python per row than the driver does: it
    builds a parameter dict per row from the compiled statement, then a tuple from the dict,
    every batch. Here the statement is compiled once (for executemany, so no RETURNING is
    added) and each row is a tuple in ``names`` order that goes to the driver (:func:`fetch`)
    after the same bind processors SQLAlchemy would apply (JSON encoding, UTC datetimes,
    booleans), so the stored values are identical. Every column an INSERT
    writes must be in ``names``: Python-side column defaults are not computed here, and
    compiling a statement that would need them fails.

    Args:
        stmt: the statement, its parameters named by ``bindparam`` (UPDATE, SELECT) or by column
            key (a bare ``insert(Model)``); literal values in ``.values()`` are sent as they are.
        names: the order of the values in each row.
    """

    def __init__(self, stmt: Insert | Update | Select[Any], names: Sequence[str]) -> None:
        self._stmt = stmt
        self._names = tuple(names)
        self._compiled: dict[str, tuple[str, _Convert]] = {}
        self._values: dict[str, tuple[str, Callable[[int], str], str]] = {}
        self._multi: dict[tuple[str, int], str] = {}

    async def executemany(self, conn: AsyncConnection, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        sql, convert = self._for(conn.dialect)
        await executemany(conn, sql, convert(rows))

    def queue(self, trip: StatementBatch, dialect: Dialect, rows: Sequence[Sequence[Any]]) -> None:
        """``executemany`` in ``trip``, sent with the trip's other statements."""
        if rows:
            sql, convert = self._for(dialect)
            trip.executemany(sql, convert(rows))

    def queue_fetch(self, trip: StatementBatch, dialect: Dialect, row: Sequence[Any]) -> int:
        """The statement once, with ``row``, in ``trip``: for an ``UPDATE ... RETURNING`` whose
        returned rows are the trip's result at the returned index."""
        sql, convert = self._for(dialect)
        return trip.fetch(sql, convert([row])[0])

    async def read(self, engine: AsyncEngine, row: Sequence[Any]) -> list[Sequence[Any]]:
        """Run a SELECT with ``row`` on a connection of its own, in no transaction: on SQLite
        one trip to the driver, where SQLAlchemy's execute, fetch and rollback are four."""
        async with engine.connect() as conn:
            trip = StatementBatch()
            at = self.queue_fetch(trip, conn.dialect, row)
            return (await trip.run(conn))[at]

    async def insert_returning(
        self, conn: AsyncConnection, rows: Sequence[Sequence[Any]]
    ) -> list[Sequence[Any]]:
        """Run an ``INSERT ... RETURNING`` for all rows as multi-row VALUES statements (what
        SQLAlchemy's insertmanyvalues sends) and return the returned rows, in no set order."""
        trip = StatementBatch()
        found = self.queue_returning(trip, conn.dialect, rows)
        results = await trip.run(conn)
        return [row for i in found for row in results[i]]

    def queue_returning(
        self, trip: StatementBatch, dialect: Dialect, rows: Sequence[Sequence[Any]]
    ) -> list[int]:
        """:meth:`insert_returning` in ``trip``: the returned rows are the trip's results at
        the returned indexes."""
        if not rows:
            return []
        _sql, convert = self._for(dialect)
        head, values, tail = self._values[dialect.name]
        width = len(self._names)
        found: list[int] = []
        step = max(1, _MAX_PARAMETERS // width)
        for start in range(0, len(rows), step):
            chunk = convert(rows[start : start + step])
            key = (dialect.name, len(chunk))
            sql = self._multi.get(key)
            if sql is None:
                groups = ", ".join(values(k * width) for k in range(len(chunk)))
                sql = self._multi[key] = f"{head}{groups}{tail}"
            found.append(trip.fetch(sql, [v for row in chunk for v in row]))
        return found

    def _for(self, dialect: Dialect) -> tuple[str, _Convert]:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> tuple[str, _Convert]:
        keys = list(self._names) if isinstance(self._stmt, Insert) else None
        returning = isinstance(self._stmt, Select) or bool(self._stmt.returning_column_descriptions)
        compiled = self._stmt.compile(dialect=dialect, column_keys=keys, for_executemany=not returning)
        if compiled.insert_prefetch or compiled.update_prefetch or compiled.positiontup is None:
            raise ValueError(
                f"CompiledStatement needs every defaulted column and a positional driver: {compiled}"
            )
        index = {name: i for i, name in enumerate(self._names)}
        slots: list[tuple[int | None, Any, _Processor | None]] = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in index:
                slots.append((index[name], None, process))
            elif not bind.required and bind.callable is None:  # a literal, None included
                slots.append((None, process(bind.value) if process else bind.value, None))
            else:
                raise ValueError(f"no value for {name!r} in {compiled}")
        if returning and isinstance(self._stmt, Insert):
            self._values[dialect.name] = _split_values(compiled.string, len(self._names))
        if [i for i, _v, _p in slots] == list(range(len(self._names))):  # rows in statement order
            return compiled.string, _in_place([(i, p) for i, _v, p in slots if i is not None and p])
        return compiled.string, _reordered(slots)


def _split_values(sql: str, width: int) -> tuple[str, Callable[[int], str], str]:
    """``INSERT ... VALUES (?, ?) ON CONFLICT ...`` → the head, the VALUES group for a row whose
    first parameter is number ``offset`` (``$n`` placeholders are renumbered), the tail."""
    start = sql.index(" VALUES (") + len(" VALUES ")
    end = sql.index(")", start) + 1
    group = sql[start:end]
    if group.count("?") == width:
        return sql[:start], lambda _offset: group, sql[end:]
    if len(_DOLLAR.findall(group)) != width:
        raise ValueError(f"cannot repeat the VALUES of {sql!r}")
    return sql[:start], lambda offset: _DOLLAR.sub(lambda m: f"${int(m[1]) + offset}", group), sql[end:]


def _in_place(processed: list[tuple[int, _Processor]]) -> _Convert:
    """Rows already in placeholder order: only the columns with a processor cost anything, and
    a value passed again (the batch's ``now`` in every row) is processed once."""

    def convert(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        if not processed:
            return [tuple(row) for row in rows]
        out = [list(row) for row in rows]
        for i, process in processed:
            last: Any = _UNSET
            done: Any = None
            for row in out:
                value = row[i]
                if value is not last:
                    last, done = value, process(value)
                row[i] = done
        return [tuple(row) for row in out]

    return convert


def _reordered(slots: list[tuple[int | None, Any, _Processor | None]]) -> _Convert:
    def convert(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        return [
            tuple(
                value if i is None else (row[i] if process is None else process(row[i]))
                for i, value, process in slots
            )
            for row in rows
        ]

    return convert
