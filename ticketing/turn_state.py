"""What a turn knows before it decides: the conversation, its customer and its history.

Read once per batch, in the batch's transaction, with one statement: the conversations (with
their counters: turns, automated replies, rule fires, recent rules) joined with their customers
and open tickets, plus two small counts per customer. On PostgreSQL the conversation rows are
locked for the batch. The batch keeps the state current in memory as each turn is planned and
writes the conversations back at the end (``turn_writes.update_conversations``). The statement
is compiled once per dialect and read through the driver (in the batch's
``driver.StatementBatch``); its JSON and boolean columns are converted here exactly as
SQLAlchemy's result processors would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, String, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnClause

from ticketing import json_text
from ticketing.driver import StatementBatch
from ticketing.models import Conversation, Customer, Ticket

__all__ = ["ConversationState", "in_ids", "queue_by_ids", "queue_states", "states_from_rows"]


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the rules may know about a conversation and its customer, as of this turn."""

    customer_id: int
    status: str
    handed_off: bool
    open_ticket_id: int | None  # None while the ticket is being opened in this same batch
    open_ticket_number: int | None
    language: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None  # verified, else the address they claimed in web chat
    customer_tags: tuple[str, ...] = ()
    customer_attributes: Mapping[str, Any] = field(default_factory=dict)
    customer_conversations: int = 1
    open_tickets: int = 0  # the customer's tickets not solved or closed
    ticket_tags: tuple[str, ...] = ()  # of the open ticket
    turns: int = 0  # customer messages before this one
    automated_replies: int = 0
    rule_fires: Mapping[str, int] = field(default_factory=dict)
    recent_rules: tuple[str, ...] = ()  # rules that answered the last messages, newest last
    csat_ticket_id: int | None = None  # a satisfaction question awaits its answer
    csat_thanks: str | None = None  # this message answered it: thank instead of running rules
    customer_erased: bool = False  # erased (GDPR) since the sender's conversation was resolved
    # Rule forms and acknowledgements (conversations.dialog): slots, the pending question, the
    # last acknowledgement. Replaced as a whole when a plan changes it.
    dialog: Mapping[str, Any] = field(default_factory=dict)
    ticket_priority: str | None = None  # of the open ticket, as of this turn
    ticket_queue: str | None = None
    ticket_status: str | None = None


# Built once: constructing statements costs more than executing them at this batch rate.
_open_ticket = aliased(Ticket, name="open_ticket")
_other = aliased(Conversation, name="other_conversation")
# Inline, not bound: the only parameter of the statement is the list of ids.
_DONE: tuple[ColumnClause[Any], ...] = (literal_column("'solved'"), literal_column("'closed'"))
_OPEN_TICKETS = (
    select(func.count())
    .select_from(Ticket)
    .where(Ticket.customer_id == Conversation.customer_id, Ticket.status.not_in(_DONE))
    .correlate(Conversation)
    .scalar_subquery()
)
_CONVERSATIONS = (
    select(func.count())
    .select_from(_other)
    .where(_other.customer_id == Conversation.customer_id)
    .correlate(Conversation)
    .scalar_subquery()
)
_COLUMNS = (
    Conversation.id,
    Conversation.customer_id,
    Conversation.status,
    Conversation.handed_off,
    Conversation.open_ticket_id,
    Conversation.open_ticket_number,
    Conversation.language,
    Customer.display_name,
    # Rules see a contact address the customer gave, verified or not ("ask for the email if we
    # have none" must not ask again); only linking and mail delivery need the verified one.
    func.coalesce(Customer.email, Customer.claimed_email),
    Customer.tags,
    Customer.attributes,
    _CONVERSATIONS,
    _OPEN_TICKETS,
    _open_ticket.tags,
    Conversation.turns,
    Conversation.automated_replies,
    Conversation.csat_ticket_id,
    Conversation.rule_fires,
    Conversation.recent_rules,
    Customer.erased_at,  # free here: the batch refuses a turn of an erased customer (turns.py)
    Conversation.dialog,
    _open_ticket.priority,
    _open_ticket.queue,
    _open_ticket.status,
)
_FROM = select(*_COLUMNS).join(Customer, Customer.id == Conversation.customer_id)
_FROM = _FROM.outerjoin(_open_ticket, _open_ticket.id == Conversation.open_ticket_id)


def in_ids(column: Any, dialect_name: str) -> Any:
    """``column IN (ids)`` with the ids as one parameter named ``ids`` (a JSON array on SQLite,
    an array on PostgreSQL; see :func:`queue_by_ids`), so the SQL is the same for every batch
    and is compiled once."""
    if dialect_name == "postgresql":
        return column == func.any(bindparam("ids", type_=ARRAY(BigInteger)))
    return column.in_(
        select(literal_column("value")).select_from(func.json_each(bindparam("ids", type_=String)))
    )


def _states(dialect_name: str) -> ClauseElement:
    # Locks are taken in one order: no deadlock. PostgreSQL: another process's batch on the same
    # conversation waits for this one to commit and then reads what it wrote, so two messages
    # can never both open "the" ticket or lose a count.
    stmt = _FROM.where(in_ids(Conversation.id, dialect_name)).order_by(Conversation.id)
    return stmt.with_for_update(of=Conversation) if dialect_name == "postgresql" else stmt


_COMPILED: dict[tuple[str, str], str] = {}


def queue_by_ids(
    trip: StatementBatch,
    dialect: Dialect,
    name: str,
    build: Callable[[str], ClauseElement],
    ids: Iterable[int],
) -> int:
    """Queue ``build(dialect name)``, a statement whose one parameter is :func:`in_ids`' list,
    compiled once per dialect under ``name``."""
    sql = _COMPILED.get((name, dialect.name))
    if sql is None:
        compiled = build(dialect.name).compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.positiontup != ["ids"]:
            raise RuntimeError(f"{name} takes only the ids: {compiled.positiontup}")
        sql = _COMPILED[(name, dialect.name)] = compiled.string
    ordered = sorted(ids)
    return trip.fetch(sql, (ordered,) if dialect.name == "postgresql" else (json.dumps(ordered),))


def queue_states(trip: StatementBatch, dialect: Dialect, conversation_ids: set[int]) -> int:
    """Queue the read of these conversations' states in a batch's trip; hand its rows to
    :func:`states_from_rows`."""
    return queue_by_ids(trip, dialect, "states", _states, conversation_ids)


def states_from_rows(dialect: Dialect, rows: Sequence[Sequence[Any]]) -> dict[int, ConversationState]:
    # What SQLAlchemy's result processors would do: SQLite hands back JSON as text and booleans
    # as 0/1 (asyncpg decodes both). A text seen before in this batch is parsed once; every
    # value is copied into the state below, so nothing parsed is shared between states.
    parsed: dict[str, Any] = {}

    def load(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        found = parsed.get(value, _UNSET)
        if found is _UNSET:
            found = parsed[value] = json_text.loads(value)
        return found

    if dialect.name == "postgresql":
        load = json_text.as_read
    states = {}
    for row in rows:
        states[row[0]] = ConversationState(
            customer_id=row[1], status=row[2], handed_off=bool(row[3]), open_ticket_id=row[4],
            open_ticket_number=row[5], language=row[6], customer_name=row[7], customer_email=row[8],
            customer_tags=tuple(load(row[9]) or ()), customer_attributes=dict(load(row[10]) or {}),
            customer_conversations=row[11], open_tickets=row[12], ticket_tags=tuple(load(row[13]) or ()),
            turns=row[14], automated_replies=row[15], csat_ticket_id=row[16],
            rule_fires=dict(load(row[17]) or {}), recent_rules=tuple(load(row[18]) or ()),
            customer_erased=row[19] is not None, dialog=dict(load(row[20]) or {}),
            ticket_priority=row[21], ticket_queue=row[22], ticket_status=row[23],
        )  # fmt: skip
    return states


_UNSET = object()
