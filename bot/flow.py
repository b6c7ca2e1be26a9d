"""The conversation flow: one coroutine per inbound message, no shared mutable state.

resolve customer → record inbound (committed) → handed off? stop → analyze → decide →
execute (tickets, replies into the outbox, all in one transaction) → wake the outbox.
Each stage returns its own value; the :class:`InboundMessage` is never modified.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.contracts import InboundMessage, InboundResult, OutboundMessage, QuickReply
from bot.delivery import delivery_for, outbound_from_payload
from bot.templates import render
from nlp.types import Analysis, AnalysisContext, Analyzer
from rules.decision import Decision, HandOff, OpenTicket, Reply
from rules.policy import DefaultPolicy, RuleContext
from ticketing.customers import ConversationRef, Customers
from ticketing.history import History
from ticketing.inbound import Inbound, InboundRecord, Recorded
from ticketing.numbers import BlockAllocator, ticket_reference
from ticketing.outcomes import Outcome, Outcomes, ReplyRecord, StoredReply, TicketDraft

__all__ = ["ConversationFlow", "FlowParts"]

_LOGGER = logging.getLogger(__name__)

# Longer texts are analyzed in a worker thread so one huge message cannot stall every chat.
_INLINE_ANALYSIS_CHARS = 2000


@dataclass(frozen=True, slots=True)
class FlowParts:
    """What the flow needs; the composition root builds them (and swaps analyzer/policy on reload)."""

    customers: Customers
    inbound: Inbound
    outcomes: Outcomes
    history: History
    ticket_numbers: BlockAllocator
    analyzer: Callable[[], Analyzer]
    policy: Callable[[], DefaultPolicy]
    wake_outbox: Callable[[], None]
    bot_name: str


class ConversationFlow:
    def __init__(self, *, parts: FlowParts) -> None:
        self._p = parts

    async def handle(self, message: InboundMessage) -> InboundResult:
        """Process one message; returns once it is committed and its replies are in the outbox."""
        p = self._p
        ref = await p.customers.resolve(
            message.channel,
            message.external_user_id,
            message.external_thread_id,
            display_name=message.sender_name,
            email=message.sender_email,
        )
        recorded = await p.inbound.record(_record(ref, message))
        if recorded.duplicate and recorded.processed:
            return InboundResult(
                recorded.interaction_id, True, recorded.created_at, await self._replies_of(recorded)
            )
        outcome = await self._decide(ref, message, recorded)
        applied = await p.outcomes.apply(outcome)
        if not applied.applied:  # a concurrent delivery of the same message answered first
            return InboundResult(
                recorded.interaction_id, True, recorded.created_at, await self._replies_of(recorded)
            )
        if applied.replies:
            p.wake_outbox()
        return InboundResult(
            recorded.interaction_id,
            recorded.duplicate,
            recorded.created_at,
            tuple(_outbound(s) for s in applied.replies),
        )

    async def _decide(self, ref: ConversationRef, message: InboundMessage, recorded: Recorded) -> Outcome:
        state = recorded.state
        base = Outcome(
            inbound_id=recorded.interaction_id,
            conversation_id=ref.id,
            customer_id=state.customer_id,
            channel=message.channel,
            ticket_id=state.open_ticket_id,
        )
        if state.handed_off:
            # An agent has the conversation: record the message against the ticket, say nothing.
            return base
        try:
            analysis = await self._analyze(message)
            decision = self._p.policy().decide(
                analysis,
                RuleContext(
                    channel=message.channel,
                    has_open_ticket=state.open_ticket_id is not None,
                    handed_off=state.handed_off,
                ),
            )
            return await self._execute(ref, message, recorded, base, analysis, decision)
        except Exception:
            reference = secrets.token_hex(4)
            _LOGGER.exception(
                "message %s failed in analysis/rules (reference %s)", recorded.interaction_id, reference
            )
            text = render(self._p.policy().rulebook.responses["internal_error"][0], {"reference": reference})
            reply = self._reply(ref, message, text, rule="error", quick_replies=())
            return replace(base, analysis={"error": reference}, replies=(reply,))

    async def _analyze(self, message: InboundMessage) -> Analysis:
        analyzer = self._p.analyzer()
        context = AnalysisContext(channel=message.channel, language=message.language)
        if len(message.text) > _INLINE_ANALYSIS_CHARS:
            return await asyncio.to_thread(analyzer.analyze, message.text, context)
        return analyzer.analyze(message.text, context)

    async def _execute(
        self,
        ref: ConversationRef,
        message: InboundMessage,
        recorded: Recorded,
        base: Outcome,
        analysis: Analysis,
        decision: Decision,
    ) -> Outcome:
        state = recorded.state
        variables: dict[str, str] = {"bot_name": self._p.bot_name}
        if state.open_ticket_number is not None:
            variables["ticket"] = ticket_reference(state.open_ticket_number)
        new_ticket: TicketDraft | None = None
        hand_off = False
        replies: list[ReplyRecord] = []
        for action in decision.actions:
            if isinstance(action, OpenTicket):
                if state.open_ticket_id is None and new_ticket is None:
                    number = await self._p.ticket_numbers.next()
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
                text = render(action.template, variables)
                replies.append(self._reply(ref, message, text, rule=decision.rule, quick_replies=buttons))
            elif isinstance(action, HandOff):
                hand_off = True
        return replace(
            base,
            analysis=_summary(analysis, decision),
            open_ticket=new_ticket,
            hand_off=hand_off,
            replies=tuple(replies),
        )

    def _reply(
        self,
        ref: ConversationRef,
        message: InboundMessage,
        text: str,
        *,
        rule: str,
        quick_replies: tuple[QuickReply, ...],
    ) -> ReplyRecord:
        delivery = delivery_for(
            message,
            conversation_id=ref.id,
            conversation_public_id=ref.public_id,
            sender_name=self._p.bot_name,
            quick_replies=quick_replies,
        )
        return ReplyRecord(
            text=text,
            delivery=delivery,
            sender_name=self._p.bot_name,
            rule=rule,
            quick_replies=tuple(delivery["quick_replies"]),
        )

    async def _replies_of(self, recorded: Recorded) -> tuple[OutboundMessage, ...]:
        payloads = await self._p.history.reply_payloads(recorded.interaction_id)
        return tuple(outbound_from_payload(p) for p in payloads)


def _record(ref: ConversationRef, m: InboundMessage) -> InboundRecord:
    return InboundRecord(
        conversation=ref,
        channel=m.channel,
        idempotency_key=m.idempotency_key,
        text=m.text,
        received_at=m.received_at,
        sender_role=m.sender_role.value,
        sender_name=m.sender_name,
        subject=m.subject,
        attachments=tuple(
            {
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "storage_key": a.storage_key,
                "url": a.url,
            }
            for a in m.attachments
        ),
        external_message_id=m.external_message_id,
    )


def _outbound(stored: StoredReply) -> OutboundMessage:
    payload = {**stored.record.delivery, "interaction_id": stored.interaction_id, "text": stored.record.text}
    return outbound_from_payload({**payload, "created_at": stored.created_at.isoformat()})


def _summary(analysis: Analysis, decision: Decision) -> dict[str, Any]:
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
        "rule": decision.rule,
        "reason": decision.reason,
        "model": analysis.model_version,
    }
