"""Firing due timers: SLA breaches, warnings, escalation rules, auto-close of solved tickets.

One sweep = one transaction: claim the due timers together with their tickets in one
``SELECT ... FOR UPDATE SKIP LOCKED`` (a ticket an agent is editing right now simply waits for
the next sweep instead of deadlocking), apply every effect, and mark the timers fired. The
effects and the "fired" mark commit together, so a timer fires exactly once even when two
processes sweep or one dies mid-sweep (its transaction rolls back; the other fires it).
Breaches and warnings, the bulk, are written with one statement per kind. Escalations re-check
their rule against the locked ticket, so a stale timer does nothing, and are applied together:
priority, tags and notifications for all of them in Python, then one statement per kind of
write (and the SLA clocks of every re-prioritized ticket at once); queue moves and their
round-robin picks go queue by queue, and only ``assign`` (a named agent) runs ticket by ticket,
in a savepoint (one that fails is logged and recorded on the ``escalated`` event; the rest of
the escalation stands). An
escalation whose rule cannot be applied (a closed ticket) and an auto-close that fails are
marked ``failed``; the rest of the sweep still commits. Auto-closes are applied together too
(:func:`~ticketing.lifecycle.close_solved`), and one by one in savepoints only if that fails.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import assignment, lifecycle, sla, timers
from ticketing.agents import ensure_queues
from ticketing.errors import TicketError
from ticketing.models import SlaTimer, Ticket
from ticketing.sla_config import EscalationRule, SlaConfig
from ticketing.ticket_rows import TicketRow, record_many

__all__ = ["SweepResult", "fire_due"]

_LOGGER = logging.getLogger(__name__)


# Claim due timers *and* lock their tickets in one statement: a row whose timer or ticket is
# locked by another transaction (another process, an agent's edit) is skipped, not waited for.
_CLAIM = (
    select(
        SlaTimer.id.label("t_id"), SlaTimer.kind.label("t_kind"), SlaTimer.name.label("t_name"),
        SlaTimer.due_at.label("t_due_at"), Ticket.__table__,
    )
    .join(Ticket, Ticket.id == SlaTimer.ticket_id)
    .where(SlaTimer.state == "active", SlaTimer.due_at <= bindparam("now"))
    .order_by(SlaTimer.due_at)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SweepResult:
    fired: int = 0
    failed: int = 0


async def fire_due(
    conn: AsyncConnection, config: SlaConfig, now: datetime, *, limit: int = 500
) -> SweepResult:
    claimed = (await conn.execute(_CLAIM, {"now": now, "limit": limit})).mappings().all()
    if not claimed:
        return SweepResult()
    due = [timers.DueTimer(r["t_id"], r["id"], r["t_kind"], r["t_name"], r["t_due_at"]) for r in claimed]
    locked = {r["id"]: {k: v for k, v in r.items() if not k.startswith("t_")} for r in claimed}
    events: list[tuple[int, str, str, dict[str, Any]]] = []
    escalating: list[tuple[timers.DueTimer, TicketRow, EscalationRule]] = []
    closing: list[tuple[timers.DueTimer, TicketRow]] = []
    fired: list[int] = []
    failed: list[int] = []
    for timer in due:
        ticket = locked[timer.ticket_id]
        if timer.kind in ("target", "warning"):
            kind = "sla_breach" if timer.kind == "target" else "sla_warning"
            events.append(
                (ticket["id"], "system", kind, {"target": timer.name, "due_at": timer.due_at.isoformat()})
            )
            fired.append(timer.id)
        elif timer.kind == "escalation":
            rule = next((r for r in config.escalations if r.name == timer.name), None)
            if rule is None or not _still_applies(rule, ticket):
                fired.append(timer.id)  # the rulebook changed or the ticket moved on: spent, no effect
            else:
                escalating.append((timer, ticket, rule))
        elif timer.kind == "autoclose" and ticket["status"] == "solved":
            closing.append((timer, ticket))
        else:
            fired.append(timer.id)  # reopened or closed meanwhile: spent, no effect
    await _autoclose(conn, config, closing, events, fired, failed, now)
    done, refused = await _escalate(conn, config, escalating, events, now)
    await record_many(conn, events, now)
    await timers.mark(conn, [*fired, *done], "fired", now)
    await timers.mark(conn, [*failed, *refused], "failed", now)
    return SweepResult(len(fired) + len(done), len(failed) + len(refused))


async def _autoclose(
    conn: AsyncConnection,
    config: SlaConfig,
    closing: list[tuple[timers.DueTimer, TicketRow]],
    events: list[tuple[int, str, str, dict[str, Any]]],
    fired: list[int],
    failed: list[int],
    now: datetime,
) -> None:
    """Close the solved tickets whose auto-close is due, all at once; if that fails, one by one
    in savepoints, so one ticket that cannot close is marked failed and the rest still close."""
    if not closing:
        return
    try:
        async with conn.begin_nested():
            events += await lifecycle.close_solved(conn, [t for _, t in closing], "system:autoclose", now)
        fired += [timer.id for timer, _ in closing]
        return
    except Exception:
        _LOGGER.warning("auto-closing %d tickets together failed; closing them one by one", len(closing))
    for timer, ticket in closing:
        try:
            async with conn.begin_nested():
                await lifecycle.set_status(conn, config, ticket, "closed", "system:autoclose", now)
            fired.append(timer.id)
        except Exception:
            _LOGGER.exception("timer %d (%s) of ticket %d failed", timer.id, timer.kind, ticket["id"])
            failed.append(timer.id)


_SET_FIELDS = (
    update(Ticket)
    .where(Ticket.id == bindparam("b_id"))
    .values(priority=bindparam("b_priority"), tags=bindparam("b_tags"), updated_at=bindparam("b_now"))
)


async def _escalate(
    conn: AsyncConnection,
    config: SlaConfig,
    escalating: list[tuple[timers.DueTimer, TicketRow, EscalationRule]],
    events: list[tuple[int, str, str, dict[str, Any]]],
    now: datetime,
) -> tuple[list[int], list[int]]:
    """Apply the escalations; returns the timers that fired and those that failed. Their
    ``priority``/``tags``/``notify`` events go to ``events``, in the order the rule lists them."""
    fired: list[int] = []
    refused: list[int] = []
    applied: list[tuple[TicketRow, EscalationRule, list[dict[str, Any]]]] = []
    changed: dict[int, TicketRow] = {}
    reprioritized: list[TicketRow] = []
    for timer, ticket, rule in escalating:
        actor, before = f"rule:{rule.name}", dict(ticket)
        mine: list[tuple[int, str, str, dict[str, Any]]] = []
        done: list[dict[str, Any]] = []
        try:
            for action in rule.then:
                if action.set_priority is not None:
                    change = lifecycle.priority_change(ticket, action.set_priority)
                    if change is not None:
                        mine.append((ticket["id"], actor, "priority", change))
                        ticket["priority"] = action.set_priority
                    done.append({"set_priority": action.set_priority})
                elif action.add_tags is not None:
                    tagged = lifecycle.tags_change(ticket, add=action.add_tags)
                    if tagged is not None:
                        mine.append((ticket["id"], actor, "tags", tagged[0]))
                        ticket["tags"] = tagged[1]
                    done.append({"add_tags": list(action.add_tags)})
                elif action.notify is not None:
                    text = action.notify.text.replace("{ticket}", f"T-{ticket['number']}").replace(
                        "{subject}", ticket["subject"]
                    )
                    channel = "#" + action.notify.slack.lstrip("#")
                    mine.append((ticket["id"], actor, "notify", {"slack": channel, "text": text}))
                    done.append({"notify": channel})
        except TicketError as exc:
            _LOGGER.error("escalation %s of T-%s not applied: %s", rule.name, ticket["number"], exc)
            ticket.clear()
            ticket.update(before)
            refused.append(timer.id)
            continue
        events += mine
        fired.append(timer.id)
        applied.append((ticket, rule, done))
        if (ticket["priority"], ticket["tags"]) != (before["priority"], before["tags"]):
            ticket["updated_at"] = now
            changed[ticket["id"]] = ticket
        if ticket["priority"] != before["priority"]:
            reprioritized.append(ticket)
    if changed:
        await conn.execute(
            _SET_FIELDS,
            [{"b_id": i, "b_priority": t["priority"], "b_tags": list(t["tags"] or []), "b_now": now}
             for i, t in changed.items()],
        )  # fmt: skip
    await sla.on_priority_change(conn, config, reprioritized, now)
    await _reroute(conn, applied, events, now)
    for ticket, rule, done in applied:
        events.append((ticket["id"], f"rule:{rule.name}", "escalated", {"rule": rule.name, "actions": done}))
    return fired, refused


_MOVE = (
    update(Ticket)
    .where(Ticket.id == bindparam("b_id"))
    .values(
        queue=bindparam("b_queue"),
        assignee=bindparam("b_assignee"),
        status=bindparam("b_status"),
        updated_at=bindparam("b_now"),
    )
)


async def _reroute(
    conn: AsyncConnection,
    applied: list[tuple[TicketRow, EscalationRule, list[dict[str, Any]]]],
    events: list[tuple[int, str, str, dict[str, Any]]],
    now: datetime,
) -> None:
    """The rules' ``assign_queue`` actions for all tickets at once: each queue's moves and
    round-robin picks in one go (what set_queue and assign_round_robin do one by one); ``assign``
    (a named agent, rare) ticket by ticket."""
    by_queue: dict[str, list[tuple[TicketRow, str, list[dict[str, Any]]]]] = {}
    named: list[tuple[TicketRow, str, str, list[dict[str, Any]]]] = []
    for ticket, rule, done in applied:
        for action in rule.then:
            if action.assign_queue is not None:
                by_queue.setdefault(action.assign_queue, []).append((ticket, f"rule:{rule.name}", done))
            elif action.assign is not None:
                named.append((ticket, f"rule:{rule.name}", action.assign, done))
    await ensure_queues(conn, by_queue, now)
    moved: dict[int, TicketRow] = {}
    for queue, items in by_queue.items():
        for ticket, actor, _done in items:
            _stage(ticket, actor, lifecycle.queue_change(ticket, queue), events, moved)
        try:
            picks = await assignment.pick_agents(conn, queue, len(items), now)
        except TicketError as exc:  # nobody free in the new queue: the tickets wait there unassigned
            _LOGGER.info("escalation to %s: %s", queue, exc)
            picks = [None] * len(items)
        for (ticket, actor, done), handle in zip(items, picks, strict=True):
            if handle is not None:
                _stage(ticket, actor, lifecycle.assignee_change(ticket, handle), events, moved)
            done.append({"assign_queue": queue, "assignee": handle})
    if moved:
        await conn.execute(
            _MOVE,
            [{"b_id": i, "b_queue": t["queue"], "b_assignee": t["assignee"], "b_status": t["status"],
              "b_now": now} for i, t in moved.items()],
        )  # fmt: skip
    await record_many(conn, events, now)  # before the named assignments' own events: the trail keeps order
    events.clear()
    for ticket, actor, handle, done in named:
        try:
            async with conn.begin_nested():
                await lifecycle.set_assignee(conn, ticket, handle, actor, now)
            done.append({"assign": handle})
        except TicketError as exc:
            _LOGGER.error("escalation of T-%s: %s", ticket["number"], exc)
            done.append({"assign": handle, "error": str(exc)})


def _stage(
    ticket: TicketRow,
    actor: str,
    change: lifecycle.Change,
    events: list[tuple[int, str, str, dict[str, Any]]],
    moved: dict[int, TicketRow],
) -> None:
    """Take a lifecycle change into the batch: its events, and the ticket to write back."""
    found, values = change
    if values:
        events += [(ticket["id"], actor, kind, data) for kind, data in found]
        ticket.update(values)
        moved[ticket["id"]] = ticket


def _still_applies(rule: EscalationRule, ticket: TicketRow) -> bool:
    if ticket["status"] not in lifecycle.UNSOLVED:
        return False
    if rule.after.no_first_reply is not None and ticket["first_reply_at"] is not None:
        return False
    # Sentiment and complaint were judged at intake, from the first message; the other
    # conditions are re-checked.
    return rule.when.model_copy(update={"sentiment": None, "complaint": None}).matches(ticket)
