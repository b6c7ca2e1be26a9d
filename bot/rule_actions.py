"""The one executor of rule actions: what each decided action does, in a turn and on a ticket event.

Message rules decide inside a conversation turn's write transaction: their actions fold into
a :class:`TurnWork` (a working copy of the conversation's state) that becomes the turn's storage
``Plan`` (:mod:`bot.turn_plan`). Ticket rules decide on a change already on the audit trail:
their actions write through the feed's transaction (:class:`TicketWork`, run by
:mod:`bot.ticket_rules`). :data:`EFFECTS` holds one entry per decided action type with both
effects; ``ticket=None`` marks a type only actions the loader refuses in ``event: ticket``
rules decide (``rules.actions.SPEC_KINDS`` says why), so a new action is its schema, its
``SPEC_KINDS`` entry, one entry here, its docs and its tests (docs/rules.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

from bot.action_results import ResultContext, result_variables
from bot.fill_variables import render
from core.contracts import QuickReply
from rules.decision import (
    ACTION_TYPES,
    Acknowledge,
    Action,
    AddNote,
    AskSlot,
    ClearAsk,
    CloseConversation,
    Decision,
    FillSlot,
    HandOff,
    KeepSolved,
    NotifySlack,
    OpenTicket,
    Reply,
    SetAttribute,
    SetTicket,
    Tag,
    Untag,
)
from ticketing.event_feed import EventBatch
from ticketing.numbers import ticket_reference
from ticketing.ticket_rows import TicketRow
from ticketing.turns import ConversationState, ReplyRecord, TicketDraft

__all__ = [
    "EFFECTS",
    "ActionEffect",
    "ReplyFactory",
    "TicketWork",
    "TurnWork",
    "apply_to_ticket",
    "apply_to_turn",
]

_LOGGER = logging.getLogger(__name__)
A = TypeVar("A", bound=Action)


class ReplyFactory(Protocol):
    def __call__(
        self, text: str, rule: str, quick_replies: tuple[QuickReply, ...] = (), ticket: str | None = None
    ) -> ReplyRecord: ...


@dataclass(kw_only=True)
class TurnWork:
    """A decision's actions applied in order to a working copy of the conversation's state."""

    decision: Decision
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
    results: ResultContext = field(default_factory=ResultContext)
    dialog: dict[str, Any] | None = None  # the conversation's new dialog, when changed
    ticket_priority: str | None = None  # the open ticket raised to this priority
    keep_solved: bool = False  # the message closed the loop: its solved ticket is not reopened

    @property
    def actor(self) -> str:
        return f"rule:{self.decision.rule}"

    def changed_dialog(self) -> dict[str, Any]:
        if self.dialog is None:
            self.dialog = {key: value for key, value in self.state.dialog.items()}
        return self.dialog

    def variables(self, template: str) -> dict[str, str]:
        """``{ticket}``, ``{bot_name}`` and ``{result.*}`` as things stand after the actions so far
        (only those ``template`` uses: most replies need none of them)."""
        out = (
            result_variables(
                self.results,
                self.state,
                self.new_ticket,
                priority=self.ticket_priority,
                tags=self.ticket_tags,
                wait="{result.wait" in template or "{result.reply_by" in template,
            )
            if "{result." in template
            else {}
        )
        out["bot_name"] = self.bot_name
        if self.ticket is not None:
            out["ticket"] = self.ticket
        return out

    @property
    def ticket(self) -> str | None:
        if self.new_ticket is not None:
            return ticket_reference(self.new_ticket.number)
        number = self.state.open_ticket_number
        return ticket_reference(number) if number is not None else None

    def event(self, kind: str, data: dict[str, Any]) -> None:
        """An audit event on the conversation's ticket, if it has or is opening one."""
        if self.new_ticket is None and self.state.open_ticket_number is None:
            _LOGGER.info("rule %s: no ticket to record %r on; skipped", self.decision.rule, kind)
            return
        self.events.append((self.actor, kind, data))


@dataclass(kw_only=True)
class TicketWork:
    """A decision on one ticket event, written through the feed's transaction."""

    batch: EventBatch
    decision: Decision
    ticket: TicketRow
    chain: tuple[str, ...]  # the rules behind what this decision writes, oldest first
    bot_name: str
    replied: bool = False

    @property
    def actor(self) -> str:
        return f"rule:{self.decision.rule}"[:200]

    @property
    def reference(self) -> str:
        return ticket_reference(self.ticket["number"])

    def skipped(self, action: Action) -> None:
        _LOGGER.info(
            "rule %s: %s is not available on ticket events; skipped",
            self.decision.rule,
            type(action).__name__,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionEffect(Generic[A]):
    turn: Callable[[TurnWork, A], None]
    ticket: Callable[[TicketWork, A], Awaitable[None]] | None  # None: refused in ticket rules


def apply_to_turn(work: TurnWork, action: Action) -> None:
    EFFECTS[type(action)].turn(work, action)


async def apply_to_ticket(work: TicketWork, action: Action) -> None:
    effect = EFFECTS[type(action)].ticket
    if effect is None:
        work.skipped(action)
    else:
        await effect(work, action)


def _open_ticket(work: TurnWork, action: OpenTicket) -> None:
    if work.state.open_ticket_number is None and work.new_ticket is None:
        work.new_ticket = TicketDraft(
            number=work.take_number(),
            subject=action.subject,
            actor=work.actor,
            queue=action.queue,
            priority=action.priority,
            tags=action.tags,
        )


def _reply(work: TurnWork, action: Reply) -> None:
    buttons = tuple(QuickReply(b.label, b.payload) for b in action.quick_replies)
    text = render(action.template, work.variables(action.template))
    work.replies.append(work.reply(text, work.decision.rule, buttons, work.ticket))


def _ask(work: TurnWork, action: AskSlot) -> None:
    asking = {"slot": action.slot, "rule": action.rule, "attempts": action.attempts}
    work.changed_dialog()["asking"] = asking


def _fill(work: TurnWork, action: FillSlot) -> None:
    dialog = work.changed_dialog()
    dialog["slots"] = {**(dialog.get("slots") or {}), action.slot: action.value}
    dialog.pop("asking", None)


def _clear_ask(work: TurnWork, action: ClearAsk) -> None:
    work.changed_dialog().pop("asking", None)


_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


def _set_ticket(work: TurnWork, action: SetTicket) -> None:
    if work.new_ticket is not None:
        if _RANK[action.priority] > _RANK.get(work.new_ticket.priority, 1):
            work.new_ticket = replace(work.new_ticket, priority=action.priority)
        return
    if work.state.open_ticket_number is None:
        _LOGGER.info("rule %s sets a ticket's priority, but the conversation has none", work.decision.rule)
        return
    current = work.ticket_priority or work.state.ticket_priority or "normal"
    if _RANK[action.priority] > _RANK.get(current, 1):
        work.ticket_priority = action.priority  # written with its event and SLA change (ticketing/turns)


def _acknowledge(work: TurnWork, action: Acknowledge) -> None:
    if action.template is None:  # deliberately not repeated: the note is kept with the message
        return
    buttons: tuple[QuickReply, ...] = ()
    text = render(action.template, work.variables(action.template))
    work.replies.append(work.reply(text, "acknowledge", buttons, work.ticket))
    if work.ticket is not None:
        work.changed_dialog()["ack"] = {"ticket": work.ticket, "at": work.results.now.isoformat()}


def _keep_solved(work: TurnWork, action: KeepSolved) -> None:
    work.keep_solved = True
    work.events.append(("customer", "closing", {"intent": action.intent}))


async def _reply_on_ticket(work: TicketWork, action: Reply) -> None:
    conversation = work.ticket["conversation_id"]
    if conversation is None:
        work.skipped(action)
        return
    text = render(action.template, {"ticket": work.reference, "bot_name": work.bot_name})
    await work.batch.send(
        conversation_id=conversation,
        text=text,
        ticket_id=work.ticket["id"],
        sender_name=work.bot_name,
        rule=work.decision.rule,
        quick_replies=tuple({"label": b.label, "payload": b.payload} for b in action.quick_replies),
    )
    work.replied = True


def _hand_off(work: TurnWork, action: HandOff) -> None:
    work.hand_off = True
    work.event("handed_off", {"note": action.note} if action.note else {})


def _changed(current: list[str], tags: tuple[str, ...], adding: bool) -> list[str]:
    if adding:
        return current + [t for t in tags if t not in current]
    return [t for t in current if t not in tags]


def _retag(adding: bool) -> Callable[[TurnWork, Tag | Untag], None]:
    def retag(work: TurnWork, action: Tag | Untag) -> None:
        if action.target == "customer":
            current = work.customer_tags if work.customer_tags is not None else list(work.state.customer_tags)
            work.customer_tags = _changed(current, action.tags, adding)
            return
        if work.new_ticket is not None:
            tags = _changed(list(work.new_ticket.tags), action.tags, adding)
            work.new_ticket = replace(work.new_ticket, tags=tuple(tags))
            return
        if work.state.open_ticket_number is None:
            _LOGGER.info("rule %s tags a ticket, but the conversation has none", work.decision.rule)
            return
        current = work.ticket_tags if work.ticket_tags is not None else list(work.state.ticket_tags)
        work.ticket_tags = _changed(current, action.tags, adding)
        work.event("tags", {"added" if adding else "removed": list(action.tags)})

    return retag


def _retag_ticket(adding: bool) -> Callable[[TicketWork, Tag | Untag], Awaitable[None]]:
    async def retag(work: TicketWork, action: Tag | Untag) -> None:
        if action.target != "ticket":  # the loader refuses customer tags in ticket rules
            work.skipped(action)
            return
        current = await work.batch.ticket(work.ticket["id"])
        if current["status"] == "closed":  # final; raising would retry this event forever
            _LOGGER.info("rule %s: %s is closed; tags not changed", work.decision.rule, work.reference)
            return
        await work.batch.set_tags(
            current,
            work.actor,
            add=action.tags if adding else (),
            remove=() if adding else action.tags,
            caused_by=work.chain,
        )

    return retag


def _set_attribute(work: TurnWork, action: SetAttribute) -> None:
    work.attributes = {**(work.attributes or work.state.customer_attributes), action.name: action.value}


def _close(work: TurnWork, action: CloseConversation) -> None:
    work.close = True


def _note(work: TurnWork, action: AddNote) -> None:
    work.event("note", {"text": action.text})


async def _note_on_ticket(work: TicketWork, action: AddNote) -> None:
    await work.batch.record(work.ticket["id"], work.actor, "note", {"text": action.text})


def _notify_data(action: NotifySlack) -> dict[str, Any]:
    # The Slack connector posts ticket events of this kind to the channel.
    return {"slack": f"#{action.channel}", "text": action.text}


def _notify(work: TurnWork, action: NotifySlack) -> None:
    work.event("notify", _notify_data(action))


async def _notify_on_ticket(work: TicketWork, action: NotifySlack) -> None:
    await work.batch.record(work.ticket["id"], work.actor, "notify", _notify_data(action))


def _effect(
    _: type[A],
    *,
    turn: Callable[[TurnWork, A], None],
    ticket: Callable[[TicketWork, A], Awaitable[None]] | None,
) -> ActionEffect[Any]:
    """An entry, type-checked against its action type."""
    return ActionEffect(turn=turn, ticket=ticket)


EFFECTS: Mapping[type[Action], ActionEffect[Any]] = MappingProxyType(
    {
        Reply: _effect(Reply, turn=_reply, ticket=_reply_on_ticket),
        OpenTicket: _effect(OpenTicket, turn=_open_ticket, ticket=None),
        HandOff: _effect(HandOff, turn=_hand_off, ticket=None),
        AddNote: _effect(AddNote, turn=_note, ticket=_note_on_ticket),
        Tag: _effect(Tag, turn=_retag(adding=True), ticket=_retag_ticket(adding=True)),
        Untag: _effect(Untag, turn=_retag(adding=False), ticket=_retag_ticket(adding=False)),
        SetAttribute: _effect(SetAttribute, turn=_set_attribute, ticket=None),
        CloseConversation: _effect(CloseConversation, turn=_close, ticket=None),
        NotifySlack: _effect(NotifySlack, turn=_notify, ticket=_notify_on_ticket),
        AskSlot: _effect(AskSlot, turn=_ask, ticket=None),
        FillSlot: _effect(FillSlot, turn=_fill, ticket=None),
        ClearAsk: _effect(ClearAsk, turn=_clear_ask, ticket=None),
        SetTicket: _effect(SetTicket, turn=_set_ticket, ticket=None),
        Acknowledge: _effect(Acknowledge, turn=_acknowledge, ticket=None),
        KeepSolved: _effect(KeepSolved, turn=_keep_solved, ticket=None),
    }
)
assert set(EFFECTS) == set(ACTION_TYPES), "every decided action type needs one entry in EFFECTS"
