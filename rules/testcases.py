"""Rule test files (``rulebook/tests/*.yaml``): message → expected rule, reply, ticket.

Like Rasa's test stories, they let admins pin down what the bot does before they change a rule,
and run in their own CI with ``frontdesk rules test --all``. A case is analyzed by the real NLP
pipeline and decided by the real engine with hand-written facts; nothing is stored or sent.
The same fact fields (``customer``, ``conversation``, ``ticket``) are accepted by
``frontdesk rules test --customer '{tags: [vip]}'``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from core.yamlfile import RulebookError, line_of, load_yaml, one_of, validate
from nlp.types import AnalysisContext, Analyzer
from rules.decision import (
    ACTION_TYPES,
    Acknowledge,
    Action,
    Decision,
    HandOff,
    OpenTicket,
    Reply,
)
from rules.engine import Engine
from rules.facts import ConversationFacts, CustomerFacts, RuleFacts, TicketFacts
from rules.loader import RuleSet
from rules.macro_cases import MacroCase
from rules.schema import Channel, Priority, Status

__all__ = [
    "ACTION_KINDS",
    "CaseResult",
    "ConversationInput",
    "CustomerInput",
    "Expect",
    "KnownFailure",
    "Step",
    "Story",
    "TestCase",
    "TicketInput",
    "facts_from",
    "failures_of",
    "load_cases",
    "run_case",
]


# What `expect: {actions: [...]}` can name: the kinds of the decided actions (answer_faq and
# clarify decide a reply; ask decides ask, fill_slot or clear_ask).
ACTION_KINDS: tuple[str, ...] = tuple(action.kind for action in ACTION_TYPES)
ActionKind = Annotated[str, PlainValidator(one_of(lambda: ACTION_KINDS))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerInput(_Strict):
    name: str | None = None
    email: str | None = None
    tags: list[str] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict)
    first_contact: bool = False
    open_tickets: int = 0


class ConversationInput(_Strict):
    handed_off: bool = False
    turns: int = 1
    language: str | None = None
    has_open_ticket: bool = False
    automated_replies: int = 0
    rule_fires: dict[str, int] = Field(default_factory=dict)
    recent_rules: list[str] = Field(default_factory=list)
    slots: dict[str, str] = Field(default_factory=dict)
    ticket_priority: Priority = "normal"  # of the open ticket, with has_open_ticket
    ticket_queue: str = "support"
    ticket_status: Status = "open"  # of the open ticket, with has_open_ticket ("solved": awaits closing)


class TicketInput(_Strict):
    reference: str = "T-1001"
    status: Status = "open"
    priority: Priority = "normal"
    queue: str = "support"
    tags: list[str] = Field(default_factory=list)
    previous: dict[str, str] = Field(default_factory=dict)
    previous_tags: list[str] | None = None
    caused_by: list[str] = Field(default_factory=list)


class ExpectedTicket(_Strict):
    queue: str | None = None
    priority: Priority | None = None
    tags: list[str] = Field(default_factory=list)
    subject_contains: str | None = None


class Expect(_Strict):
    rule: str | None = None
    rules: list[str] | None = None
    reply_contains: list[str] | str | None = None
    buttons: list[str] | None = None  # the reply's button labels, exactly and in order
    no_reply: bool = False
    ticket: ExpectedTicket | Literal[False] | None = None
    hand_off: bool | None = None
    actions: list[ActionKind] | None = None
    # In stories (the state after the step, as the bot would keep it):
    slots: dict[str, str] | None = None
    asking: str | Literal[False] | None = None  # the slot the bot waits for, or none
    priority: Priority | None = None  # of the conversation's ticket
    ticket_status: Status | None = None  # of the conversation's ticket (a solved one reopens or not)
    acknowledgement: str | None = None  # part of the note of the acknowledgement decided


class TestCase(_Strict):
    __test__ = False  # not a pytest class

    name: str
    message: str = ""
    channel: Channel = "webchat"
    language: str | None = None
    event: Literal["message", "ticket"] = "message"
    customer: CustomerInput = Field(default_factory=CustomerInput)
    conversation: ConversationInput = Field(default_factory=ConversationInput)
    ticket: TicketInput | None = None
    now: datetime | None = None
    expect: Expect


class Step(_Strict):
    message: str
    now: datetime | None = None
    expect: Expect


class Story(_Strict):
    """Several messages of one conversation: each step sees the state the previous ones left."""

    __test__ = False

    name: str
    channel: Channel = "webchat"
    language: str | None = None
    customer: CustomerInput = Field(default_factory=CustomerInput)
    conversation: ConversationInput = Field(default_factory=ConversationInput)
    now: datetime | None = None
    steps: list[Step] = Field(min_length=1)


class KnownFailure(Story):
    """A story the bot fails today because it really misbehaves (``known_failures:`` in a test
    file): run and reported with ``why``, never hidden; once it passes, the runner says to move
    it to ``stories:``."""

    why: str = Field(min_length=1)


class _TestFile(_Strict):
    tests: list[TestCase] = Field(default_factory=list)
    stories: list[Story] = Field(default_factory=list)
    known_failures: list[KnownFailure] = Field(default_factory=list)
    macros: list[MacroCase] = Field(default_factory=list)  # rules/macro_cases.py


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: TestCase | Story | MacroCase
    location: str  # file:line
    decision: Decision
    failures: tuple[str, ...]
    fired: frozenset[str] = frozenset()  # every rule fired, in any step of a story

    @property
    def passed(self) -> bool:
        return not self.failures


def load_cases(directory: Path) -> list[tuple[str, TestCase | Story | MacroCase]]:
    """Every case, story and macro case in ``directory/*.yaml|yml`` with its ``file:line``;
    raises RulebookError."""
    out: list[tuple[str, TestCase | Story | MacroCase]] = []
    problems: list[str] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        data = load_yaml(path)
        try:
            parsed = validate(_TestFile, data, filename=str(path), error=RulebookError)
        except RulebookError as exc:
            problems.extend(exc.problems)
            continue
        out.extend((f"{path}:{line_of(data, ('tests', i))}", c) for i, c in enumerate(parsed.tests))
        out.extend((f"{path}:{line_of(data, ('stories', i))}", c) for i, c in enumerate(parsed.stories))
        out.extend(
            (f"{path}:{line_of(data, ('known_failures', i))}", c) for i, c in enumerate(parsed.known_failures)
        )
        out.extend((f"{path}:{line_of(data, ('macros', i))}", c) for i, c in enumerate(parsed.macros))
        if not parsed.tests and not parsed.stories and not parsed.known_failures and not parsed.macros:
            problems.append(f"{path}:1: give 'tests', 'stories', 'known_failures' or 'macros'")
    if problems:
        raise RulebookError(problems)
    return out


def facts_from(
    *,
    channel: str,
    event: Literal["message", "ticket"] = "message",
    customer: CustomerInput,
    conversation: ConversationInput,
    ticket: TicketInput | None = None,
    now: datetime | None = None,
) -> RuleFacts:
    return RuleFacts(
        channel=channel,
        event=event,
        customer=CustomerFacts(
            name=customer.name,
            email=customer.email,
            tags=frozenset(customer.tags),
            attributes=MappingProxyType(dict(customer.attributes)),
            first_contact=customer.first_contact,
            open_tickets=customer.open_tickets,
        ),
        conversation=ConversationFacts(
            handed_off=conversation.handed_off,
            turns=conversation.turns,
            language=conversation.language,
            has_open_ticket=conversation.has_open_ticket,
            automated_replies=conversation.automated_replies,
            rule_fires=MappingProxyType(dict(conversation.rule_fires)),
            recent_rules=tuple(conversation.recent_rules),
            slots=MappingProxyType(dict(conversation.slots)),
            ticket_reference="T-1001" if conversation.has_open_ticket else None,
            ticket_priority=conversation.ticket_priority if conversation.has_open_ticket else None,
            ticket_queue=conversation.ticket_queue if conversation.has_open_ticket else None,
            ticket_status=conversation.ticket_status if conversation.has_open_ticket else None,
        ),
        ticket=None
        if ticket is None
        else TicketFacts(
            reference=ticket.reference,
            status=ticket.status,
            priority=ticket.priority,
            queue=ticket.queue,
            tags=frozenset(ticket.tags),
            previous=MappingProxyType(dict(ticket.previous)),
            previous_tags=None if ticket.previous_tags is None else frozenset(ticket.previous_tags),
            caused_by=tuple(ticket.caused_by),
        ),
        now=(now or datetime.now(UTC)).astimezone(UTC),
    )


def run_case(case: TestCase, location: str, *, analyzer: Analyzer, ruleset: RuleSet) -> CaseResult:
    analysis = analyzer.analyze(case.message, AnalysisContext(channel=case.channel, language=case.language))
    facts = facts_from(
        channel=case.channel,
        event=case.event,
        customer=case.customer,
        conversation=case.conversation,
        ticket=case.ticket,
        now=case.now,
    )
    decision = Engine(ruleset=ruleset, rng=random.Random(0)).decide(analysis, facts, explain=True)  # noqa: S311
    failures = tuple(failures_of(case.expect, decision))
    return CaseResult(case, location, decision, failures, frozenset(decision.rules_fired))


def failures_of(expect: Expect, decision: Decision, said: list[str] | None = None) -> list[str]:
    """What ``decision`` does differently from ``expect``; ``said``: the replies as the bot
    would send them (variables filled), checked by ``reply_contains`` besides the templates."""
    out: list[str] = []
    fired = list(decision.rules_fired)
    if expect.rule is not None and expect.rule not in fired:
        out.append(f"expected rule {expect.rule!r} to fire, fired: {', '.join(fired) or 'none'}")
    if expect.rules is not None and expect.rules != fired:
        out.append(f"expected rules {expect.rules}, fired: {fired}")
    replies = [a.template for a in decision.actions if isinstance(a, Reply)]
    replies += [a.template for a in decision.actions if isinstance(a, Acknowledge) and a.template]
    replies += said or []
    wanted = (
        [expect.reply_contains] if isinstance(expect.reply_contains, str) else expect.reply_contains or []
    )
    for text in wanted:
        if not any(text.lower() in r.lower() for r in replies):
            out.append(f"expected a reply containing {text!r}, replies: {replies or 'none'}")
    if expect.buttons is not None:
        shown = [b.label for a in decision.actions if isinstance(a, Reply) for b in a.quick_replies]
        if shown != expect.buttons:
            out.append(f"expected buttons {expect.buttons}, got {shown}")
    if expect.no_reply and replies:
        out.append(f"expected no reply, got {replies}")
    tickets = [a for a in decision.actions if isinstance(a, OpenTicket)]
    if expect.ticket is False and tickets:
        out.append(f"expected no ticket, got {tickets[0]}")
    elif isinstance(expect.ticket, ExpectedTicket):
        out.extend(_ticket_failures(expect.ticket, tickets))
    hand_off = any(isinstance(a, HandOff) for a in decision.actions)
    if expect.hand_off is not None and expect.hand_off != hand_off:
        out.append(f"expected hand_off {expect.hand_off}, got {hand_off}")
    if expect.actions is not None:
        kinds = [_kind(a) for a in decision.actions]
        if kinds != expect.actions:
            out.append(f"expected actions {expect.actions}, got {kinds}")
    return out


def _ticket_failures(want: ExpectedTicket, tickets: list[OpenTicket]) -> list[str]:
    if not tickets:
        return ["expected a ticket, none opened"]
    t = tickets[0]
    out = []
    if want.queue is not None and t.queue != want.queue:
        out.append(f"expected ticket queue {want.queue!r}, got {t.queue!r}")
    if want.priority is not None and t.priority != want.priority:
        out.append(f"expected ticket priority {want.priority!r}, got {t.priority!r}")
    missing = [tag for tag in want.tags if tag not in t.tags]
    if missing:
        out.append(f"expected ticket tags {missing} among {list(t.tags)}")
    if want.subject_contains is not None and want.subject_contains.lower() not in t.subject.lower():
        out.append(f"expected ticket subject containing {want.subject_contains!r}, got {t.subject!r}")
    return out


_KINDS: dict[type[Action], str] = {action: action.kind for action in ACTION_TYPES}


def _kind(action: Action) -> str:
    return action.kind
