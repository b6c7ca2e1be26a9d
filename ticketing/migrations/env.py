"""Alembic environment: async engines, URL handed in by ticketing.database (no alembic.ini)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from ticketing.database import migration_engine
from ticketing.models import Base
from ticketing.ticket_search import include_name

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,  # the search indexes and FTS5 tables are not in the models
    )
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = migration_engine(config.attributes["url"])
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run `frontdesk db upgrade`")
asyncio.run(_main())
