"""Ticket states and every field change, with Zendesk's semantics, inside the caller's transaction.

Statuses: ``new`` (nobody has touched it; never re-entered) → ``open`` (being worked) ⇄
``pending`` (waiting for the customer) / ``on-hold`` (waiting for a third party) → ``solved``
→ ``closed`` (final: a customer reply opens a follow-up ticket linked to it). SLA clocks pause
while pending/on-hold and resume on the way back; solving stops them and starts the auto-close
timer (the rating is asked after the rules' solve message: ``EventBatch.ask_csat``); closing
hands the conversation to the next ticket.
Each change writes its audit event with the actor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import timers
from ticketing.errors import InvalidTransition, InvalidValue, UnknownAgent, UnknownQueue
from ticketing.models import Agent, Conversation, Queue, Ticket
from ticketing.sla_config import SlaConfig
from ticketing.ticket_rows import TicketRow, record, record_many

__all__ = [
    "PRIORITIES",
    "STATUSES",
    "UNSOLVED",
    "assignee_change",
    "close_solved",
    "priority_change",
    "queue_change",
    "set_assignee",
    "set_priority",
    "set_queue",
    "set_status",
    "set_tags",
    "tags_change",
]

STATUSES = ("new", "open", "pending", "on-hold", "solved", "closed")
UNSOLVED = ("new", "open", "pending", "on-hold")
PRIORITIES = ("low", "normal", "high", "urgent")
_WAITING = ("pending", "on-hold")
_ALLOWED: dict[str, tuple[str, ...]] = {
    "new": ("open", "pending", "on-hold", "solved"),
    "open": ("pending", "on-hold", "solved"),
    "pending": ("open", "on-hold", "solved"),
    "on-hold": ("open", "pending", "solved"),
    "solved": ("open", "closed"),
    "closed": (),
}


async def _update(conn: AsyncConnection, ticket: TicketRow, now: datetime, **values: Any) -> None:
    await conn.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(updated_at=now, **values))
    ticket.update(values, updated_at=now)


async def set_status(
    conn: AsyncConnection, config: SlaConfig, ticket: TicketRow, to: str, actor: str, now: datetime
) -> bool:
    """Move the ticket to ``to``; returns False if it already was there.

    Raises:
        InvalidTransition: the move is not allowed (e.g. solved → new, anything out of closed).
    """
    current = ticket["status"]
    if to not in STATUSES:
        raise InvalidValue(f"unknown status {to!r}; use one of {', '.join(STATUSES)}")
    if to == current:
        return False
    if to not in _ALLOWED[current]:
        hint = (
            "a closed ticket is final; the customer's next message opens a follow-up"
            if current == "closed"
            else f"from {current} it can go to {', '.join(_ALLOWED[current])}"
        )
        raise InvalidTransition(f"T-{ticket['number']} cannot go from {current} to {to}: {hint}")
    values: dict[str, Any] = {"status": to}
    if to == "solved":
        values["solved_at"] = now
    if to == "open" and current == "solved":
        values["solved_at"] = None
    if to == "closed":
        values["closed_at"] = now
    await _update(conn, ticket, now, **values)
    await record(conn, ticket["id"], actor, "status", {"from": current, "to": to}, now)
    calendars = config.calendars
    if to in _WAITING and current not in _WAITING:
        await timers.pause(conn, ticket["id"], calendars, now)
    elif current in _WAITING and to not in _WAITING:
        await timers.resume(conn, ticket["id"], calendars, now)
    if to == "solved":
        await timers.stop(conn, ticket["id"], kinds=timers.PAUSABLE)
        due = now + timedelta(seconds=config.settings.autoclose_after)
        await timers.start(conn, ticket["id"], [timers.TimerSpec("autoclose", "autoclose", due)], now)
    elif current == "solved":  # reopened: it will not close by itself any more
        await timers.stop(conn, ticket["id"], kinds=("autoclose",))
    if to == "closed":
        await timers.stop(conn, ticket["id"])
        await _release_conversations(conn, [ticket])
    return True


async def close_solved(
    conn: AsyncConnection, tickets: Sequence[TicketRow], actor: str, now: datetime
) -> list[tuple[int, str, str, dict[str, Any]]]:
    """:func:`set_status` to ``closed`` for many solved tickets (the sweep's auto-close), one
    statement per kind of write; returns their ``status`` events for the caller to record.

    Why not ``set_status`` in a loop: about seven statements per ticket, and on SQLite the
    sweep's transaction holds the connection every chat is written through.
    """
    for ticket in tickets:
        if ticket["status"] != "solved":
            raise InvalidTransition(f"T-{ticket['number']} is {ticket['status']}, not solved")
    if not tickets:
        return []
    await conn.execute(_CLOSE, [{"b_id": t["id"], "b_now": now} for t in tickets])
    await timers.stop_many(conn, [t["id"] for t in tickets])
    await _release_conversations(conn, tickets)
    for ticket in tickets:
        ticket.update(status="closed", closed_at=now, updated_at=now)
    return [(t["id"], actor, "status", {"from": "solved", "to": "closed"}) for t in tickets]


_CLOSE = (
    update(Ticket)
    .where(Ticket.id == bindparam("b_id"))
    .values(status="closed", closed_at=bindparam("b_now"), updated_at=bindparam("b_now"))
)
_RELEASE = (
    update(Conversation)
    .where(Conversation.id == bindparam("b_conversation"), Conversation.open_ticket_id == bindparam("b_id"))
    .values(
        open_ticket_id=None, open_ticket_number=None, previous_ticket_id=bindparam("b_id"), handed_off=False
    )
)


async def _release_conversations(conn: AsyncConnection, tickets: Sequence[TicketRow]) -> None:
    """The conversations stop feeding these tickets; their next ticket will be a follow-up, and
    the bot answers again (the hand-off belonged to the closed ticket)."""
    released = [
        {"b_id": t["id"], "b_conversation": t["conversation_id"]} for t in tickets if t["conversation_id"]
    ]
    if released:
        await conn.execute(_RELEASE, released)


def priority_change(ticket: TicketRow, priority: str) -> dict[str, Any] | None:
    """The ``priority`` event's data for this change, or None if nothing changes; writes nothing,
    so the sweep can apply many at once (:func:`set_priority` applies one)."""
    if priority not in PRIORITIES:
        raise InvalidValue(f"unknown priority {priority!r}; use one of {', '.join(PRIORITIES)}")
    _not_closed(ticket)
    if ticket["priority"] == priority:
        return None
    return {"from": ticket["priority"], "to": priority}


async def set_priority(
    conn: AsyncConnection, ticket: TicketRow, priority: str, actor: str, now: datetime
) -> bool:
    change = priority_change(ticket, priority)
    if change is None:
        return False
    await record(conn, ticket["id"], actor, "priority", change, now)
    await _update(conn, ticket, now, priority=priority)
    return True


async def set_queue(conn: AsyncConnection, ticket: TicketRow, queue: str, actor: str, now: datetime) -> bool:
    """Move to another queue; the assignee is cleared (they may not work that queue)."""
    _not_closed(ticket)
    known = (await conn.execute(select(Queue.name).where(Queue.name == queue))).scalar()
    if known is None:
        names = (await conn.execute(select(Queue.name).order_by(Queue.name))).scalars().all()
        raise UnknownQueue(f"unknown queue {queue!r}; configured queues: {', '.join(names) or 'none'}")
    return await _apply(conn, ticket, actor, now, queue_change(ticket, queue))


Change = tuple[list[tuple[str, dict[str, Any]]], dict[str, Any]]
"""What a change writes: its events (kind, data) in order, and the ticket's new column values."""


async def _apply(conn: AsyncConnection, ticket: TicketRow, actor: str, now: datetime, change: Change) -> bool:
    events, values = change
    if not values:
        return False
    await record_many(conn, [(ticket["id"], actor, kind, data) for kind, data in events], now)
    await _update(conn, ticket, now, **values)
    return True


def queue_change(ticket: TicketRow, queue: str) -> Change:
    """Moving to ``queue`` (the assignee is cleared: they may not work there); nothing if the
    ticket is there already. Writes nothing, so the sweep can move many at once."""
    _not_closed(ticket)
    if ticket["queue"] == queue:
        return [], {}
    events: list[tuple[str, dict[str, Any]]] = [("queue", {"from": ticket["queue"], "to": queue})]
    values: dict[str, Any] = {"queue": queue}
    if ticket["assignee"] is not None:
        events.append(("assignee", {"from": ticket["assignee"], "to": None}))
        values["assignee"] = None
    return events, values


def assignee_change(ticket: TicketRow, handle: str | None) -> Change:
    """Assigning ``handle`` (None: unassigning); a new ticket becomes open when assigned.
    Writes nothing and does not check that the agent exists (:func:`set_assignee` does)."""
    _not_closed(ticket)
    if ticket["assignee"] == handle:
        return [], {}
    events: list[tuple[str, dict[str, Any]]] = [("assignee", {"from": ticket["assignee"], "to": handle})]
    values: dict[str, Any] = {"assignee": handle}
    if handle is not None and ticket["status"] == "new":
        events.append(("status", {"from": "new", "to": "open"}))
        values["status"] = "open"
    return events, values


async def set_tags(
    conn: AsyncConnection,
    ticket: TicketRow,
    actor: str,
    now: datetime,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    caused_by: Sequence[str] = (),
) -> bool:
    """Add and remove tags. ``caused_by``: the chain of rules behind a rule's change, kept on the
    event so the rule engine's loop guards see it when the change triggers rules in turn."""
    change = tags_change(ticket, add=add, remove=remove)
    if change is None:
        return False
    data, new = change
    if caused_by:
        data["caused_by"] = list(caused_by)
    await record(conn, ticket["id"], actor, "tags", data, now)
    await _update(conn, ticket, now, tags=new)
    return True


def tags_change(
    ticket: TicketRow, *, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> tuple[dict[str, Any], list[str]] | None:
    """The ``tags`` event's data and the new tags, or None if nothing changes; writes nothing."""
    _not_closed(ticket)
    added, removed = [t.strip() for t in add], [t.strip() for t in remove]
    if any(not t for t in (*added, *removed)):
        raise InvalidValue("tags must not be empty")
    old = list(ticket["tags"] or [])
    new = [t for t in old if t not in removed] + [t for t in dict.fromkeys(added) if t not in old]
    if new == old:
        return None
    return {"added": [t for t in new if t not in old], "removed": [t for t in old if t not in new]}, new


async def set_assignee(
    conn: AsyncConnection, ticket: TicketRow, handle: str | None, actor: str, now: datetime
) -> bool:
    """Assign to an agent (or unassign with None); a new ticket becomes open when assigned."""
    _not_closed(ticket)
    if handle is not None:
        found = (await conn.execute(select(Agent.id).where(Agent.handle == handle))).scalar()
        if found is None:
            raise UnknownAgent(
                f"unknown agent {handle!r} (add it with `frontdesk tickets agent-add {handle} --queue QUEUE`)"
            )
    return await _apply(conn, ticket, actor, now, assignee_change(ticket, handle))


def _not_closed(ticket: TicketRow) -> None:
    if ticket["status"] == "closed":
        raise InvalidTransition(
            f"T-{ticket['number']} is closed and cannot change; the customer's next message opens a follow-up"
        )
