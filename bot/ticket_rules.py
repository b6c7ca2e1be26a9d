"""Rules with ``event: ticket``: what happens when an agent, the scheduler or a rule changes a ticket.

Ticket changes are already on the audit trail (``ticket_events`` with ``from``/``to``), so this is
a consumer of that trail: it reads the events after its cursor, asks the rule engine about each
one (status, priority, queue, assignee and tag changes), applies the ticket-level actions, and
moves the cursor, all in one transaction, so every event is decided exactly once. Only the
process holding the advisory lock runs it (on SQLite, the one process). Actions taken here are
recorded as ``rule:<name>``, and the tag changes a rule makes (the only watched change a ticket
rule can make) also carry ``caused_by``: the whole chain of rules that led to them, oldest first.
The next decision reads that chain back, which is how the engine's guards stop a rule from firing
on a change it led to and stop chains at ``max_chain`` (two rules tagging and untagging each
other would otherwise go on forever).

Only ticket-level actions run here (``reply``, ``add_note``, ``notify``, ticket ``tag`` and
``untag``); the loader rejects the others in ``event: ticket`` rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.fill_variables import render
from bot.knowledge import Knowledge
from nlp.types import Analysis
from rules import decision as d
from rules.facts import ConversationFacts, CustomerFacts, RuleFacts, TicketFacts
from ticketing import lifecycle, outbound
from ticketing.commit_order import HoleGuard
from ticketing.driver import CompiledStatement
from ticketing.leader import Leadership
from ticketing.models import ChannelCursor, Customer, Ticket, TicketEvent
from ticketing.numbers import ticket_reference
from ticketing.ticket_rows import record
from ticketing.time import utcnow

__all__ = ["TicketRuleRunner"]

_LOGGER = logging.getLogger(__name__)

LOCK = 0x46_44_52_55_4C  # "FDRUL"
_CURSOR = ("rules", "ticket_events")
_WATCHED = ("status", "priority", "queue", "assignee", "tags")
_NEWEST_EVENT = CompiledStatement(select(func.coalesce(func.max(TicketEvent.id), 0)), ())


class TicketRuleRunner:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        knowledge: Callable[[], Knowledge],
        wake_outbox: Callable[[], None],
        bot_name: str,
        interval: float = 0.5,
    ) -> None:
        self._engine = engine
        self._knowledge = knowledge
        self._wake_outbox = wake_outbox
        self._bot_name = bot_name
        self._interval = interval
        self._leadership = Leadership(engine=engine, key=LOCK)
        self._holes = HoleGuard(engine, name="ticket rules")
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._cursor_insert = dialect.insert(ChannelCursor).on_conflict_do_nothing()
        self._task: asyncio.Task[None] | None = None
        self._decided = -1  # the cursor as this process last committed it; -1: not read yet

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="ticket-rules")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._leadership.release()

    async def _loop(self) -> None:
        while True:
            try:
                if await self._leadership.check():
                    while await self.run_once() > 0:
                        pass
            except Exception:
                _LOGGER.exception("ticket rules failed; retrying in %.1fs", self._interval)
            await asyncio.sleep(self._interval)

    async def run_once(self, *, limit: int = 200) -> int:
        """Decide the next events after the cursor; returns how many were taken."""
        if self._decided >= 0:
            # Nothing new since our last commit: most polls, and under load a write transaction
            # every half second on the connection the turns are written through. (Another
            # process moves the cursor only while it leads, and then this one is not polling.)
            ((newest,),) = await _NEWEST_EVENT.read(self._engine, ())
            if newest <= self._decided:
                return 0
        now = utcnow()
        replied = False
        async with self._engine.begin() as conn:
            last = await self._cursor(conn, now)
            rows = (
                await conn.execute(
                    select(
                        TicketEvent.id,
                        TicketEvent.ticket_id,
                        TicketEvent.actor,
                        TicketEvent.kind,
                        TicketEvent.data,
                    )
                    .where(TicketEvent.id > last)
                    .order_by(TicketEvent.id)
                    .limit(limit)
                )
            ).all()
            # Ids are taken at insert but transactions commit out of order: stop before a hole
            # until it fills (or will not), so a slower transaction's lower id is never passed.
            upto = await self._holes.upto(last, [row[0] for row in rows])
            rows = [row for row in rows if row[0] <= upto]
            knowledge = self._knowledge()
            # The tickets and customers of all the events in two reads, not two per event (an
            # auto-close of twenty tickets is twenty events); a ticket a rule acted on is read
            # again for its next event.
            seen = await _tickets(conn, {row[1] for row in rows if row[3] in _WATCHED})
            for event_id, ticket_id, actor, kind, data in rows:
                last = event_id
                if kind in _WATCHED:
                    if ticket_id not in seen:
                        seen |= await _tickets(conn, {ticket_id})
                    ticket, customer = seen[ticket_id]
                    decided = await self._decide(
                        conn, knowledge, ticket, customer, actor, kind, data or {}, now
                    )
                    if decided is not None:
                        replied |= decided
                        del seen[ticket_id]
            if rows:
                await conn.execute(
                    update(ChannelCursor)
                    .where(ChannelCursor.channel == _CURSOR[0], ChannelCursor.name == _CURSOR[1])
                    .values(value={"last": last}, updated_at=now)
                )
        self._decided = last
        if replied:
            self._wake_outbox()
        return len(rows)

    async def _cursor(self, conn: AsyncConnection, now: datetime) -> int:
        """The last event decided; on first start, the newest event (history is not replayed)."""
        newest = (await conn.execute(select(func.coalesce(func.max(TicketEvent.id), 0)))).scalar_one()
        await conn.execute(
            self._cursor_insert,
            {"channel": _CURSOR[0], "name": _CURSOR[1], "value": {"last": newest}, "updated_at": now},
        )
        stmt = select(ChannelCursor.value).where(
            ChannelCursor.channel == _CURSOR[0], ChannelCursor.name == _CURSOR[1]
        )
        value = (await conn.execute(stmt.with_for_update())).scalar_one()
        return int(value.get("last", 0))

    async def _decide(
        self,
        conn: AsyncConnection,
        knowledge: Knowledge,
        ticket: dict[str, Any],
        customer: Sequence[Any],
        actor: str,
        kind: str,
        data: dict[str, Any],
        now: datetime,
    ) -> bool | None:
        """Apply the rules to one event; None if none fired, else whether a reply was sent."""
        event = _ticket_facts(ticket, actor, kind, data)
        facts = RuleFacts(
            channel=ticket["channel"],
            event="ticket",
            customer=CustomerFacts(name=customer[0], email=customer[1], tags=frozenset(customer[2] or ())),
            conversation=ConversationFacts(
                has_open_ticket=True, ticket_reference=ticket_reference(ticket["number"])
            ),
            ticket=event,
            now=now,
        )
        decision = knowledge.engine.decide(Analysis(text=""), facts)
        if not decision.rules_fired and not decision.actions:
            return None
        # What this decision writes was caused by the rules behind this event, then these.
        return await self._apply(conn, decision, ticket, (*event.caused_by, *decision.rules_fired), now)

    async def _apply(
        self,
        conn: AsyncConnection,
        decision: d.Decision,
        ticket: dict[str, Any],
        chain: tuple[str, ...],
        now: datetime,
    ) -> bool:
        actor = f"rule:{decision.rule}"[:200]
        reference = ticket_reference(ticket["number"])
        replied = False
        for action in decision.actions:
            if isinstance(action, d.Reply) and ticket["conversation_id"] is not None:
                text = render(action.template, {"ticket": reference, "bot_name": self._bot_name})
                buttons = tuple({"label": b.label, "payload": b.payload} for b in action.quick_replies)
                await outbound.send(
                    conn, conversation_id=ticket["conversation_id"], text=text, now=now,
                    ticket_id=ticket["id"], sender_role="bot", sender_name=self._bot_name, rule=decision.rule,
                    quick_replies=buttons,
                )  # fmt: skip
                replied = True
            elif isinstance(action, d.AddNote):
                await record(conn, ticket["id"], actor, "note", {"text": action.text}, now)
            elif isinstance(action, d.NotifySlack):
                await record(
                    conn,
                    ticket["id"],
                    actor,
                    "notify",
                    {"slack": f"#{action.channel}", "text": action.text},
                    now,
                )
            elif isinstance(action, d.Tag | d.Untag) and action.target == "ticket":
                adding = isinstance(action, d.Tag)
                current = dict(
                    (await conn.execute(select(Ticket.__table__).where(Ticket.id == ticket["id"])))
                    .mappings()
                    .one()
                )
                if current["status"] == "closed":  # final; raising would retry this event forever
                    _LOGGER.info("rule %s: %s is closed; tags not changed", decision.rule, reference)
                    continue
                await lifecycle.set_tags(
                    conn,
                    current,
                    actor,
                    now,
                    add=action.tags if adding else (),
                    remove=() if adding else action.tags,
                    caused_by=chain,
                )
            else:
                _LOGGER.info(
                    "rule %s: %s is not available on ticket events; skipped",
                    decision.rule,
                    type(action).__name__,
                )
        return replied


async def _tickets(conn: AsyncConnection, ids: set[int]) -> dict[int, tuple[dict[str, Any], Sequence[Any]]]:
    """Each ticket's row and its customer's name, email and tags."""
    if not ids:
        return {}
    stmt = select(Ticket.__table__).where(Ticket.id.in_(sorted(ids)))
    tickets = [dict(row) for row in (await conn.execute(stmt)).mappings()]
    if len(tickets) < len(ids):  # gone: as before, the batch fails and is retried
        raise LookupError(f"tickets {sorted(ids - {t['id'] for t in tickets})} not found")
    people = select(Customer.id, Customer.display_name, Customer.email, Customer.tags).where(
        Customer.id.in_(sorted({t["customer_id"] for t in tickets}))
    )
    customers = {row[0]: row[1:] for row in await conn.execute(people)}
    return {t["id"]: (t, customers[t["customer_id"]]) for t in tickets}


def _caused_by(actor: str, data: dict[str, Any]) -> tuple[str, ...]:
    """The rules that led to an event: the chain a ticket rule recorded, else the rule(s) in the actor."""
    chain = data.get("caused_by")
    if isinstance(chain, list):
        return tuple(str(name) for name in chain)
    return tuple(actor.removeprefix("rule:").split("+")) if actor.startswith("rule:") else ()


def _ticket_facts(ticket: dict[str, Any], actor: str, kind: str, data: dict[str, Any]) -> TicketFacts:
    """The event's change as the event made it, the rest of the ticket as it is now.

    Events are decided a moment after they happen, so the ticket may have changed again since
    (solved, then closed): the changed field is taken from the event, or ``changed_to: closed``
    would also hold for the earlier ``solved`` event.
    """
    fields = {name: str(ticket[name]) for name in ("status", "priority", "queue")}
    tags = frozenset(ticket["tags"] or ())
    previous: dict[str, str] = {}
    previous_tags = None
    if kind == "tags":
        added, removed = frozenset(data.get("added", ())), frozenset(data.get("removed", ()))
        tags = (tags - removed) | added
        previous_tags = (tags - added) | removed
        previous["tags"] = ",".join(sorted(previous_tags))
    else:
        previous[kind] = "" if data.get("from") is None else str(data["from"])
        if kind in fields and data.get("to") is not None:
            fields[kind] = str(data["to"])
    return TicketFacts(
        reference=ticket_reference(ticket["number"]),
        status=fields["status"],
        priority=fields["priority"],
        queue=fields["queue"],
        tags=tags,
        previous=previous,
        previous_tags=previous_tags,
        caused_by=_caused_by(actor, data),
    )
