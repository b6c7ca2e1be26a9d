"""The ticket desk: what operators and agents do to tickets, one transaction per operation.

Each method locks the ticket, applies the change through :mod:`ticketing.lifecycle` (which
writes the audit event with the actor), lets :mod:`ticketing.sla` start or stop clocks, and
commits, or raises a :class:`~ticketing.errors.TicketError` and writes nothing. Messages to the
customer (agent replies, the CSAT question sent on solve) are queued in the outbox in the same
transaction; ``wake_outbox`` is called after the commit so they leave at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing import assignment, lifecycle, outbound, sla, timers
from ticketing.errors import InvalidTransition, InvalidValue
from ticketing.models import Agent, Ticket, TicketEvent
from ticketing.sla_config import SlaConfig
from ticketing.ticket_rows import TicketRow, load, record, record_many
from ticketing.time import utcnow

__all__ = ["TicketChange", "TicketDesk", "TicketFilter", "apply_change"]


@dataclass(frozen=True, slots=True)
class TicketFilter:
    status: Sequence[str] = ()
    queue: str | None = None
    assignee: str | None = None
    customer_id: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketChange:
    """Several field changes made together (the API's PATCH): all or none. ``assignee`` is
    only applied when ``set_assignee`` (so that None can mean "unassign")."""

    status: str | None = None
    priority: str | None = None
    queue: str | None = None
    set_assignee: bool = False
    assignee: str | None = None
    add_tags: Sequence[str] = ()
    remove_tags: Sequence[str] = ()


async def apply_change(
    conn: AsyncConnection,
    config: SlaConfig,
    ticket: TicketRow,
    change: TicketChange,
    actor: str,
    now: datetime,
) -> None:
    """Apply ``change`` inside the caller's transaction: queue first (it clears the assignee),
    then the assignee, priority, tags, and the status last (solving asks for a rating).
    :meth:`TicketDesk.update` and Slack's idempotent edits (``ticketing/slack_threads.py``) use it."""
    if change.queue is not None:
        await lifecycle.set_queue(conn, ticket, change.queue, actor, now)
    if change.set_assignee:
        await lifecycle.set_assignee(conn, ticket, change.assignee, actor, now)
    if change.priority is not None and await lifecycle.set_priority(
        conn, ticket, change.priority, actor, now
    ):
        await sla.on_priority_change(conn, config, [ticket], now)
    if change.add_tags or change.remove_tags:
        await lifecycle.set_tags(conn, ticket, actor, now, add=change.add_tags, remove=change.remove_tags)
    if change.status is not None:
        await lifecycle.set_status(conn, config, ticket, change.status, actor, now)


class TicketDesk:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        config: Callable[[], SlaConfig],
        wake_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._config = config
        self._wake = wake_outbox

    async def get(self, reference: str | int) -> TicketRow:
        async with self._engine.connect() as conn:
            return await load(conn, reference, lock=False)

    async def find(self, where: TicketFilter = TicketFilter()) -> list[TicketRow]:
        stmt = select(Ticket.__table__).order_by(Ticket.id.desc()).limit(where.limit)
        if where.status:
            stmt = stmt.where(Ticket.status.in_(where.status))
        if where.queue:
            stmt = stmt.where(Ticket.queue == where.queue)
        if where.assignee:
            stmt = stmt.where(Ticket.assignee == where.assignee)
        if where.customer_id is not None:
            stmt = stmt.where(Ticket.customer_id == where.customer_id)
        async with self._engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(stmt)).mappings()]

    async def events(self, reference: str | int) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            ticket = await load(conn, reference, lock=False)
            rows = await conn.execute(
                select(TicketEvent.__table__)
                .where(TicketEvent.ticket_id == ticket["id"])
                .order_by(TicketEvent.id)
            )
            return [dict(r) for r in rows.mappings()]

    async def timers(
        self, reference: str | int | None = None, *, states: Sequence[str] = (), limit: int = 100
    ) -> list[timers.TimerView]:
        """SLA timers, of one ticket or all, soonest due first."""
        async with self._engine.connect() as conn:
            ticket_id = None if reference is None else (await load(conn, reference, lock=False))["id"]
            return await timers.listing(conn, ticket_id=ticket_id, states=states, limit=limit)

    async def retry_failed_timers(self, reference: str | int | None = None, *, actor: str) -> int:
        """Make failed timers due again (after fixing what made their escalation raise); the
        next sweep fires them. Each retry is on its ticket's audit trail."""
        async with self._engine.begin() as conn:
            ticket_id = None if reference is None else (await load(conn, reference, lock=True))["id"]
            retried = await timers.retry_failed(conn, ticket_id=ticket_id)
            events = [(t, actor, "sla_retry", {"timer": f"{kind}:{name}"}) for t, kind, name in retried]
            await record_many(conn, events, utcnow())
        return len(retried)

    async def set_status(self, reference: str | int, status: str, *, actor: str) -> TicketRow:
        return await self._change(reference, lambda conn, t, now: lifecycle.set_status(
            conn, self._config(), t, status, actor, now))  # fmt: skip

    async def solve(self, reference: str | int, *, actor: str) -> TicketRow:
        return await self.set_status(reference, "solved", actor=actor)

    async def set_priority(self, reference: str | int, priority: str, *, actor: str) -> TicketRow:
        async def change(conn: Any, ticket: TicketRow, now: Any) -> None:
            if await lifecycle.set_priority(conn, ticket, priority, actor, now):
                await sla.on_priority_change(conn, self._config(), [ticket], now)

        return await self._change(reference, change)

    async def set_queue(self, reference: str | int, queue: str, *, actor: str) -> TicketRow:
        return await self._change(reference, lambda conn, t, now: lifecycle.set_queue(
            conn, t, queue, actor, now))  # fmt: skip

    async def tag(
        self, reference: str | int, *, actor: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> TicketRow:
        return await self._change(reference, lambda conn, t, now: lifecycle.set_tags(
            conn, t, actor, now, add=add, remove=remove))  # fmt: skip

    async def assign(self, reference: str | int, agent: str | None = None, *, actor: str) -> TicketRow:
        """Assign to ``agent``, or round-robin within the ticket's queue when ``agent`` is None."""

        async def change(conn: Any, ticket: TicketRow, now: Any) -> Any:
            if agent is None:
                return await assignment.assign_round_robin(conn, ticket, actor, now)
            return await lifecycle.set_assignee(conn, ticket, agent, actor, now)

        return await self._change(reference, change)

    async def unassign(self, reference: str | int, *, actor: str) -> TicketRow:
        return await self._change(reference, lambda conn, t, now: lifecycle.set_assignee(
            conn, t, None, actor, now))  # fmt: skip

    async def update(self, reference: str | int, change: TicketChange, *, actor: str) -> TicketRow:
        """Apply ``change`` in one transaction: queue first (it clears the assignee), then the
        assignee, priority, tags, and the status last (solving asks for a rating)."""
        config = self._config()
        return await self._change(reference, lambda conn, t, now: apply_change(
            conn, config, t, change, actor, now))  # fmt: skip

    async def note(self, reference: str | int, text: str, *, actor: str) -> TicketRow:
        """An internal note: on the audit trail, never sent to the customer."""
        if not text.strip():
            raise InvalidValue("a note needs some text")
        return await self._change(reference, lambda conn, t, now: record(
            conn, t["id"], actor, "note", {"text": text}, now))  # fmt: skip

    async def reply(
        self,
        reference: str | int,
        text: str,
        *,
        agent: str,
        status: str | None = None,
        actor: str | None = None,
    ) -> TicketRow:
        """Send an agent reply to the customer on their channel and (optionally) set the status
        in the same transaction (Zendesk's "submit as pending/solved"). ``actor`` names who on
        the audit trail (default ``agent:<agent>``; the API's is ``account:<name>``)."""
        who = actor or f"agent:{agent}"
        if not text.strip():
            raise InvalidValue("a reply needs some text")
        config = self._config()

        async def change(conn: Any, ticket: TicketRow, now: Any) -> None:
            if ticket["status"] == "closed":
                raise InvalidTransition(f"T-{ticket['number']} is closed; reply on its follow-up ticket")
            if ticket["conversation_id"] is None:
                raise InvalidValue(f"T-{ticket['number']} has no conversation to reply on")
            # The customer sees the agent's display name (as from Slack), the handle when none is set.
            name = (await conn.execute(select(Agent.display_name).where(Agent.handle == agent))).scalar()
            await outbound.send(
                conn, conversation_id=ticket["conversation_id"], text=text, now=now, ticket_id=ticket["id"],
                sender_role="agent", sender_name=name or agent,
            )  # fmt: skip
            await record(conn, ticket["id"], who, "reply", {"text": text}, now)
            await sla.on_agent_reply(conn, config, ticket, now)
            target = status or ("open" if ticket["status"] == "new" else None)
            if target is not None:
                await lifecycle.set_status(conn, config, ticket, target, who, now)

        return await self._change(reference, change)

    async def _change(self, reference: str | int, change: Callable[..., Any]) -> TicketRow:
        now = utcnow()
        async with self._engine.begin() as conn:
            ticket = await load(conn, reference)
            if ticket["intake_at"] is None:  # apply the SLA policy first, so clocks exist to pause
                await sla.intake(conn, self._config(), now, ids=[ticket["id"]])
                ticket = await load(conn, reference)
            await change(conn, ticket, now)
            fresh = await load(conn, reference, lock=False)
        self._wake()
        return fresh
