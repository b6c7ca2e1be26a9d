"""A conversation turn's storage :class:`~ticketing.turns.Plan`: the facts, the decision, its actions.

The plan is built inside the write transaction from the conversation's current state, so it
is pure and quick: gather the facts, decide, and fold the decision's actions into the plan
through the action executor (:mod:`bot.rule_actions`). It never raises: any failure becomes an
apology with a reference the operator can find in the log.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from bot.fill_variables import render
from bot.rule_actions import ReplyFactory, TurnWork, apply_to_turn
from core.contracts import InboundMessage
from nlp.types import Analysis
from rules.decision import Decision
from rules.engine import Engine
from rules.facts import ConversationFacts, CustomerFacts, RuleFacts
from ticketing.numbers import ticket_reference
from ticketing.turns import ConversationState, Plan, Planner

__all__ = ["facts_for", "summarize", "turn_plan"]

_LOGGER = logging.getLogger(__name__)


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
            return _planned(
                analysis,
                TurnWork(
                    decision=decision, state=state, take_number=take_number, reply=reply, bot_name=bot_name
                ),
            )
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


def _planned(analysis: Analysis, work: TurnWork) -> Plan:
    decision = work.decision
    for action in decision.actions:
        apply_to_turn(work, action)
    return Plan(
        analysis=summarize(analysis, decision),
        open_ticket=work.new_ticket,
        hand_off=work.hand_off,
        replies=tuple(work.replies),
        rules_fired=decision.rules_fired or (decision.rule,),
        customer_tags=tuple(work.customer_tags) if work.customer_tags is not None else None,
        customer_attributes=work.attributes,
        ticket_tags=tuple(work.ticket_tags) if work.ticket_tags is not None else None,
        ticket_events=tuple(work.events),
        close_conversation=work.close,
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
        "complaint": {"is": analysis.complaint, "confidence": analysis.complaint_confidence},
        "entities": [{"type": e.type, "value": e.value} for e in analysis.entities],
        "faq": {"id": best.faq_id, "score": best.score} if best else None,
        "rule": decision.rule if decision else None,
        "reason": decision.reason if decision else None,
        "model": analysis.model_version,
    }
