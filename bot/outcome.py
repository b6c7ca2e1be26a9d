"""Turning a rule decision into a storage :class:`~ticketing.turns.Plan`.

The plan is built inside the write transaction from the conversation's current state, so it
is pure and quick: gather the facts, decide, render templates, take a ticket number if a ticket
is opened, fold tags/attributes/notes into the plan. It never raises: any failure becomes an
apology with a reference the operator can find in the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from bot.fill_variables import render
from core.contracts import InboundMessage, QuickReply
from nlp.types import Analysis
from rules import decision as d
from rules.engine import Engine
from rules.facts import ConversationFacts, CustomerFacts, RuleFacts
from ticketing.numbers import ticket_reference
from ticketing.turns import ConversationState, Plan, Planner, ReplyRecord, TicketDraft

__all__ = ["facts_for", "summarize", "turn_plan"]

_LOGGER = logging.getLogger(__name__)


class ReplyFactory(Protocol):
    def __call__(
        self, text: str, rule: str, quick_replies: tuple[QuickReply, ...] = (), ticket: str | None = None
    ) -> ReplyRecord: ...


def turn_plan(
    message: InboundMessage,
    analysis: Analysis | None,
    error: str | None,
    *,
    engine: Engine,
    responses: Mapping[str, tuple[str, ...]],
    bot_name: str,
    reply: ReplyFactory,
) -> Planner:
    def apology(reference: str) -> Plan:
        text = render(responses["internal_error"][0], {"reference": reference})
        return Plan(analysis={"error": reference}, replies=(reply(text, "error"),))

    def plan(state: ConversationState, take_number: Callable[[], int]) -> Plan:
        if state.csat_thanks is not None:  # the message rated the solved ticket
            return Plan(replies=(reply(state.csat_thanks, "csat"),))
        if state.handed_off:  # an agent has the conversation: record the message, say nothing
            return Plan(analysis=summarize(analysis, None) if analysis else None)
        if analysis is None:
            return apology(error or "unknown")
        try:
            decision = engine.decide(analysis, facts_for(message, analysis, state))
            return _Execution(decision, state, take_number, reply, bot_name).run(analysis)
        except Exception:
            reference = secrets.token_hex(4)
            _LOGGER.exception("rules failed for a %s message (reference %s)", message.channel, reference)
            return apology(reference)

    return plan


def facts_for(message: InboundMessage, analysis: Analysis, state: ConversationState) -> RuleFacts:
    number = state.open_ticket_number
    return RuleFacts(
        channel=message.channel,
        event="message",
        customer=CustomerFacts(
            name=state.customer_name,
            email=state.customer_email,
            tags=frozenset(state.customer_tags),
            attributes={str(k): str(v) for k, v in state.customer_attributes.items()},
            first_contact=state.customer_conversations <= 1,
            open_tickets=state.open_tickets,
        ),
        conversation=ConversationFacts(
            handed_off=state.handed_off,
            turns=state.turns + 1,
            language=state.language or message.language or analysis.language,
            has_open_ticket=number is not None,
            ticket_reference=ticket_reference(number) if number is not None else None,
            automated_replies=state.automated_replies,
            rule_fires=state.rule_fires,
            recent_rules=state.recent_rules,
        ),
        now=message.received_at,
    )


@dataclass
class _Execution:
    """Applies a decision's actions in order to a working copy of the conversation's state."""

    decision: d.Decision
    state: ConversationState
    take_number: Callable[[], int]
    reply: ReplyFactory
    bot_name: str
    new_ticket: TicketDraft | None = None
    replies: list[ReplyRecord] = field(default_factory=list)
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    customer_tags: list[str] | None = None
    attributes: dict[str, Any] | None = None
    ticket_tags: list[str] | None = None
    hand_off: bool = False
    close: bool = False

    @property
    def actor(self) -> str:
        return f"rule:{self.decision.rule}"

    @property
    def ticket(self) -> str | None:
        if self.new_ticket is not None:
            return ticket_reference(self.new_ticket.number)
        number = self.state.open_ticket_number
        return ticket_reference(number) if number is not None else None

    def run(self, analysis: Analysis) -> Plan:
        for action in self.decision.actions:
            self._apply(action)
        return Plan(
            analysis=summarize(analysis, self.decision),
            open_ticket=self.new_ticket,
            hand_off=self.hand_off,
            replies=tuple(self.replies),
            rules_fired=self.decision.rules_fired or (self.decision.rule,),
            customer_tags=tuple(self.customer_tags) if self.customer_tags is not None else None,
            customer_attributes=self.attributes,
            ticket_tags=tuple(self.ticket_tags) if self.ticket_tags is not None else None,
            ticket_events=tuple(self.events),
            close_conversation=self.close,
        )

    def _apply(self, action: d.Action) -> None:
        if isinstance(action, d.OpenTicket):
            if self.state.open_ticket_number is None and self.new_ticket is None:
                self.new_ticket = TicketDraft(
                    number=self.take_number(),
                    subject=action.subject,
                    actor=self.actor,
                    queue=action.queue,
                    priority=action.priority,
                    tags=action.tags,
                )
        elif isinstance(action, d.Reply):
            variables = {"bot_name": self.bot_name}
            if self.ticket is not None:
                variables["ticket"] = self.ticket
            buttons = tuple(QuickReply(b.label, b.payload) for b in action.quick_replies)
            text = render(action.template, variables)
            self.replies.append(self.reply(text, self.decision.rule, buttons, self.ticket))
        elif isinstance(action, d.HandOff):
            self.hand_off = True
            self._event("handed_off", {"note": action.note} if action.note else {})
        elif isinstance(action, d.Tag | d.Untag):
            self._retag(action)
        elif isinstance(action, d.SetAttribute):
            self.attributes = {
                **(self.attributes or self.state.customer_attributes),
                action.name: action.value,
            }
        elif isinstance(action, d.AddNote):
            self._event("note", {"text": action.text})
        elif isinstance(action, d.CloseConversation):
            self.close = True
        elif isinstance(action, d.NotifySlack):
            # The Slack connector posts ticket events of this kind to the channel.
            self._event("notify", {"slack": f"#{action.channel}", "text": action.text})

    def _retag(self, action: d.Tag | d.Untag) -> None:
        adding = isinstance(action, d.Tag)
        if action.target == "customer":
            current = self.customer_tags if self.customer_tags is not None else list(self.state.customer_tags)
            self.customer_tags = _changed(current, action.tags, adding)
            return
        if self.new_ticket is not None:
            tags = _changed(list(self.new_ticket.tags), action.tags, adding)
            self.new_ticket = replace(self.new_ticket, tags=tuple(tags))
            return
        if self.state.open_ticket_number is None:
            _LOGGER.info("rule %s tags a ticket, but the conversation has none", self.decision.rule)
            return
        current = self.ticket_tags if self.ticket_tags is not None else list(self.state.ticket_tags)
        self.ticket_tags = _changed(current, action.tags, adding)
        self._event("tags", {"added" if adding else "removed": list(action.tags)})

    def _event(self, kind: str, data: dict[str, Any]) -> None:
        if self.new_ticket is None and self.state.open_ticket_number is None:
            _LOGGER.info("rule %s: no ticket to record %r on; skipped", self.decision.rule, kind)
            return
        self.events.append((self.actor, kind, data))


def _changed(current: list[str], tags: tuple[str, ...], adding: bool) -> list[str]:
    if adding:
        return current + [t for t in tags if t not in current]
    return [t for t in current if t not in tags]


def summarize(analysis: Analysis, decision: d.Decision | None) -> dict[str, Any]:
    """What is kept of an analysis on the interaction row: enough to audit why the bot acted."""
    intent = analysis.intent
    best = analysis.best_faq
    return {
        "intent": intent.name if intent else None,
        "confidence": round(intent.confidence, 4) if intent else None,
        "out_of_scope": analysis.out_of_scope,
        "sentiment": {"score": analysis.sentiment.score, "label": analysis.sentiment.label},
        "entities": [{"type": e.type, "value": e.value} for e in analysis.entities],
        "faq": {"id": best.faq_id, "score": best.score} if best else None,
        "rule": decision.rule if decision else None,
        "reason": decision.reason if decision else None,
        "model": analysis.model_version,
    }
