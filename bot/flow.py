"""The conversation flow: one coroutine per inbound message, no shared mutable state.

resolve customer → analyze (CPU, before any write) → record the turn: inside one
transaction the message is stored, the rules decide against the conversation's current state,
and tickets and replies (into the outbox) are written → wake the outbox. Each stage returns
its own value; the :class:`InboundMessage` is never modified.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.analysis_workers import AnalysisWorkers
from bot.delivery import delivery_for, outbound_from_payload
from bot.knowledge import Knowledge
from bot.metrics import Metrics
from bot.turn_plan import turn_plan
from core import log_context
from core.contracts import ConversationGone, InboundMessage, InboundResult, OutboundMessage, QuickReply
from nlp.types import Analysis, AnalysisContext, Analyzer
from ticketing.customers import ConversationRef, Customers
from ticketing.expected_wait import ExpectedReply, expected_reply
from ticketing.history import History
from ticketing.numbers import ticket_reference
from ticketing.sla_config import SlaConfig
from ticketing.turns import InboundRecord, ReplyRecord, StoredReply, Turn, TurnResult, Turns

__all__ = ["ConversationFlow", "inbound_record", "record_turn", "resolve_sender"]

_LOGGER = logging.getLogger(__name__)


class ConversationFlow:
    def __init__(
        self,
        *,
        customers: Customers,
        turns: Turns,
        history: History,
        knowledge: Callable[[], Knowledge],
        wake_outbox: Callable[[], None],
        bot_name: str,
        analysis: AnalysisWorkers,
        metrics: Metrics,
        ticket_config: Callable[[], SlaConfig] | None = None,
    ) -> None:
        """Built by the composition root; ``knowledge`` returns the current rulebook version
        (swapped on reload), ``analysis`` runs in worker processes, or in the event loop when
        there are none."""
        self._customers = customers
        self._turns = turns
        self._history = history
        self._knowledge = knowledge
        self._wake_outbox = wake_outbox
        self._bot_name = bot_name
        self._analysis = analysis
        self._metrics = metrics
        self._ticket_config = ticket_config

    async def handle(self, message: InboundMessage) -> InboundResult:
        """Process one message; returns once it is committed and its replies are in the outbox.

        Raises ``ConversationGone`` when the message's conversation was erased and may not be
        opened again by a message (web chat). The log lines below carry the conversation and
        ticket (core/log_context.py), reset on the way out so a polling loop's next lines do not
        name this message's conversation."""
        ref = await resolve_sender(self._customers, message)
        conversation = log_context.conversation_id.set(ref.public_id)
        ticket = log_context.ticket.set(None)
        try:
            return await self._handle(ref, message)
        finally:
            log_context.ticket.reset(ticket)
            log_context.conversation_id.reset(conversation)

    async def _handle(self, ref: ConversationRef, message: InboundMessage) -> InboundResult:
        knowledge = self._knowledge()  # one rulebook version for the whole message
        started = time.perf_counter()
        analysis, error = await self._analyze(knowledge.analyzer, message)
        analyzed = time.perf_counter()
        self._metrics.analysis_seconds.observe(analyzed - started)

        def turn_for(ref: ConversationRef) -> Turn:
            def reply(
                text: str, rule: str, quick_replies: tuple[QuickReply, ...] = (), ticket: str | None = None
            ) -> ReplyRecord:
                return self._reply(ref, message, text, rule=rule, quick_replies=quick_replies, ticket=ticket)

            plan = turn_plan(
                message,
                analysis,
                error,
                engine=knowledge.engine,
                responses=knowledge.rulebook.responses,
                bot_name=self._bot_name,
                reply=reply,
                queue_labels=knowledge.ruleset.queue_labels,
                expected=self._expected,
            )
            # The planner runs in the batch writer's task; in this message's context, its log
            # lines carry this request and conversation (a context copy is a pointer, not a copy).
            context = contextvars.copy_context()
            return Turn(record=inbound_record(ref, message), plan=lambda s, take: context.run(plan, s, take))

        result = await record_turn(self._customers, self._turns, message, ref, turn_for)
        self._metrics.decision_seconds.observe(time.perf_counter() - analyzed)
        if result.ticket_number is not None:
            log_context.ticket.set(ticket_reference(result.ticket_number))
        if result.duplicate:
            payloads = await self._history.reply_payloads(result.interaction_id)
            # An erased customer's payloads are empty: nothing left to answer a retry with.
            replies = tuple(outbound_from_payload(payload) for payload in payloads if payload)
            return InboundResult(result.interaction_id, True, result.created_at, replies)
        self._metrics.received(message.channel)
        if result.replies:
            self._wake_outbox()
        return InboundResult(result.interaction_id, False, result.created_at, _outbound(result))

    def _expected(self, ticket: Mapping[str, Any], now: datetime) -> ExpectedReply | None:
        """The ticket's SLA reply target from now, for acknowledgements (in memory, no query)."""
        if self._ticket_config is None:
            return None
        return expected_reply(self._ticket_config(), ticket, now)

    async def _analyze(
        self, analyzer: Analyzer, message: InboundMessage
    ) -> tuple[Analysis | None, str | None]:
        """The analysis, or the reference of the error that prevented it (logged here)."""
        context = AnalysisContext(channel=message.channel, language=message.language)
        try:
            return await self._analysis.analyze(analyzer, message.text, context), None
        except Exception:
            reference = secrets.token_hex(4)
            _LOGGER.exception("analysis failed for a %s message (reference %s)", message.channel, reference)
            return None, reference

    def _reply(
        self,
        ref: ConversationRef,
        message: InboundMessage,
        text: str,
        *,
        rule: str,
        quick_replies: tuple[QuickReply, ...],
        ticket: str | None,
    ) -> ReplyRecord:
        delivery = delivery_for(
            message,
            conversation_id=ref.id,
            conversation_public_id=ref.public_id,
            sender_name=self._bot_name,
            quick_replies=quick_replies,
            ticket=ticket,
        )
        return ReplyRecord(
            text=text,
            delivery=delivery,
            sender_name=self._bot_name,
            rule=rule,
            quick_replies=tuple(delivery["quick_replies"]),
        )


async def resolve_sender(customers: Customers, m: InboundMessage) -> ConversationRef:
    """The customer and conversation of a message's sender (also for messages recorded without
    running the rules). Raises ``ConversationGone`` rather than open a conversation the channel
    opens only by a handshake (``conversation_must_exist``)."""
    return await customers.resolve(
        m.channel,
        m.external_user_id,
        m.external_thread_id,
        display_name=m.sender_name,
        email=m.sender_email,
        create=not m.conversation_must_exist,
    )


async def record_turn(
    customers: Customers,
    turns: Turns,
    m: InboundMessage,
    ref: ConversationRef,
    turn_for: Callable[[ConversationRef], Turn],
) -> TurnResult:
    """Record ``turn_for(ref)``; if the writer refused it because the customer was erased since
    ``ref`` was cached, forget ``ref`` and either say the conversation is gone (web chat: the
    session's token must stop working) or, on channels where the person simply writes again,
    resolve the sender afresh (the erasure renamed their identity, so this is a new customer)
    and record once more. Once: an erasure cannot catch a customer created a moment ago."""
    result = await turns.record(turn_for(ref))
    if not result.refused:
        return result
    customers.forget(ref)
    if not m.conversation_must_exist:
        ref = await resolve_sender(customers, m)
        result = await turns.record(turn_for(ref))
        if not result.refused:
            return result
        customers.forget(ref)
    raise ConversationGone("this conversation no longer exists; start a new one")


def inbound_record(ref: ConversationRef, m: InboundMessage) -> InboundRecord:
    """What the turn writer stores of an inbound message (also for messages recorded without
    running the rules, such as rate-limited mail)."""
    return InboundRecord(
        conversation=ref,
        channel=m.channel,
        idempotency_key=m.idempotency_key,
        text=m.text,
        received_at=m.received_at,
        sender_role=m.sender_role.value,
        sender_name=m.sender_name,
        subject=m.subject,
        attachments=tuple(a.stored() for a in m.attachments),
        external_message_id=m.external_message_id,
    )


def _outbound(result: TurnResult) -> tuple[OutboundMessage, ...]:
    return tuple(_stored_outbound(s) for s in result.replies)


def _stored_outbound(stored: StoredReply) -> OutboundMessage:
    payload = {**stored.record.delivery, "interaction_id": stored.interaction_id, "text": stored.record.text}
    return outbound_from_payload({**payload, "created_at": stored.created_at.isoformat()})
