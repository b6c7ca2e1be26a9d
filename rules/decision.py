"""What the rule engine decides: ordered actions plus which rule fired and why.

The engine never performs an action; the bot executes a :class:`Decision`. That keeps rule
evaluation pure (``frontdesk rules test`` can show a decision without side effects) and lets
storage apply all of a message's effects in one transaction.

Actions that only need the analysis (answer with the best FAQ, ask a clarifying question) are
resolved by the engine into a :class:`Reply`, so the executor only sees the actions below.
Texts are already rendered except ``{ticket}`` and ``{bot_name}``, which only the executor knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, get_args

__all__ = [
    "ACTION_TYPES",
    "DERIVED_KINDS",
    "Acknowledge",
    "Action",
    "AddNote",
    "AskSlot",
    "ClearAsk",
    "CloseConversation",
    "Decision",
    "FillSlot",
    "HandOff",
    "KeepSolved",
    "NotifySlack",
    "OpenTicket",
    "QuickReplyButton",
    "Reply",
    "RuleTrace",
    "SetAttribute",
    "SetTicket",
    "Tag",
    "TagTarget",
    "Untag",
]

TagTarget = Literal["customer", "ticket"]


@dataclass(frozen=True, slots=True)
class QuickReplyButton:
    label: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """Send text to the customer. ``{ticket}`` and ``{bot_name}`` are filled in by the bot."""

    kind: ClassVar[str] = "reply"

    template: str
    quick_replies: tuple[QuickReplyButton, ...] = ()


@dataclass(frozen=True, slots=True)
class OpenTicket:
    """Open a ticket, or add the message to the conversation's open ticket if it has one."""

    kind: ClassVar[str] = "open_ticket"

    subject: str
    queue: str = "support"
    priority: str = "normal"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HandOff:
    """From now on an agent answers this conversation; the bot stays quiet."""

    kind: ClassVar[str] = "hand_off"

    note: str = ""


@dataclass(frozen=True, slots=True)
class AddNote:
    """An internal note on the conversation's ticket (opened by an earlier action if needed)."""

    kind: ClassVar[str] = "add_note"

    text: str


@dataclass(frozen=True, slots=True)
class Tag:
    """Add tags to the customer or to the conversation's ticket."""

    kind: ClassVar[str] = "tag"

    target: TagTarget
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Untag:
    """Remove tags from the customer or from the conversation's ticket."""

    kind: ClassVar[str] = "untag"

    target: TagTarget
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetAttribute:
    """Set one attribute on the customer record (``customers.attributes[name] = value``)."""

    kind: ClassVar[str] = "set_attribute"

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class CloseConversation:
    """Mark the conversation closed; the customer's next message starts a new one."""

    kind: ClassVar[str] = "close_conversation"


@dataclass(frozen=True, slots=True)
class NotifySlack:
    """Post ``text`` to a Slack channel (the Slack connector delivers it through the outbox)."""

    kind: ClassVar[str] = "notify"

    channel: str
    text: str


@dataclass(frozen=True, slots=True)
class AskSlot:
    """The bot asked for ``slot`` (its prompt is a :class:`Reply` beside it); the next message
    may answer, and ``rule`` resumes after its ``ask`` once it does."""

    kind: ClassVar[str] = "ask"

    slot: str
    rule: str
    attempts: int = 1


@dataclass(frozen=True, slots=True)
class FillSlot:
    """Keep ``value`` as the conversation's ``slot`` (``{slots.<name>}``, ``when: {slot: ...}``)."""

    kind: ClassVar[str] = "fill_slot"

    slot: str
    value: str


@dataclass(frozen=True, slots=True)
class ClearAsk:
    """Stop waiting for an answer: the customer cancelled, changed the subject, or ran out of tries."""

    kind: ClassVar[str] = "clear_ask"

    slot: str
    why: str


@dataclass(frozen=True, slots=True)
class SetTicket:
    """Raise the priority of the ticket this decision opens or the conversation's open ticket
    (never lowers it)."""

    kind: ClassVar[str] = "set_ticket"

    priority: str


@dataclass(frozen=True, slots=True)
class Acknowledge:
    """Tell the customer their message was received when no rule replied (``settings.acknowledge``);
    ``template`` None: deliberately not repeated, ``note`` says why (kept with the message)."""

    kind: ClassVar[str] = "acknowledge"

    template: str | None
    note: str


@dataclass(frozen=True, slots=True)
class KeepSolved:
    """The customer closed the loop ("thanks", "bye") on a solved ticket (``settings.closing``):
    the message is recorded on the ticket, so an agent sees it, and does not reopen it."""

    kind: ClassVar[str] = "keep_solved"

    intent: str


Action = (
    Reply | OpenTicket | HandOff | AddNote | Tag | Untag | SetAttribute | CloseConversation | NotifySlack
    | AskSlot | FillSlot | ClearAsk | SetTicket | Acknowledge | KeepSolved
)  # fmt: skip
# Decided kinds that are no key of a rule's ``then``: what they come from. ``ask`` decides whether
# a slot was filled or the question dropped; ``settings.acknowledge`` is the rulebook's, for
# messages (never ticket events).
DERIVED_KINDS: dict[str, str] = {
    "fill_slot": "ask",
    "clear_ask": "ask",
    "acknowledge": "settings.acknowledge",
    "keep_solved": "settings.closing",
}
# Every decided action type; each ``kind`` is what rule tests' ``expect: {actions: [...]}`` name, and
# the bot's executor (bot/rule_actions.py) has one entry per type.
ACTION_TYPES: tuple[type[Action], ...] = get_args(Action)


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """How one rule fared against one message: matched, or the first condition that failed."""

    rule: str
    matched: bool
    reason: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    actions: tuple[Action, ...]
    rule: str
    reason: str
    rules_fired: tuple[str, ...] = ()
    trace: tuple[RuleTrace, ...] = field(default=())
