"""The access audit: who read, exported, erased or merged whose personal data (migration 0008).

Separate from ``ticket_events`` (what happened to a ticket): this answers a data-protection
question, "who saw customer 42's data, and from where?". ``actor`` is ``account:NAME`` or
``operator:LOGIN`` (the CLI's default), ``source`` is ``cli`` or ``ip:ADDRESS``. The REST API
records its reads of personal data with one :meth:`AccessAudit.record` call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models import Base, Id
from ticketing.time import utcnow

__all__ = ["AccessAudit", "AccessEvent", "AccessRow"]


class AccessEvent(Base):
    __tablename__ = "access_audit"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(Id, index=True)  # no FK: the trail outlives accounts
    action: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(Id, index=True)
    ticket_id: Mapped[int | None] = mapped_column(Id)
    source: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


@dataclass(frozen=True, slots=True)
class AccessRow:
    id: int
    at: datetime
    actor: str
    action: str
    customer_id: int | None
    ticket_id: int | None
    source: str
    detail: dict[str, Any]


class AccessAudit:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self, *, actor: str, action: str, source: str, account_id: int | None = None,
        customer_id: int | None = None, ticket_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """One access: ``action`` like ``customer.export``, ``customer.erase``, ``customer.merge``,
        ``customer.read``; ``detail`` holds ids and counts, never message bodies."""
        values = {"at": utcnow(), "actor": actor, "account_id": account_id, "action": action,
                  "customer_id": customer_id, "ticket_id": ticket_id, "source": source,
                  "detail": detail or {}}  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(insert(AccessEvent).values(**values))

    async def list(
        self, *, customer_id: int | None = None, account_id: int | None = None,
        since: datetime | None = None, limit: int = 200,
    ) -> list[AccessRow]:  # fmt: skip
        """Newest first."""
        stmt = select(AccessEvent.id, AccessEvent.at, AccessEvent.actor, AccessEvent.action,
                      AccessEvent.customer_id, AccessEvent.ticket_id, AccessEvent.source,
                      AccessEvent.detail).order_by(AccessEvent.id.desc()).limit(limit)  # fmt: skip
        if customer_id is not None:
            stmt = stmt.where(AccessEvent.customer_id == customer_id)
        if account_id is not None:
            stmt = stmt.where(AccessEvent.account_id == account_id)
        if since is not None:
            stmt = stmt.where(AccessEvent.at >= since)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [AccessRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], dict(r[7] or {})) for r in rows]
