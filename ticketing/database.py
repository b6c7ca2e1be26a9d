"""Engine creation and schema migrations for SQLite (aiosqlite) and PostgreSQL (asyncpg).

SQLite gets WAL, ``synchronous=NORMAL`` (durable across process crashes; a power cut may lose
the last transactions, the documented WAL trade-off) and a busy timeout so a second process
such as ``frontdesk chat`` waits instead of failing. Migrations are Alembic's, configured in
code so there is no alembic.ini to keep in step.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Insert, Update, event, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.pool import NullPool

__all__ = [
    "Prepared",
    "create_engine",
    "current_revision",
    "executemany",
    "fetch",
    "head_revision",
    "insert_returning_ids",
    "is_sqlite",
    "reserve_ids",
    "upgrade",
]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        _ensure_directory(url)
        # One connection: SQLite has one writer anyway, and writers on separate connections
        # wait for each other inside SQLite's busy handler, which sleeps in steps of up to
        # 100 ms. Queued in the pool instead, they wait on the event loop and batch up.
        # Every use ends its transaction itself (begin() commits or rolls back, connect()
        # rolls back on close), so the pool's extra reset round trip is skipped.
        engine = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0, pool_reset_on_return=None)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def _ensure_directory(url: str) -> None:
    """SQLite creates the file but not its folder (``var/`` on a fresh checkout)."""
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config("")).get_current_head()
    assert head is not None
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


async def upgrade(url: str, revision: str = "head") -> None:
    """Run migrations; Alembic drives its own event loop, so it runs in a worker thread."""
    await asyncio.to_thread(command.upgrade, _config(url), revision)


def migration_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, poolclass=NullPool)
    if url.startswith("sqlite"):
        _ensure_directory(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


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


async def reserve_ids(conn: AsyncConnection, wanted: Sequence[tuple[type[Any], int]]) -> list[list[int]]:
    """Ids for ``n`` new rows of each ``(model, n)``, ascending, in one round trip.

    Rows inserted with these ids get exactly the ids the database would have given them in
    that order, so a batch knows its ids before it writes and needs no RETURNING (and can
    write rows that point at each other, a reply at its message, in one statement).
    PostgreSQL draws them from the table's sequence. SQLite gives a new row of an INTEGER
    PRIMARY KEY table (without AUTOINCREMENT, as all of ours) the next id after the largest:
    call this only once the transaction holds SQLite's write lock (after its first write), so
    nobody else inserts until commit.
    """
    key = tuple(model.__tablename__ for model, _n in wanted)
    sql = _RESERVE_SQL.get((conn.dialect.name, key))
    if sql is None:
        sql = _RESERVE_SQL[(conn.dialect.name, key)] = _reserve_sql(conn.dialect.name, key)
    if conn.dialect.name == "postgresql":
        (row,) = await fetch(conn, sql, tuple(n for _m, n in wanted))
        return [sorted(int(i) for i in ids) for ids in row]
    (row,) = await fetch(conn, sql, ())
    return [list(range(int(top) + 1, int(top) + 1 + n)) for top, (_m, n) in zip(row, wanted, strict=True)]


_RESERVE_SQL: dict[tuple[str, tuple[str, ...]], str] = {}


def _reserve_sql(dialect: str, tables: tuple[str, ...]) -> str:
    # Table names come from the models, never from input.
    if dialect == "postgresql":
        sequence = "ARRAY(SELECT nextval(pg_get_serial_sequence('{}', 'id')) FROM generate_series(1, ${}))"
        parts = [sequence.format(t, i + 1) for i, t in enumerate(tables)]
    else:
        parts = [f"(SELECT coalesce(max(id), 0) FROM {t})" for t in tables]  # noqa: S608
    return "SELECT " + ", ".join(parts)


async def fetch(conn: AsyncConnection, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
    """Rows of ``sql`` (in the driver's paramstyle) as the driver returns them, no processing.

    Runs on the driver connection inside ``conn``'s transaction: a statement through
    SQLAlchemy's async adaptation costs the event loop some 120-180 µs of Python (cursor
    creation, execute, fetch and close are separate trips to the driver), the bare driver
    20-40 µs. A batch of turns runs about a dozen statements, so this is most of what its
    writing costs beyond the rows themselves. Statements sent this way are not echoed and get
    no SQLAlchemy events or exception wrapping (the batch only needs "it failed").
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


class Prepared:
    """An INSERT or UPDATE compiled once per dialect and run with rows of positional values.

    ``conn.execute(stmt, [dict, ...])`` spends more Python per row than the driver does: it
    builds a parameter dict per row from the compiled statement, then a tuple from the dict,
    every batch. Here the statement is compiled once (for executemany, so no RETURNING is
    added) and each row is a tuple in ``names`` order that goes to the driver (:func:`fetch`)
    after the same bind processors SQLAlchemy would apply (JSON encoding, UTC datetimes,
    booleans), so the stored values are identical. Every column an INSERT
    writes must be in ``names``: Python-side column defaults are not computed here, and
    compiling a statement that would need them fails.

    Args:
        stmt: the statement, its parameters named by ``bindparam`` (UPDATE) or by column key
            (a bare ``insert(Model)``); literal values in ``.values()`` are sent as they are.
        names: the order of the values in each row.
    """

    def __init__(self, stmt: Insert | Update, names: Sequence[str]) -> None:
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

    async def insert_returning(
        self, conn: AsyncConnection, rows: Sequence[Sequence[Any]]
    ) -> list[Sequence[Any]]:
        """Run an ``INSERT ... RETURNING`` for all rows as multi-row VALUES statements (what
        SQLAlchemy's insertmanyvalues sends) and return the returned rows, in no set order."""
        if not rows:
            return []
        _sql, convert = self._for(conn.dialect)
        head, values, tail = self._values[conn.dialect.name]
        width = len(self._names)
        out: list[Sequence[Any]] = []
        step = max(1, _MAX_PARAMETERS // width)
        for start in range(0, len(rows), step):
            chunk = convert(rows[start : start + step])
            key = (conn.dialect.name, len(chunk))
            sql = self._multi.get(key)
            if sql is None:
                groups = ", ".join(values(k * width) for k in range(len(chunk)))
                sql = self._multi[key] = f"{head}{groups}{tail}"
            out.extend(await fetch(conn, sql, [v for row in chunk for v in row]))
        return out

    def _for(self, dialect: Dialect) -> tuple[str, _Convert]:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> tuple[str, _Convert]:
        keys = list(self._names) if isinstance(self._stmt, Insert) else None
        returning = isinstance(self._stmt, Insert) and bool(self._stmt.returning_column_descriptions)
        compiled = self._stmt.compile(dialect=dialect, column_keys=keys, for_executemany=not returning)
        if compiled.insert_prefetch or compiled.update_prefetch or compiled.positiontup is None:
            raise ValueError(f"Prepared needs every defaulted column and a positional driver: {compiled}")
        index = {name: i for i, name in enumerate(self._names)}
        slots: list[tuple[int | None, Any, _Processor | None]] = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in index:
                slots.append((index[name], None, process))
            elif bind.value is not None and bind.callable is None:
                slots.append((None, process(bind.value) if process else bind.value, None))
            else:
                raise ValueError(f"no value for {name!r} in {compiled}")
        if returning:
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
