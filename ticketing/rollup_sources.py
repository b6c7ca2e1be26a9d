"""What one batch of rows adds to the hourly and daily rollups, counted where the job reads them.

:mod:`ticketing.rollups` hands over the range of message ids and the ticket events after its
cursors, and a connection of the batch's own (synchronous: on SQLite these run in the rollups'
reading process, :mod:`ticketing.off_loop_reads`). The messages are counted by the database,
grouped by hour, channel and what their analysis says, so a batch's rows never reach Python; the
events are counted here, reading what they need (a ticket's row, earlier events of the same
ticket, its SLA timers) through indexes, never scanning. Every figure depends only on rows that
do not change once written (ids, times, the audit trail), so counting a row once, when the
cursor passes it, gives the same totals whenever the job runs. The metrics (``rollup_models.METRICS``):

- Conversations: counted in the hour of their first customer message (an interaction is a
  conversation start iff it is the conversation's lowest inbound id).
- Containment: ``conversations_ticketed`` is +1 when the *first* ticket of a conversation is
  created, in the hour (and channel) of that conversation's first customer message. A contained
  conversation is one with customer messages and no ticket so far; the dashboard reports
  ``conversations - conversations_ticketed`` per start hour. A recent hour's containment may
  therefore drop later, when one of its conversations escalates.
- Tickets: ``tickets_opened`` on ``created`` (queue from the event); ``tickets_solved`` and the
  ``resolution`` bucket on a ticket's first status change to solved or closed (re-solving a
  reopened ticket does not count again); ``first_response`` on its first ``reply`` event. Ticket
  metrics carry the ticket's channel and its queue as the job reads it (seconds after the event).
- SLA: ``sla_breached`` per ``sla_breach`` event (a target timer fired); ``sla_met`` at the
  ticket's first solve, per target timer of the ticket with no breach event before the solve.
- CSAT: per ``csat`` event (a rating is recorded once per ticket, ``ticketing/csat.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, text

from ticketing.models import Conversation, Interaction, SlaTimer, Ticket, TicketEvent
from ticketing.rollup_models import day_of, duration_bucket, hour_of, intent_key

__all__ = ["FALLBACK_RULES", "Counts", "count_events", "count_interactions", "is_unanswered"]

# The built-in rules that answer what nothing else did (rules/loader.py BUILTIN_RULES).
FALLBACK_RULES = frozenset({"fallback", "fallback_existing_ticket"})
SENTIMENTS = frozenset({"negative", "neutral", "positive"})
_RESOLVED = frozenset({"solved", "closed"})
_EVENT_KINDS = ("created", "reply", "status", "sla_breach", "csat")

CountKey = tuple[str, datetime, str, str, str]  # metric, hour, channel, queue, key


class Counts:
    """Increments keyed like ``report_hourly``'s primary key."""

    def __init__(self) -> None:
        self.values: Counter[CountKey] = Counter()

    def add(
        self, metric: str, moment: datetime, channel: str, queue: str = "", key: str = "", *, n: int = 1
    ) -> None:
        self.values[(metric, hour_of(moment), channel[:32], queue[:64], key[:64])] += n

    def rows(self) -> list[dict[str, Any]]:
        """The increments as ``report_hourly`` upsert rows, in key order (one lock order on PostgreSQL)."""
        return [
            {"metric": m, "hour": h, "channel": c, "queue": q, "key": k, "value": v}
            for (m, h, c, q, k), v in sorted(self.values.items())
        ]

    def daily_rows(self) -> list[dict[str, Any]]:
        """The same increments summed per UTC day, as ``report_daily`` upsert rows, in key order."""
        days: Counter[CountKey] = Counter()
        for (m, h, c, q, k), v in self.values.items():
            days[(m, day_of(h), c, q, k)] += v
        return [
            {"metric": m, "day": d, "channel": c, "queue": q, "key": k, "value": v}
            for (m, d, c, q, k), v in sorted(days.items())
        ]


def is_unanswered(analysis: object) -> bool:
    """Out of scope, or answered by the fallback rule: what the bot could not handle."""
    if not isinstance(analysis, dict):
        return False
    return analysis.get("out_of_scope") is True or analysis.get("rule") in FALLBACK_RULES


def count_interactions(conn: Connection, after: int, upto: int, counts: Counts) -> None:
    """The customer messages with ids in ``(after, upto]``, counted by the database: only their
    groups (tens a batch) reach Python, not a row each with its analysis."""
    if upto <= after:
        return
    rows = conn.execute(_MESSAGE_GROUPS[conn.dialect.name], {"after": after, "upto": upto})
    for hour, channel, label, complaint, intent, unanswered, first, n in rows:
        moment = _hour(hour)
        counts.add("messages_in", moment, channel, n=n)
        if first:
            counts.add("conversations", moment, channel, n=n)
        if label in SENTIMENTS:
            counts.add("sentiment", moment, channel, key=label, n=n)
        if complaint:
            counts.add("complaints", moment, channel, n=n)
        if key := intent_key(intent):
            counts.add("intent", moment, channel, key=key, n=n)
        if unanswered:
            counts.add("unanswered", moment, channel, n=n)


def _hour(value: datetime | str) -> datetime:
    """The hour a message group's SQL gives: a datetime (PostgreSQL) or ``YYYY-MM-DD HH`` (SQLite)."""
    if isinstance(value, datetime):
        return value
    return datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=UTC)


# Per customer message, what ``is_unanswered`` and the analysis say, grouped by the hour, channel
# and answers; ``first`` is whether no earlier customer message shares its conversation (its
# conversation starts there; ``ix_interactions_conversation_id_id``). A JSON value of the wrong
# type counts as absent, as in Python.
_FALLBACKS = ", ".join(f"'{rule}'" for rule in sorted(FALLBACK_RULES))
_GROUPED = """
FROM interactions AS i WHERE i.id > :after AND i.id <= :upto AND i.direction = 'in'
GROUP BY 1, 2, 3, 4, 5, 6, 7"""
_FIRST = """NOT EXISTS (SELECT 1 FROM interactions AS j
    WHERE j.conversation_id = i.conversation_id AND j.direction = 'in' AND j.id < i.id)"""
_MESSAGE_GROUPS = {
    "sqlite": text(f"""SELECT substr(i.created_at, 1, 13), i.channel,
    CASE WHEN json_type(i.analysis, '$.sentiment.label') = 'text'
         THEN json_extract(i.analysis, '$.sentiment.label') END,
    coalesce(json_type(i.analysis, '$.complaint.is') = 'true', 0),
    CASE WHEN json_type(i.analysis, '$.intent') = 'text' THEN json_extract(i.analysis, '$.intent') END,
    coalesce(json_type(i.analysis, '$.out_of_scope') = 'true', 0)
        OR coalesce(json_extract(i.analysis, '$.rule') IN ({_FALLBACKS}), 0),
    {_FIRST}, count(*) {_GROUPED}"""),
    "postgresql": text(f"""SELECT date_trunc('hour', i.created_at, 'UTC'), i.channel,
    CASE WHEN jsonb_typeof(i.analysis -> 'sentiment' -> 'label') = 'string'
         THEN i.analysis -> 'sentiment' ->> 'label' END,
    coalesce(i.analysis -> 'complaint' -> 'is' = 'true'::jsonb, false),
    CASE WHEN jsonb_typeof(i.analysis -> 'intent') = 'string' THEN i.analysis ->> 'intent' END,
    coalesce(i.analysis -> 'out_of_scope' = 'true'::jsonb, false)
        OR coalesce(i.analysis ->> 'rule' IN ({_FALLBACKS}), false),
    {_FIRST}, count(*) {_GROUPED}"""),
}


def count_events(conn: Connection, events: Sequence[Any], counts: Counts) -> None:
    """Rows with ``id, ticket_id, kind, data, created_at``."""
    wanted = [e for e in events if e.kind in _EVENT_KINDS]
    if not wanted:
        return
    ids = sorted({e.ticket_id for e in wanted})
    tickets = {
        row.id: row
        for row in conn.execute(
            select(Ticket.id, Ticket.channel, Ticket.queue, Ticket.created_at, Ticket.conversation_id).where(
                Ticket.id.in_(ids)
            )
        )
    }
    later = [e for e in wanted if e.kind in ("reply", "status")]
    history = _history(conn, {e.ticket_id for e in later}, max(e.id for e in wanted))
    solved_first = {e.id: e.ticket_id for e in later if _first_resolution(e, history)}
    targets = _targets(solved_first.values(), conn)
    escalated = _escalated(conn, [e for e in wanted if e.kind == "created"], tickets)
    for e in wanted:
        t = tickets.get(e.ticket_id)
        if t is None:
            continue
        data = e.data if isinstance(e.data, dict) else {}
        if e.kind == "created":
            counts.add("tickets_opened", e.created_at, t.channel, str(data.get("queue") or t.queue))
            if (start := escalated.get(t.id)) is not None:
                counts.add("conversations_ticketed", start[0], start[1])
        elif e.kind == "reply":
            if not any(h.kind == "reply" and h.id < e.id for h in history.get(t.id, ())):
                seconds = (e.created_at - t.created_at).total_seconds()
                counts.add("first_response", e.created_at, t.channel, t.queue, duration_bucket(seconds))
        elif e.kind == "status":
            if e.id in solved_first:
                seconds = (e.created_at - t.created_at).total_seconds()
                counts.add("tickets_solved", e.created_at, t.channel, t.queue)
                counts.add("resolution", e.created_at, t.channel, t.queue, duration_bucket(seconds))
                breached = {
                    (h.data or {}).get("target")
                    for h in history.get(t.id, ())
                    if h.kind == "sla_breach" and h.id < e.id
                }
                for name in sorted(targets.get(t.id, set()) - breached):
                    counts.add("sla_met", e.created_at, t.channel, t.queue, name)
        elif e.kind == "sla_breach":
            counts.add("sla_breached", e.created_at, t.channel, t.queue, str(data.get("target") or ""))
        elif e.kind == "csat" and data.get("score") in (1, 2, 3, 4, 5):
            counts.add("csat", e.created_at, t.channel, t.queue, str(data["score"]))


def _first_resolution(event: Any, history: dict[int, list[Any]]) -> bool:
    if event.kind != "status" or (event.data or {}).get("to") not in _RESOLVED:
        return False
    return not any(
        h.kind == "status" and h.id < event.id and (h.data or {}).get("to") in _RESOLVED
        for h in history.get(event.ticket_id, ())
    )


def _history(conn: Connection, ticket_ids: Iterable[int], upto: int) -> dict[int, list[Any]]:
    """The reply, status and breach events of these tickets up to ``upto`` (by ticket_id index)."""
    wanted = sorted(ticket_ids)
    out: dict[int, list[Any]] = {}
    if not wanted:
        return out
    stmt = select(TicketEvent.id, TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.data).where(
        TicketEvent.ticket_id.in_(wanted),
        TicketEvent.kind.in_(("reply", "status", "sla_breach")),
        TicketEvent.id <= upto,
    )
    for row in conn.execute(stmt):
        out.setdefault(row.ticket_id, []).append(row)
    return out


def _targets(ticket_ids: Iterable[int], conn: Connection) -> dict[int, set[str]]:
    """The names of each ticket's SLA target timers (first_reply, next_reply, resolution)."""
    wanted = sorted(ticket_ids)
    out: dict[int, set[str]] = {}
    if wanted:
        stmt = select(SlaTimer.ticket_id, SlaTimer.name).where(
            SlaTimer.ticket_id.in_(wanted), SlaTimer.kind == "target"
        )
        for ticket_id, name in conn.execute(stmt):
            out.setdefault(ticket_id, set()).add(name)
    return out


def _escalated(
    conn: Connection, created: Sequence[Any], tickets: dict[int, Any]
) -> dict[int, tuple[datetime, str]]:
    """For each created ticket that is its conversation's first: when and on which channel that
    conversation started (its first customer message); tickets of conversations without one
    are left out, so containment never goes below zero."""
    conversations = {
        tickets[e.ticket_id].conversation_id
        for e in created
        if e.ticket_id in tickets and tickets[e.ticket_id].conversation_id is not None
    }
    if not conversations:
        return {}
    stmt = (
        select(Ticket.conversation_id, func.min(Ticket.id))
        .where(Ticket.conversation_id.in_(sorted(conversations)))
        .group_by(Ticket.conversation_id)
    )
    first_ticket = {conversation: ticket for conversation, ticket in conn.execute(stmt)}
    firsts = _first_inbound(conn, conversations)
    starts = {}
    if firsts:
        stmt2 = select(Interaction.id, Interaction.created_at, Interaction.channel).where(
            Interaction.id.in_(sorted(firsts.values()))
        )
        starts = {row.id: (row.created_at, row.channel) for row in conn.execute(stmt2)}
    out = {}
    for conversation, ticket in first_ticket.items():
        first = firsts.get(conversation) if conversation is not None else None
        if first is not None and first in starts:
            out[ticket] = starts[first]
    return out


def _first_inbound(conn: Connection, conversation_ids: Iterable[int]) -> dict[int, int]:
    """Each conversation's first customer message id (``ix_interactions_conversation_id_id``)."""
    first = (
        select(Interaction.id)
        .where(Interaction.conversation_id == Conversation.id, Interaction.direction == "in")
        .order_by(Interaction.id)
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )
    stmt = select(Conversation.id, first).where(Conversation.id.in_(sorted(conversation_ids)))
    return {conversation: int(i) for conversation, i in conn.execute(stmt) if i is not None}
