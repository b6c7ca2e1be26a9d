"""Turning a rule decision into a storage :class:`~ticketing.turns.Plan`.

The plan is built inside the write transaction from the conversation's current state, so it
is pure and quick: decide, render templates, take a ticket number if a ticket is opened. It
never raises: any failure becomes an apology with a reference the operator can find in the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

from bot.contracts import InboundMessage, QuickReply
from bot.templates import render
from nlp.types import Analysis
from rules.decision import Decision, HandOff, OpenTicket, Reply
from rules.policy import DefaultPolicy, RuleContext
from ticketing.numbers import ticket_reference
from ticketing.turns import ConversationState, Plan, Planner, ReplyRecord, TicketDraft

__all__ = ["summarize", "turn_plan"]

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
    policy: DefaultPolicy,
    reply: ReplyFactory,
) -> Planner:
    responses = policy.rulebook.responses

    def apology(reference: str) -> Plan:
        text = render(responses["internal_error"][0], {"reference": reference})
        return Plan(analysis={"error": reference}, replies=(reply(text, "error"),))

    def plan(state: ConversationState, take_number: Callable[[], int]) -> Plan:
        if state.handed_off:  # an agent has the conversation: record the message, say nothing
            return Plan(analysis=summarize(analysis, None) if analysis else None)
        if analysis is None:
            return apology(error or "unknown")
        try:
            decision = policy.decide(
                analysis,
                RuleContext(
                    channel=message.channel,
                    has_open_ticket=state.open_ticket_number is not None,
                    handed_off=state.handed_off,
                ),
            )
            return _execute(decision, analysis, state, take_number, reply)
        except Exception:
            reference = secrets.token_hex(4)
            _LOGGER.exception("rules failed for a %s message (reference %s)", message.channel, reference)
            return apology(reference)

    return plan


def _execute(
    decision: Decision,
    analysis: Analysis,
    state: ConversationState,
    take_number: Callable[[], int],
    reply: ReplyFactory,
) -> Plan:
    variables: dict[str, str] = {}
    if state.open_ticket_number is not None:
        variables["ticket"] = ticket_reference(state.open_ticket_number)
    new_ticket: TicketDraft | None = None
    hand_off = False
    replies: list[ReplyRecord] = []
    for action in decision.actions:
        if isinstance(action, OpenTicket):
            if state.open_ticket_number is None and new_ticket is None:
                number = take_number()
                new_ticket = TicketDraft(
                    number=number,
                    subject=action.subject,
                    actor=f"rule:{decision.rule}",
                    queue=action.queue,
                    priority=action.priority,
                    tags=action.tags,
                )
                variables["ticket"] = ticket_reference(number)
        elif isinstance(action, Reply):
            buttons = tuple(QuickReply(b.label, b.payload) for b in action.quick_replies)
            replies.append(
                reply(render(action.template, variables), decision.rule, buttons, variables.get("ticket"))
            )
        elif isinstance(action, HandOff):
            hand_off = True
    return Plan(
        analysis=summarize(analysis, decision),
        open_ticket=new_ticket,
        hand_off=hand_off,
        replies=tuple(replies),
    )


def summarize(analysis: Analysis, decision: Decision | None) -> dict[str, Any]:
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
