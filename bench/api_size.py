"""What the REST API benchmark's database weighs once loaded (``bench/api.py``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import asyncpg

if TYPE_CHECKING:
    from api import Database

__all__ = ["footprint"]


async def footprint(db: Database) -> dict[str, Any]:
    """Megabytes on disk: the whole database, and the two big tables with their indexes."""
    if db.kind == "sqlite":
        size = sum(
            os.path.getsize(db.dsn + suffix) for suffix in ("", "-wal") if os.path.exists(db.dsn + suffix)
        )
        return {"database_mb": round(size / 1e6)}
    conn = await asyncpg.connect(db.dsn)
    try:
        row = await conn.fetchrow(
            "SELECT pg_database_size(current_database()) AS db, pg_total_relation_size('tickets') AS t, "
            "pg_total_relation_size('interactions') AS i"
        )
    finally:
        await conn.close()
    return {"database_mb": round(row["db"] / 1e6), "tickets_mb": round(row["t"] / 1e6),
            "interactions_mb": round(row["i"] / 1e6)}  # fmt: skip
