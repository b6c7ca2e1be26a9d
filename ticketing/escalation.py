"""Firing due timers: SLA breaches, warnings, escalation rules, auto-close of solved tickets.

One sweep = one transaction: claim the due timers together with their tickets in one
``SELECT ... FOR UPDATE SKIP LOCKED`` (a ticket an agent is editing right now simply waits for
the next sweep instead of deadlocking), apply every effect, and mark the timers fired. The
effects and the "fired" mark commit together, so a timer fires exactly once even when two
processes sweep or one dies mid-sweep (its transaction rolls back; the other fires it).
Breaches and warnings, the bulk, are written with one statement per kind; escalations reload
the ticket and re-check their rule against its current state, so a stale timer does nothing.
Each escalation or auto-close runs in a savepoint: one that fails is marked ``failed`` and
logged, and the rest of the sweep still commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import assignment, lifecycle, sla, timers
from ticketing.agents import ensure_queues
from ticketing.errors import TicketError
from ticketing.models import SlaTimer, Ticket
from ticketing.sla_config import EscalationRule, SlaConfig
from ticketing.ticket_rows import TicketRow, record, record_many

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
            continue
        try:
            async with conn.begin_nested():
                if timer.kind == "escalation":
                    await _escalate(conn, config, ticket, timer.name, now)
                elif timer.kind == "autoclose" and ticket["status"] == "solved":
                    await lifecycle.set_status(conn, config, ticket, "closed", "system:autoclose", now)
            fired.append(timer.id)
        except Exception:
            _LOGGER.exception(
                "timer %d (%s %s) of ticket %d failed", timer.id, timer.kind, timer.name, ticket["id"]
            )
            failed.append(timer.id)
    await record_many(conn, events, now)
    await timers.mark(conn, fired, "fired", now)
    await timers.mark(conn, failed, "failed", now)
    return SweepResult(len(fired), len(failed))


async def _escalate(
    conn: AsyncConnection, config: SlaConfig, ticket: TicketRow, name: str, now: datetime
) -> None:
    rule = next((r for r in config.escalations if r.name == name), None)
    if rule is None or not _still_applies(rule, ticket):
        return  # the rulebook changed or the ticket moved on: the timer is spent, nothing happens
    actor = f"rule:{rule.name}"
    done: list[dict[str, Any]] = []
    for action in rule.then:
        if action.set_priority is not None:
            if await lifecycle.set_priority(conn, ticket, action.set_priority, actor, now):
                await sla.on_priority_change(conn, config, ticket, now)
            done.append({"set_priority": action.set_priority})
        elif action.add_tags is not None:
            await lifecycle.set_tags(conn, ticket, actor, now, add=action.add_tags)
            done.append({"add_tags": list(action.add_tags)})
        elif action.assign_queue is not None:
            await ensure_queues(conn, [action.assign_queue], now)
            await lifecycle.set_queue(conn, ticket, action.assign_queue, actor, now)
            done.append(
                {"assign_queue": action.assign_queue, "assignee": await _try_assign(conn, ticket, actor, now)}
            )
        elif action.assign is not None:
            await lifecycle.set_assignee(conn, ticket, action.assign, actor, now)
            done.append({"assign": action.assign})
        elif action.notify is not None:
            text = action.notify.text.replace("{ticket}", f"T-{ticket['number']}").replace(
                "{subject}", ticket["subject"]
            )
            channel = "#" + action.notify.slack.lstrip("#")
            await record(conn, ticket["id"], actor, "notify", {"slack": channel, "text": text}, now)
            done.append({"notify": channel})
    await record(conn, ticket["id"], actor, "escalated", {"rule": rule.name, "actions": done}, now)


def _still_applies(rule: EscalationRule, ticket: TicketRow) -> bool:
    if ticket["status"] not in lifecycle.UNSOLVED:
        return False
    if rule.after.no_first_reply is not None and ticket["first_reply_at"] is not None:
        return False
    # Sentiment was judged at intake, from the first message; the other conditions are re-checked.
    return rule.when.model_copy(update={"sentiment": None}).matches(ticket)


async def _try_assign(conn: AsyncConnection, ticket: TicketRow, actor: str, now: datetime) -> str | None:
    try:
        return await assignment.assign_round_robin(conn, ticket, actor, now)
    except TicketError as exc:  # nobody free in the new queue: it waits there unassigned
        _LOGGER.info("T-%s: %s", ticket["number"], exc)
        return None
