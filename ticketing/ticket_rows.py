"""Reading and locking one ticket, and writing its audit trail.

Every change goes through :func:`record` so the trail says who (``agent:alice``,
``rule:complaint_no_first_reply``, ``system``), what and when, in the same transaction as the
change itself: a change without its event, or an event without its change, cannot commit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.errors import TicketNotFound
from ticketing.models import Ticket, TicketEvent

__all__ = ["TicketRow", "load", "parse_reference", "record", "record_many"]

TicketRow = dict[str, Any]  # the tickets columns, by name
_REFERENCE = re.compile(r"^\s*(?:T-?)?(\d+)\s*$", re.IGNORECASE)


def parse_reference(reference: str | int) -> int:
    """``"T-1042"``, ``"t1042"`` or ``1042`` → 1042."""
    match = _REFERENCE.match(str(reference))
    if match is None or len(match.group(1)) > 18:  # longer: past a BIGINT, so no such ticket
        raise TicketNotFound(f"{str(reference)[:40]!r} is not a ticket reference (write it like T-1042)")
    return int(match.group(1))


async def load(conn: AsyncConnection, reference: str | int, *, lock: bool = True) -> TicketRow:
    """The ticket with that reference, locked for the rest of the transaction if ``lock``."""
    number = parse_reference(reference)
    stmt = select(Ticket.__table__).where(Ticket.number == number)
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        raise TicketNotFound(f"no ticket T-{number} (list tickets with `frontdesk tickets list`)")
    return dict(row)


async def load_by_id(conn: AsyncConnection, ticket_id: int, *, lock: bool = True) -> TicketRow:
    stmt = select(Ticket.__table__).where(Ticket.id == ticket_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        raise TicketNotFound(f"no ticket with id {ticket_id}")
    return dict(row)


async def record(
    conn: AsyncConnection, ticket_id: int, actor: str, kind: str, data: dict[str, Any], now: datetime
) -> None:
    await record_many(conn, [(ticket_id, actor, kind, data)], now)


async def record_many(
    conn: AsyncConnection, events: Sequence[tuple[int, str, str, dict[str, Any]]], now: datetime
) -> None:
    if events:
        await conn.execute(
            insert(TicketEvent),
            [{"ticket_id": t, "actor": a, "kind": k, "data": d, "created_at": now} for t, a, k, d in events],
        )
