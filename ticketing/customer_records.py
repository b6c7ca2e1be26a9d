"""Reading customer records for the REST API: list and search a page at a time, the full record.

Search is a case-insensitive *prefix* match (``q`` = ``"ann"`` finds "Ann Smith",
``ann@example.com`` and a Telegram user called "Anna") on the customer's name, email and
claimed email and on every channel identity's external id and name. Each of those five has a
``lower(column)`` index (migration 0011), so a search costs the matches, not the table: each
branch is an index range, their union is the candidate set, and only then are customers read.
A substring match would need a trigram index on PostgreSQL and none exists on SQLite.

Pages are newest first by id, with keyset pagination (``before``: the last id of the previous
page), so a page costs the same at the millionth customer as at the first and a customer created
meanwhile never shifts a page. Merged records (shells pointing at the record they were merged
into) are not listed; erased ones are, without personal data, and never match a search.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal_column, select, union
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.database import is_sqlite
from ticketing.errors import CustomerNotFound
from ticketing.models import ChannelIdentity, Conversation, Customer, Ticket, TicketEvent

__all__ = [
    "ConversationSummary",
    "CsatAnswer",
    "CustomerPage",
    "CustomerRecord",
    "CustomerRecords",
    "CustomerSummary",
    "Identity",
    "TicketSummary",
    "summary_from_row",
]

#: How many of a customer's newest conversations and tickets the full record lists (their totals
#: are given too): a record stays one quick answer even for a customer with years of history.
RECORD_LIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    id: int
    display_name: str | None
    email: str | None
    claimed_email: str | None
    phone: str | None
    tags: tuple[str, ...]
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None
    merged_into: int | None


@dataclass(frozen=True, slots=True)
class CustomerPage:
    items: tuple[CustomerSummary, ...]
    next_before: int | None  # the ``before`` of the next page; None on the last one


@dataclass(frozen=True, slots=True)
class Identity:
    id: int
    channel: str
    external_id: str
    display_name: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    public_id: str
    channel: str
    status: str
    handed_off: bool
    subject: str | None
    open_ticket: str | None  # T-<number>
    turns: int
    created_at: datetime
    last_message_at: datetime


@dataclass(frozen=True, slots=True)
class TicketSummary:
    id: int
    reference: str
    status: str
    priority: str
    queue: str
    subject: str
    assignee: str | None
    tags: tuple[str, ...]
    csat_score: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CsatAnswer:
    ticket: str  # T-<number>
    score: int
    comment: str | None
    answered_at: datetime


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    customer: CustomerSummary
    merged_from: tuple[int, ...]  # records merged into this one
    identities: tuple[Identity, ...]
    conversations: tuple[ConversationSummary, ...]
    conversations_total: int
    tickets: tuple[TicketSummary, ...]
    tickets_total: int
    csat: tuple[CsatAnswer, ...]


class CustomerRecords:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        self._pattern_ops = not is_sqlite(engine)

    async def search(
        self, *, q: str | None = None, tag: str | None = None, limit: int = 50, before: int | None = None
    ) -> CustomerPage:
        """One page, newest first. ``q``: prefix of a name, email or channel id; ``tag``: has it."""
        stmt = select(Customer.__table__).where(Customer.merged_into_id.is_(None))
        if q is not None and q.strip():
            stmt = stmt.where(Customer.erased_at.is_(None), Customer.id.in_(self._matching(q.strip())))
        if tag is not None:
            stmt = stmt.where(self._has_tag(tag))
        if before is not None:
            stmt = stmt.where(Customer.id < before)
        stmt = stmt.order_by(Customer.id.desc()).limit(limit + 1)
        async with self._engine.connect() as conn:
            rows = [summary_from_row(r) for r in (await conn.execute(stmt)).mappings()]
        more = len(rows) > limit
        return CustomerPage(tuple(rows[:limit]), rows[limit - 1].id if more else None)

    async def get(self, customer_id: int) -> CustomerSummary:
        """The customer row alone (merged and erased ones too); raises CustomerNotFound."""
        async with self._engine.connect() as conn:
            return await _get(conn, customer_id)

    async def record(self, customer_id: int) -> CustomerRecord:
        """Everything the API shows about a customer; a merged record shows only itself (its
        history moved to ``merged_into``). Raises CustomerNotFound."""
        async with self._engine.connect() as conn:
            customer = await _get(conn, customer_id)
            merged_from = (
                await conn.execute(
                    select(Customer.id).where(Customer.merged_into_id == customer_id).order_by(Customer.id)
                )
            ).scalars()
            identities = (
                await conn.execute(
                    select(ChannelIdentity.__table__)
                    .where(ChannelIdentity.customer_id == customer_id)
                    .order_by(ChannelIdentity.id)
                )
            ).mappings()
            ids = tuple(
                Identity(r["id"], r["channel"], r["external_id"], r["display_name"], r["created_at"])
                for r in identities
            )
            conversations = await _conversations(conn, customer_id)
            tickets = await _tickets(conn, customer_id)
            totals = [
                int((await conn.execute(select(func.count()).where(where))).scalar_one())
                for where in (Conversation.customer_id == customer_id, Ticket.customer_id == customer_id)
            ]
            csat = await _csat(conn, customer_id)
        return CustomerRecord(
            customer=customer, merged_from=tuple(int(i) for i in merged_from), identities=ids,
            conversations=conversations, conversations_total=totals[0], tickets=tickets,
            tickets_total=totals[1], csat=csat,
        )  # fmt: skip

    def _matching(self, q: str) -> Select[Any]:
        """Ids of customers with a name, email or channel id starting with ``q``, any case."""
        low = q.lower()
        high = _successor(low)
        branches = [
            select(Customer.id.label("id")).where(self._prefix(Customer.display_name, low, high)),
            select(Customer.id.label("id")).where(self._prefix(Customer.email, low, high)),
            select(Customer.id.label("id")).where(self._prefix(Customer.claimed_email, low, high)),
            select(ChannelIdentity.customer_id.label("id")).where(
                self._prefix(ChannelIdentity.external_id, low, high)
            ),
            select(ChannelIdentity.customer_id.label("id")).where(
                self._prefix(ChannelIdentity.display_name, low, high)
            ),
        ]
        matches = union(*branches).subquery()
        return select(matches.c.id)

    def _prefix(self, column: Any, low: str, high: str | None) -> ColumnElement[bool]:
        """``lower(column)`` in [low, high): an index range. PostgreSQL's byte-wise pattern
        operators match the ``text_pattern_ops`` index under any collation; SQLite compares
        bytes already."""
        key = func.lower(column)
        if self._pattern_ops:
            lower_bound = key.op("~>=~", is_comparison=True)(low)
            return lower_bound if high is None else and_(lower_bound, key.op("~<~", is_comparison=True)(high))
        return key >= low if high is None else and_(key >= low, key < high)

    def _has_tag(self, tag: str) -> ColumnElement[bool]:
        """No index (tags are few per customer and rarely filtered alone): PostgreSQL's ``@>``
        on the JSONB array, SQLite's ``json_each``; the id order still bounds the scan."""
        if self._pattern_ops:
            return Customer.tags.op("@>", is_comparison=True)(func.jsonb_build_array(tag))
        each = func.json_each(Customer.tags).table_valued("value")
        return exists(select(literal_column("1")).select_from(each).where(each.c.value == tag))


def _successor(text: str) -> str | None:
    """The smallest string greater than every string starting with ``text`` (code point order,
    which is UTF-8 byte order), or None if there is none."""
    for i in range(len(text) - 1, -1, -1):
        code = ord(text[i]) + 1
        if 0xD800 <= code <= 0xDFFF:
            code = 0xE000  # surrogates cannot be stored: skip past them
        if code <= 0x10FFFF:
            return text[:i] + chr(code)
    return None


def summary_from_row(row: Any) -> CustomerSummary:
    return CustomerSummary(
        id=row["id"], display_name=row["display_name"], email=row["email"],
        claimed_email=row["claimed_email"], phone=row["phone"], tags=tuple(row["tags"] or ()),
        attributes=dict(row["attributes"] or {}), created_at=row["created_at"],
        updated_at=row["updated_at"], erased_at=row["erased_at"], merged_into=row["merged_into_id"],
    )  # fmt: skip


async def _get(conn: AsyncConnection, customer_id: int) -> CustomerSummary:
    row = (
        (await conn.execute(select(Customer.__table__).where(Customer.id == customer_id))).mappings().first()
    )
    if row is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    return summary_from_row(row)


async def _conversations(conn: AsyncConnection, customer_id: int) -> tuple[ConversationSummary, ...]:
    stmt = (
        select(Conversation.__table__)
        .where(Conversation.customer_id == customer_id)
        .order_by(Conversation.id.desc())
        .limit(RECORD_LIST_LIMIT)
    )
    return tuple(
        ConversationSummary(
            public_id=r["public_id"],
            channel=r["channel"],
            status=r["status"],
            handed_off=bool(r["handed_off"]),
            subject=r["subject"],
            open_ticket=f"T-{r['open_ticket_number']}" if r["open_ticket_number"] is not None else None,
            turns=int(r["turns"] or 0),
            created_at=r["created_at"],
            last_message_at=r["last_message_at"],
        )
        for r in (await conn.execute(stmt)).mappings()
    )


async def _tickets(conn: AsyncConnection, customer_id: int) -> tuple[TicketSummary, ...]:
    stmt = (
        select(Ticket.__table__)
        .where(Ticket.customer_id == customer_id)
        .order_by(Ticket.id.desc())
        .limit(RECORD_LIST_LIMIT)
    )
    return tuple(
        TicketSummary(
            id=r["id"],
            reference=f"T-{r['number']}",
            status=r["status"],
            priority=r["priority"],
            queue=r["queue"],
            subject=r["subject"],
            assignee=r["assignee"],
            tags=tuple(r["tags"] or ()),
            csat_score=r["csat_score"],
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )
        for r in (await conn.execute(stmt)).mappings()
    )


async def _csat(conn: AsyncConnection, customer_id: int) -> tuple[CsatAnswer, ...]:
    """The customer's satisfaction answers, from the tickets' ``csat`` events (which hold when)."""
    stmt = (
        select(Ticket.number, TicketEvent.data, TicketEvent.created_at)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(Ticket.customer_id == customer_id, TicketEvent.kind == "csat")
        .order_by(TicketEvent.id.desc())
        .limit(RECORD_LIST_LIMIT)
    )
    answers = []
    for number, data, at in (await conn.execute(stmt)).all():
        score = data.get("score") if isinstance(data, dict) else None
        if isinstance(score, int):
            comment = data.get("comment")
            answers.append(
                CsatAnswer(f"T-{number}", score, comment if isinstance(comment, str) else None, at)
            )
    return tuple(answers)
