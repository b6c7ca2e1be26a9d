"""The API's read side of tickets: filtered, searchable pages, and one ticket in full.

Pages are newest first by ticket id (creation order) and move on with a keyset cursor: the
opaque ``next_cursor`` is the last id of the page, so a ticket created while a client pages
shows up at the front (where it belongs) and never shifts, repeats or hides a row of the pages
still to come, and an update (which moves ``updated_at``) changes no ticket's place either.
Each filter has a (column, id) index (migration 0010), so a filtered page is one index range;
several statuses are read as one range each and merged, for the same reason.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, literal_column, select, true, type_coerce, union_all
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Select

from ticketing import timers
from ticketing.errors import InvalidValue
from ticketing.lifecycle import PRIORITIES, STATUSES
from ticketing.models import Conversation, Ticket, TicketEvent
from ticketing.ticket_rows import TicketRow, load
from ticketing.ticket_search import WINDOW, Tier, parse_terms, search_conditions

__all__ = ["MAX_LIMIT", "InvalidCursor", "TicketDetail", "TicketPage", "TicketQueries", "TicketQuery"]

MAX_LIMIT = 200
_CURSOR_VERSION = 1


class InvalidCursor(InvalidValue):
    """A cursor this service did not hand out (or from an incompatible version)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketQuery:
    status: Sequence[str] = ()
    queue: str | None = None
    assignee: str | None = None
    priority: str | None = None
    tag: str | None = None
    customer_id: int | None = None
    updated_since: datetime | None = None
    q: str | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class TicketPage:
    items: list[TicketRow]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TicketDetail:
    ticket: TicketRow
    events: list[dict[str, Any]]
    timers: list[timers.TimerView]


class TicketQueries:
    def __init__(self, *, engine: AsyncEngine, common_after: int | None = None, window: int = WINDOW) -> None:
        self._engine = engine
        self._common_after, self._window = common_after, window  # see ticket_search.search_conditions

    async def page(self, query: TicketQuery) -> TicketPage:
        """One page of tickets matching ``query``.

        Raises:
            InvalidValue: an unknown status or priority, a limit out of range, a search without words.
            InvalidCursor: a cursor that was not a ``next_cursor`` of this API.
        """
        _check(query)
        before = decode_cursor(query.cursor) if query.cursor is not None else None
        dialect = self._engine.dialect.name
        where = _conditions(query, dialect, before)
        terms = parse_terms(query.q) if query.q is not None else None
        statuses = list(dict.fromkeys(query.status))
        async with self._engine.connect() as conn:
            tiers = [Tier(true(), False)]  # no search: one condition that holds
            if terms is not None:
                tiers = await search_conditions(
                    conn,
                    terms,
                    limit=query.limit,
                    before=before,
                    common_after=self._common_after,
                    window=self._window,
                )
            rows: list[dict[str, Any]] = []
            for tier in tiers:  # each covers older tickets than the one before: rows follow on
                statement = _statement(
                    [*where, tier.condition], statuses, query.limit - len(rows), collected=tier.collected
                )
                rows += [dict(r) for r in (await conn.execute(statement)).mappings()]
                if len(rows) > query.limit:
                    break
            await _conversations(conn, rows)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        return TicketPage(rows, encode_cursor(rows[-1]["id"]) if more and rows else None)

    async def detail(self, reference: str | int) -> TicketDetail:
        """The ticket, its audit trail (oldest first) and its SLA timers.

        Raises:
            TicketNotFound: no ticket with that reference.
        """
        async with self._engine.connect() as conn:
            ticket = await load(conn, reference, lock=False)
            await _conversations(conn, [ticket])
            trail = select(TicketEvent.__table__).where(TicketEvent.ticket_id == ticket["id"])
            events = await conn.execute(trail.order_by(TicketEvent.id))
            clocks = await timers.listing(conn, ticket_id=ticket["id"], limit=1000)
            return TicketDetail(ticket, [dict(e) for e in events.mappings()], clocks)


def encode_cursor(last_id: int) -> str:
    raw = json.dumps({"v": _CURSOR_VERSION, "id": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a page ended on. Raises :class:`InvalidCursor` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        data = None
    last = data.get("id") if isinstance(data, dict) and data.get("v") == _CURSOR_VERSION else None
    if not isinstance(last, int) or isinstance(last, bool) or not 0 < last < 2**63:
        raise InvalidCursor(
            "cursor is not one this API handed out; pass next_cursor from the previous page as it is"
        )
    return last


async def _conversations(conn: AsyncConnection, rows: list[TicketRow]) -> None:
    """Each ticket's ``conversation_public_id``: how the API names a conversation."""
    ids = {r["conversation_id"] for r in rows if r["conversation_id"] is not None}
    found: dict[int, str] = {}
    if ids:
        stmt = select(Conversation.id, Conversation.public_id).where(Conversation.id.in_(ids))
        found = {int(i): p for i, p in (await conn.execute(stmt)).all()}
    for row in rows:
        row["conversation_public_id"] = found.get(row["conversation_id"])


def _check(query: TicketQuery) -> None:
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidValue(f"limit must be between 1 and {MAX_LIMIT}")
    unknown = [s for s in query.status if s not in STATUSES]
    if unknown:
        raise InvalidValue(f"unknown status {unknown[0]!r}; use one of {', '.join(STATUSES)}")
    if query.priority is not None and query.priority not in PRIORITIES:
        raise InvalidValue(f"unknown priority {query.priority!r}; use one of {', '.join(PRIORITIES)}")
    if query.updated_since is not None and query.updated_since.tzinfo is None:
        raise InvalidValue("updated_since needs a time zone (RFC 3339), e.g. 2026-12-01T00:00:00Z")


def _conditions(query: TicketQuery, dialect: str, before: int | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if before is not None:
        where.append(Ticket.id < before)
    if query.queue is not None:
        where.append(Ticket.queue == query.queue)
    if query.assignee is not None:
        where.append(Ticket.assignee == query.assignee)
    if query.priority is not None:
        where.append(Ticket.priority == query.priority)
    if query.customer_id is not None:
        where.append(Ticket.customer_id == query.customer_id)
    if query.updated_since is not None:
        where.append(Ticket.updated_at >= query.updated_since)
    if query.tag is not None:
        where.append(_has_tag(dialect, query.tag))
    return where


def _has_tag(dialect: str, tag: str) -> ColumnElement[bool]:
    if dialect == "postgresql":  # containment: the GIN index on tags (jsonb_path_ops) answers it
        return type_coerce(Ticket.tags, JSONB).contains([tag])
    each = func.json_each(Ticket.tags).table_valued("value")
    return exists(select(literal_column("1")).select_from(each).where(each.c.value == tag))


def _statement(
    where: list[ColumnElement[bool]], statuses: list[str], limit: int, *, collected: bool = False
) -> Select[Any]:
    """Newest first, one row past the page (so we know if there is another)."""
    if len(statuses) > 1:  # one index range per status, merged: no sort of every match
        parts = [_ordered([*where, Ticket.status == s], limit + 1, collected).subquery() for s in statuses]
        merged = union_all(*(select(p) for p in parts)).subquery()
        return select(merged).order_by(merged.c.id.desc()).limit(limit + 1)
    return _ordered([*where, *(Ticket.status == s for s in statuses)], limit + 1, collected)


def _ordered(where: list[ColumnElement[bool]], limit: int, collected: bool = False) -> Select[Any]:
    # "+ 0" for a collected set (ticket_search.Tier): no primary-key order to walk, so the
    # database sorts the set's tickets instead of testing the newest ones against it.
    order = (Ticket.id + 0) if collected else Ticket.id
    return select(Ticket.__table__).where(*where).order_by(order.desc()).limit(limit)
