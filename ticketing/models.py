"""SQLAlchemy models: the tables every part of Frontdesk records into.

One customer has many channel identities and conversations; every inbound and outbound
message is an interaction row (so a customer's history is one indexed query); tickets carry a
human-readable number and an audit trail of ticket events; replies leave through the outbox;
``inbound_dedup`` makes retried deliveries harmless. The same models run on SQLite and
PostgreSQL; migrations in ``ticketing/migrations`` create them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    literal_column,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Agent",
    "Base",
    "ChannelCursor",
    "ChannelIdentity",
    "Conversation",
    "Counter",
    "Customer",
    "InboundDedup",
    "Interaction",
    "OutboxItem",
    "Queue",
    "QueueMember",
    "SlaTimer",
    "Ticket",
    "TicketEvent",
    "WebhookDelivery",
    "WebhookSubscription",
]

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer, "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: Json, list[Any]: Json}


def _search_index(name: str, column: str) -> Index:
    """``lower(column)`` for the API's prefix search (migration 0011): ``text_pattern_ops`` on
    PostgreSQL, so the byte-wise range operators use it under any collation."""
    return Index(name, func.lower(literal_column(column)).label(f"{column}_lower"),
                 postgresql_ops={f"{column}_lower": "text_pattern_ops"})  # fmt: skip


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        _search_index("ix_customers_display_name_lower", "display_name"),
        _search_index("ix_customers_email_lower", "email"),
        _search_index("ix_customers_claimed_email_lower", "claimed_email"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)  # lower-cased, verified
    # What a web chat visitor typed, lower-cased: never linked or mailed on until an agent
    # confirms it (``frontdesk tickets customer-verify-email``), so it is not unique.
    claimed_email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    tags: Mapped[list[Any]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    merged_into_id: Mapped[int | None] = mapped_column(Id)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    erased_at: Mapped[datetime | None]  # GDPR erasure: personal data removed, statistics kept


class ChannelIdentity(Base):
    __tablename__ = "channel_identities"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        _search_index("ix_channel_identities_external_id_lower", "external_id"),
        _search_index("ix_channel_identities_display_name_lower", "display_name"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("identity_id", "external_thread_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("channel_identities.id"))
    channel: Mapped[str] = mapped_column(String(32))
    external_thread_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    handed_off: Mapped[bool] = mapped_column(Boolean, default=False)
    # The ticket this conversation currently feeds; denormalized so the hot path needs no join.
    open_ticket_id: Mapped[int | None] = mapped_column(Id)
    open_ticket_number: Mapped[int | None] = mapped_column(BigInteger)
    subject: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_message_at: Mapped[datetime]
    # Set when the open ticket is closed: the next ticket opened here is its follow-up.
    previous_ticket_id: Mapped[int | None] = mapped_column(Id)
    # A satisfaction question is waiting for the customer's answer on this conversation.
    csat_ticket_id: Mapped[int | None] = mapped_column(Id)
    # What the rules' loop guards and turn counts read on every message, kept here (written with
    # the rest of the turn) so a message costs the same in a long conversation as in a new one.
    turns: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # customer messages
    automated_replies: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rule_fires: Mapped[dict[str, Any] | None] = mapped_column(Json)  # rule name → replies it made
    recent_rules: Mapped[list[Any] | None] = mapped_column(Json)  # the last three, newest last
    # Rule forms and acknowledgements: {"slots": {...}, "asking": {...}, "ack": {...}} (0007).
    dialog: Mapped[dict[str, Any] | None] = mapped_column(Json)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_conversation_id_id", "conversation_id", "id"),
        Index("ix_interactions_customer_id_id", "customer_id", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    sender_role: Mapped[str] = mapped_column(String(16))  # customer | bot | agent | system
    sender_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(300))
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    quick_replies: Mapped[list[Any]] = mapped_column(default=list)
    external_message_id: Mapped[str | None] = mapped_column(String(255))
    in_reply_to_id: Mapped[int | None] = mapped_column(Id, index=True)  # outbound: which inbound
    analysis: Mapped[dict[str, Any] | None] = mapped_column()  # summary: intent, sentiment, faq
    rule: Mapped[str | None] = mapped_column(String(200))  # which rule produced an outbound
    processed_at: Mapped[datetime | None]  # inbound: when the bot finished with it
    created_at: Mapped[datetime]


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index(
            "ix_tickets_intake_pending",
            "id",
            sqlite_where=text("intake_at IS NULL"),
            postgresql_where=text("intake_at IS NULL"),
        ),
        Index("ix_tickets_assignee_status", "assignee", "status"),
        # The API's list filters, each in id order so a page is an index range (0010); the
        # PostgreSQL-only tag and text-search indexes are in ticketing/ticket_search.py.
        Index("ix_tickets_status_id", "status", "id"),
        Index("ix_tickets_queue_id", "queue", "id"),
        Index("ix_tickets_priority_id", "priority", "id"),
        Index("ix_tickets_assignee_id", "assignee", "id"),
        Index("ix_tickets_updated_at", "updated_at"),
        # the dashboard's backlog counted from the index alone (0016)
        Index("ix_tickets_status_queue_channel_created_at", "status", "queue", "channel", "created_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)  # shown as T-<number>
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    queue: Mapped[str] = mapped_column(String(64), default="support")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    assignee: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    previous_ticket_id: Mapped[int | None] = mapped_column(Id, index=True)  # follow-up of
    # NULL until ticketing/sla.py's intake has applied the SLA policy (partial index: the sweep reads
    # only the tickets it has not seen, however many tickets exist).
    intake_at: Mapped[datetime | None]
    sla_policy: Mapped[str | None] = mapped_column(String(64))
    first_reply_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_comment: Mapped[str | None] = mapped_column(Text)

    @property
    def reference(self) -> str:
        return f"T-{self.number}"


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    actor: Mapped[str] = mapped_column(String(200))  # "rule:fallback", "agent:U123", "system"
    kind: Mapped[str] = mapped_column(String(32))  # created, status, priority, note, ...
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]


class OutboxItem(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        # A Telegram button press names the message that carried the reply (0005).
        Index("ix_outbox_channel_external_id", "channel", "external_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column()  # the OutboundMessage, as JSON
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Queue(Base):
    """A team that tickets are routed to (``support``, ``tier2``)."""

    __tablename__ = "queues"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    handle: Mapped[str] = mapped_column(String(200), unique=True)  # tickets.assignee holds this
    display_name: Mapped[str | None] = mapped_column(String(200))
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    max_open: Mapped[int] = mapped_column(Integer, default=20)  # cap of unsolved tickets
    created_at: Mapped[datetime]
    # The account (ticketing/accounts.py) whose role decides what this agent may do from Slack
    # (migration 0008; no FK constraint, see there). Linked by email or accounts link-slack.
    account_id: Mapped[int | None] = mapped_column(Id)


class QueueMember(Base):
    """Who works a queue; ``last_assigned_at`` is the round-robin position."""

    __tablename__ = "queue_members"
    queue: Mapped[str] = mapped_column(ForeignKey("queues.name"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    last_assigned_at: Mapped[datetime | None]


class SlaTimer(Base):
    """One clock of one ticket: an SLA target, a warning before it, an escalation rule, the
    auto-close of a solved ticket. ``due_at`` is NULL while paused (``remaining_seconds`` then
    holds the business time left); the (state, due_at) index makes a sweep cost the number of
    due timers only."""

    __tablename__ = "sla_timers"
    __table_args__ = (
        UniqueConstraint("ticket_id", "kind", "name"),
        Index("ix_sla_timers_state_due_at", "state", "due_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[str] = mapped_column(String(16))  # target | warning | escalation | autoclose
    name: Mapped[str] = mapped_column(String(100))  # first_reply | next_reply | resolution | rule
    state: Mapped[str] = mapped_column(String(16))  # active | paused | fired | stopped | failed
    due_at: Mapped[datetime | None]
    remaining_seconds: Mapped[float | None] = mapped_column(Float)
    calendar: Mapped[str | None] = mapped_column(String(64))  # None: wall-clock time
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    fired_by: Mapped[str | None] = mapped_column(String(100))  # host:pid, for the audit


class InboundDedup(Base):
    __tablename__ = "inbound_dedup"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    interaction_id: Mapped[int | None] = mapped_column(Id)
    created_at: Mapped[datetime]


class ChannelCursor(Base):
    """Where a polling connector got to (IMAP UIDVALIDITY/UID, Telegram update offset)."""

    __tablename__ = "channel_cursors"
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column()
    updated_at: Mapped[datetime]


class Counter(Base):
    """Named counters handed out in blocks (ticket numbers): unique across processes, few writes."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class WebhookSubscription(Base):
    """Where outgoing webhooks go: config.yaml entries are synced in at start (``source``
    ``config``); a later API adds its own (``source`` ``api``). See docs/webhooks.md."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))  # whsec_<base64>
    events: Mapped[list[Any]] = mapped_column()  # event types, e.g. ["ticket.created"]
    source: Mapped[str] = mapped_column(String(16), default="config")  # config | api
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One event for one subscription: the exact body sent (so a retry is byte-identical), its
    ``webhook-id`` (``msg_id``, the same on every retry) and the delivery state. ``order_key``
    (``ticket:<id>``) holds a row back while an earlier one of the same key and subscription waits."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_id_order_key_id", "subscription_id", "order_key", "id"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(64), unique=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_type: Mapped[str] = mapped_column(String(32))
    order_key: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
