"""Rules with ``event: ticket``: what happens when an agent, the scheduler or a rule changes a ticket.

Ticket changes are already on the audit trail (``ticket_events`` with ``from``/``to``), so this is
a consumer of that trail (:class:`~ticketing.event_feed.TicketEventFeed`): it takes the events
after its cursor, asks the rule engine about each one (status, priority, queue, assignee and tag
changes), applies the ticket-level actions through the action executor
(:mod:`bot.rule_actions`), and moves the cursor, all in one transaction, so every event is
decided exactly once. Only the process holding the feed's advisory lock runs it (on SQLite, the
one process). Actions taken here are
recorded as ``rule:<name>``, and the tag changes a rule makes (the only watched change a ticket
rule can make) also carry ``caused_by``: the whole chain of rules that led to them, oldest first.
The next decision reads that chain back, which is how the engine's guards stop a rule from firing
on a change it led to and stop chains at ``max_chain`` (two rules tagging and untagging each
other would otherwise go on forever).

Only ticket-level actions run here; the loader rejects the others in ``event: ticket`` rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NoReturn

from bot.knowledge import Knowledge
from bot.rule_actions import TicketWork, apply_to_ticket
from core.loops import BackgroundTask, every
from nlp.types import Analysis
from rules.facts import ConversationFacts, CustomerFacts, RuleFacts, TicketFacts
from ticketing.event_feed import EventBatch, EventTicket, FeedEvent, TicketEventFeed
from ticketing.numbers import ticket_reference
from ticketing.sla_config import SlaConfig
from ticketing.time import utcnow

__all__ = ["TicketRuleRunner"]

_LOGGER = logging.getLogger(__name__)

_WATCHED = ("status", "priority", "queue", "assignee", "tags")


class TicketRuleRunner:
    def __init__(
        self,
        *,
        events: TicketEventFeed,
        knowledge: Callable[[], Knowledge],
        wake_outbox: Callable[[], None],
        bot_name: str,
        ticket_config: Callable[[], SlaConfig] | None = None,
        interval: float = 0.5,
    ) -> None:
        self._events = events
        self._knowledge = knowledge
        self._wake_outbox = wake_outbox
        self._bot_name = bot_name
        self._ticket_config = ticket_config
        self._interval = interval
        self._task = BackgroundTask(name="ticket-rules")
        self._decided = -1  # the cursor as this process last committed it; -1: not read yet

    async def start(self) -> None:
        self._task.start(self._loop())

    async def stop(self) -> None:
        await self._task.stop()
        await self._events.release()

    async def _loop(self) -> NoReturn:
        """A round at once (events that came while no process ran rules), then one every
        interval; a failing round is logged and the next one runs as usual."""
        try:
            await self._round()
        except Exception as exc:
            self._failed(exc)
        await every(self._interval, self._round, failed=self._failed)

    async def _round(self) -> None:
        if await self._events.lead():
            while await self.run_once() > 0:
                pass

    def _failed(self, exc: Exception) -> None:
        _LOGGER.error("ticket rules failed; retrying in %.1fs", self._interval, exc_info=exc)

    async def run_once(self, *, limit: int = 200) -> int:
        """Decide the next events after the cursor; returns how many were taken."""
        # Nothing new since our last commit: most polls, and under load a write transaction
        # every half second on the connection the turns are written through. (Another
        # process moves the cursor only while it leads, and then this one is not polling.)
        if self._decided >= 0 and await self._events.newest() <= self._decided:
            return 0
        replied = False
        async with self._events.batch(now=utcnow(), limit=limit) as batch:
            last = batch.cursor
            knowledge = self._knowledge()
            # The tickets and customers of all the events in two reads, not two per event (an
            # auto-close of twenty tickets is twenty events); a ticket a rule acted on is read
            # again for its next event.
            seen = await batch.tickets(e.ticket_id for e in batch.events if e.kind in _WATCHED)
            for event in batch.events:
                last = event.id
                if event.kind in _WATCHED:
                    if event.ticket_id not in seen:
                        seen |= await batch.tickets([event.ticket_id])
                    ticket = seen[event.ticket_id]
                    decided = await self._decide(batch, knowledge, ticket, event)
                    if decided is not None:
                        replied |= decided
                        del seen[event.ticket_id]
                    if _solved(event) and self._ticket_config is not None:
                        # After the rules' "your ticket is solved", in their transaction: the
                        # rating question's outbox row follows theirs (ticketing/csat.py). Ticket
                        # rules change no status, so the row read for the rules still holds.
                        replied |= await batch.ask_csat(self._ticket_config(), ticket.row)
            if batch.events:
                await batch.advance(last)
        self._decided = last
        if replied:
            self._wake_outbox()
        return len(batch.events)

    async def _decide(
        self, batch: EventBatch, knowledge: Knowledge, ticket: EventTicket, event: FeedEvent
    ) -> bool | None:
        """Apply the rules to one event; None if none fired, else whether a reply was sent."""
        row = ticket.row
        change = _ticket_facts(row, event.actor, event.kind, event.data)
        facts = RuleFacts(
            channel=row["channel"],
            event="ticket",
            customer=CustomerFacts(
                name=ticket.customer_name, email=ticket.customer_email, tags=frozenset(ticket.customer_tags)
            ),
            conversation=ConversationFacts(
                has_open_ticket=True,
                ticket_reference=ticket_reference(row["number"]),
                language=ticket.language,
            ),
            ticket=change,
            now=batch.now,
        )
        # No message: its language is the conversation's, else the rulebook's default.
        nothing = Analysis(text="", language=knowledge.ruleset.default_language)
        decision = knowledge.engine.decide(nothing, facts)
        if not decision.rules_fired and not decision.actions:
            return None
        # What this decision writes was caused by the rules behind this event, then these.
        work = TicketWork(
            batch=batch,
            decision=decision,
            ticket=row,
            chain=(*change.caused_by, *decision.rules_fired),
            bot_name=self._bot_name,
        )
        for action in decision.actions:
            await apply_to_ticket(work, action)
        return work.replied


def _solved(event: FeedEvent) -> bool:
    return event.kind == "status" and event.data.get("to") == "solved"


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
