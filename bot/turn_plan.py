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
from datetime import datetime
from typing import Any

from bot.action_results import Expected, ResultContext
from bot.fill_variables import render
from bot.rule_actions import ReplyFactory, TurnWork, apply_to_turn
from core.contracts import InboundMessage
from nlp.types import Analysis
from rules.decision import Acknowledge, Decision
from rules.engine import Engine
from rules.facts import Asking, ConversationFacts, CustomerFacts, RuleFacts, conversation_language
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
    queue_labels: Mapping[str, str] | None = None,
    expected: Expected | None = None,
) -> Planner:
    def apology(reference: str) -> Plan:
        text = render(responses["internal_error"][0], {"reference": reference})
        return Plan(analysis={"error": reference}, replies=(reply(text, "error"),))

    def plan(state: ConversationState, take_number: Callable[[], int]) -> Plan:
        if state.csat_thanks is not None:  # the message rated the solved ticket
            return Plan(replies=(reply(state.csat_thanks, "csat"),))
        if analysis is None:
            return apology(error or "unknown")
        try:
            facts = facts_for(message, analysis, state)
            if state.handed_off:  # an agent has the conversation: the bot only acknowledges
                decision = engine.acknowledge(analysis, facts)
                if not decision.actions:
                    language = facts.conversation.language
                    return Plan(analysis=summarize(analysis, None, language), language=language)
            else:
                decision = engine.decide(analysis, facts)
            results = ResultContext(
                now=message.received_at,
                channel=message.channel,
                queue_labels=queue_labels or {},
                expected=expected,
            )
            return _planned(
                analysis,
                TurnWork(
                    decision=decision,
                    state=state,
                    take_number=take_number,
                    reply=reply,
                    bot_name=bot_name,
                    results=results,
                ),
            )
        except Exception:
            reference = secrets.token_hex(4)
            _LOGGER.exception("rules failed for a %s message (reference %s)", message.channel, reference)
            return apology(reference)

    return plan


def facts_for(message: InboundMessage, analysis: Analysis, state: ConversationState) -> RuleFacts:
    number = state.open_ticket_number
    dialog = state.dialog
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
            language=conversation_language(analysis, state.language),
            has_open_ticket=number is not None,
            ticket_reference=ticket_reference(number) if number is not None else None,
            automated_replies=state.automated_replies,
            rule_fires=state.rule_fires,
            recent_rules=state.recent_rules,
            slots={str(k): str(v) for k, v in (dialog.get("slots") or {}).items()},
            asking=_asking(dialog.get("asking")),
            ticket_priority=state.ticket_priority,
            ticket_queue=state.ticket_queue,
            ticket_status=state.ticket_status,
            acknowledged=_acknowledged(dialog.get("ack")),
        ),
        now=message.received_at,
    )


def _asking(value: Any) -> Asking | None:
    if not isinstance(value, dict) or not value.get("slot") or not value.get("rule"):
        return None
    return Asking(str(value["slot"]), str(value["rule"]), int(value.get("attempts") or 1))


def _acknowledged(value: Any) -> tuple[str, datetime] | None:
    if not isinstance(value, dict) or not value.get("ticket") or not value.get("at"):
        return None
    try:
        return str(value["ticket"]), datetime.fromisoformat(str(value["at"]))
    except ValueError:
        return None


def _planned(analysis: Analysis, work: TurnWork) -> Plan:
    decision = work.decision
    for action in decision.actions:
        apply_to_turn(work, action)
    language = conversation_language(analysis, work.state.language)
    return Plan(
        analysis=summarize(analysis, decision, language),
        language=language,
        open_ticket=work.new_ticket,
        hand_off=work.hand_off,
        replies=tuple(work.replies),
        rules_fired=decision.rules_fired or (decision.rule,),
        customer_tags=tuple(work.customer_tags) if work.customer_tags is not None else None,
        customer_attributes=work.attributes,
        ticket_tags=tuple(work.ticket_tags) if work.ticket_tags is not None else None,
        ticket_events=tuple(work.events),
        close_conversation=work.close,
        dialog=work.dialog,
        ticket_priority=work.ticket_priority,
        keep_solved=work.keep_solved,
    )


def summarize(analysis: Analysis, decision: Decision | None, language: str | None = None) -> dict[str, Any]:
    """What is kept of an analysis on the interaction row: enough to audit why the bot acted.

    ``language`` is the message's detected language (``null``: too short or unsure to tell);
    ``conversation_language`` the one the bot answered in (rules.facts.conversation_language).
    """
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
        "language": analysis.detected_language,
        "conversation_language": language or analysis.language,
        **_acknowledgement(decision),
    }


def _acknowledgement(decision: Decision | None) -> dict[str, str]:
    """How the message was acknowledged, when no rule replied: kept with it, silence included."""
    said = next((a for a in decision.actions if isinstance(a, Acknowledge)), None) if decision else None
    return {"acknowledgement": said.note} if said is not None else {}
