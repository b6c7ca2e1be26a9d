"""Conversation stories (``stories:`` in ``rulebook/tests/*.yaml``): several messages in a row.

A story's steps are analyzed and decided like single cases, but each step sees the state the
previous ones left, kept the way the bot keeps it: the slots and the pending question, the
ticket a step opened (numbered from T-1001) with its priority, queue and tags, the hand-off,
the counters the loop guards read and the last acknowledgement. Replies are also rendered with
``{ticket}`` and the ``{result.*}`` variables, so ``reply_contains`` can check what the customer
would read. The expected wait (``{result.wait}``, ``{result.reply_by}``) needs the SLA files,
which rule tests do not load: those variables take their fallbacks. Nothing is stored or sent.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta
from types import MappingProxyType

from nlp.types import AnalysisContext, Analyzer
from rules.decision import (
    Acknowledge,
    AskSlot,
    ClearAsk,
    Decision,
    FillSlot,
    HandOff,
    KeepSolved,
    OpenTicket,
    Reply,
    SetTicket,
    Tag,
    Untag,
)
from rules.engine import Engine
from rules.facts import Asking, RuleFacts
from rules.loader import RuleSet
from rules.macro_cases import MacroCase, macro_failures
from rules.schema import PRIORITIES
from rules.templates import render
from rules.testcases import (
    CaseResult,
    ConversationInput,
    Expect,
    Story,
    TestCase,
    facts_from,
    failures_of,
    run_case,
)

__all__ = ["run_any", "run_story"]

_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
_LEFT = re.compile(r"\{(?:result\.[a-z_]+|ticket|bot_name)(?:\|([^{}]*))?\}")


@dataclass(slots=True)
class _Ticket:
    reference: str
    priority: str
    queue: str
    tags: list[str] = field(default_factory=list)
    status: str = "open"


@dataclass(slots=True)
class _Turn:
    """One decision carried out on the story's state, the way the bot's executor does."""

    said: list[str] = field(default_factory=list)
    ticket: _Ticket | None = None
    note: str | None = None


def _first_ticket(c: ConversationInput) -> _Ticket | None:
    """The ticket a case or story starts with (``conversation: {has_open_ticket: true}``)."""
    if not c.has_open_ticket:
        return None
    return _Ticket("T-1001", c.ticket_priority, c.ticket_queue, status=c.ticket_status)


def run_any(
    case: TestCase | Story | MacroCase, location: str, *, analyzer: Analyzer, ruleset: RuleSet
) -> CaseResult:
    """A story, a macro case, or a single case whose replies are also checked as the customer
    would read them."""
    if isinstance(case, MacroCase):  # rules/macro_cases.py: no message, no decision
        failures = tuple(macro_failures(case, ruleset.macros))
        decided = Decision(actions=(), rule="", reason=f"macro {case.macro}")
        return CaseResult(case, location, decided, failures)
    if isinstance(case, Story):
        return run_story(case, location, analyzer=analyzer, ruleset=ruleset)
    result = run_case(case, location, analyzer=analyzer, ruleset=ruleset)
    if result.passed or case.event != "message":
        return result
    conversation = case.conversation
    ticket = _first_ticket(conversation)
    numbers = iter(range(1001 if ticket is None else 1002, 10**6))
    turn = _carry_out(result.decision, ticket, numbers, ruleset)
    return replace(result, failures=tuple(failures_of(case.expect, result.decision, turn.said)))


def run_story(story: Story, location: str, *, analyzer: Analyzer, ruleset: RuleSet) -> CaseResult:
    engine = Engine(ruleset=ruleset, rng=random.Random(0))  # noqa: S311
    facts = facts_from(
        channel=story.channel, customer=story.customer, conversation=story.conversation, now=story.now
    )
    conversation = story.conversation
    ticket = _first_ticket(conversation)
    numbers = iter(range(1001 if ticket is None else 1002, 10**6))
    now = facts.now - timedelta(minutes=1)  # the first step is at the story's now, each next a minute on
    decision = Decision(actions=(), rule="", reason="no steps")
    fired: set[str] = set()
    for n, step in enumerate(story.steps, 1):
        now = step.now.astimezone(UTC) if step.now else now + timedelta(minutes=1)
        facts = replace(facts, now=now)
        analysis = analyzer.analyze(
            step.message, AnalysisContext(channel=story.channel, language=story.language)
        )
        if facts.conversation.handed_off:
            decision = engine.acknowledge(analysis, facts)
        else:
            decision = engine.decide(analysis, facts, explain=True)
        fired.update(decision.rules_fired)
        turn = _carry_out(decision, ticket, numbers, ruleset)
        ticket = turn.ticket
        facts = _next_facts(facts, decision, ticket, len(turn.said))
        failures = failures_of(step.expect, decision, turn.said) + _state_failures(step.expect, facts, turn)
        if failures:
            where = f"step {n} ({step.message!r})"
            said = tuple(f"{where}: {f}" for f in failures)
            return CaseResult(story, location, decision, said, frozenset(fired))
    return CaseResult(story, location, decision, (), frozenset(fired))


def _carry_out(decision: Decision, ticket: _Ticket | None, numbers: Iterator[int], ruleset: RuleSet) -> _Turn:
    turn = _Turn(ticket=None if ticket is None else replace(ticket, tags=list(ticket.tags)))
    before = ticket.priority if ticket is not None else None
    waiting = turn.ticket is not None and turn.ticket.status in ("pending", "on-hold", "solved")
    # The customer wrote on it: the bot reopens it, unless the message closed the loop.
    if waiting and turn.ticket is not None and not any(isinstance(a, KeepSolved) for a in decision.actions):
        turn.ticket.status = "open"
    for action in decision.actions:
        if isinstance(action, OpenTicket) and turn.ticket is None:
            reference = f"T-{next(numbers)}"
            turn.ticket = _Ticket(reference, action.priority, action.queue, list(action.tags))
            before = action.priority
        elif isinstance(action, SetTicket) and turn.ticket is not None:
            if _RANK[action.priority] > _RANK[turn.ticket.priority]:
                turn.ticket.priority = action.priority
        elif isinstance(action, Tag | Untag) and action.target == "ticket" and turn.ticket is not None:
            kept = [t for t in turn.ticket.tags if t not in action.tags]
            turn.ticket.tags = kept + list(action.tags) if isinstance(action, Tag) else kept
        elif isinstance(action, Reply):
            turn.said.append(_render(action.template, turn.ticket, before, ruleset))
        elif isinstance(action, Acknowledge):
            turn.note = action.note
            if action.template is not None:
                turn.said.append(_render(action.template, turn.ticket, before, ruleset))
    return turn


def _render(template: str, ticket: _Ticket | None, before: str | None, ruleset: RuleSet) -> str:
    if ticket is None:
        return _LEFT.sub(lambda m: m.group(1) or m.group(0), template)
    variables = {
        "ticket": ticket.reference,
        "bot_name": "Frontdesk",
        "result.ticket": ticket.reference,
        "result.priority": ticket.priority,
        "result.priority_before": before or ticket.priority,
        "result.queue": ticket.queue,
        "result.team": ruleset.queue_labels.get(ticket.queue, ticket.queue),
        "result.tags": ", ".join(ticket.tags),
    }
    return _LEFT.sub(lambda m: m.group(1) or m.group(0), render(template, variables))


def _next_facts(facts: RuleFacts, decision: Decision, ticket: _Ticket | None, replies: int) -> RuleFacts:
    c = facts.conversation
    slots, asking, acknowledged, handed_off = dict(c.slots), c.asking, c.acknowledged, c.handed_off
    for action in decision.actions:
        if isinstance(action, AskSlot):
            asking = Asking(action.slot, action.rule, action.attempts)
        elif isinstance(action, FillSlot):
            slots[action.slot] = action.value
            asking = None
        elif isinstance(action, ClearAsk):
            asking = None
        elif isinstance(action, HandOff):
            handed_off = True
        elif isinstance(action, Acknowledge) and action.template is not None and ticket is not None:
            acknowledged = (ticket.reference, facts.now)
    fires = dict(c.rule_fires)
    for rule in decision.rules_fired or ((decision.rule,) if decision.rule else ()):
        fires[rule] = fires.get(rule, 0) + 1
    answered = (decision.rule,) * replies if decision.rule else ()
    conversation = replace(
        c,
        handed_off=handed_off,
        turns=c.turns + 1,
        has_open_ticket=ticket is not None,
        ticket_reference=ticket.reference if ticket else None,
        ticket_priority=ticket.priority if ticket else None,
        ticket_queue=ticket.queue if ticket else None,
        ticket_status=ticket.status if ticket else None,
        automated_replies=c.automated_replies + replies,
        rule_fires=MappingProxyType(fires),
        recent_rules=(*c.recent_rules, *answered)[-3:],
        slots=MappingProxyType(slots),
        asking=asking,
        acknowledged=acknowledged,
    )
    return replace(facts, conversation=conversation)


def _state_failures(expect: Expect, facts: RuleFacts, turn: _Turn) -> list[str]:
    out: list[str] = []
    c = facts.conversation
    for name, value in (expect.slots or {}).items():
        if c.slots.get(name) != value:
            out.append(f"expected slot {name} = {value!r}, got {c.slots.get(name)!r}")
    if expect.asking is False and c.asking is not None:
        out.append(f"expected no pending question, the bot waits for {c.asking.slot}")
    elif isinstance(expect.asking, str) and (c.asking is None or c.asking.slot != expect.asking):
        out.append(
            f"expected the bot to wait for {expect.asking}, got {c.asking.slot if c.asking else 'none'}"
        )
    if expect.priority is not None and c.ticket_priority != expect.priority:
        out.append(f"expected ticket priority {expect.priority!r}, got {c.ticket_priority!r}")
    if expect.ticket_status is not None and c.ticket_status != expect.ticket_status:
        out.append(f"expected ticket status {expect.ticket_status!r}, got {c.ticket_status!r}")
    if expect.acknowledgement is not None and expect.acknowledgement not in (turn.note or ""):
        out.append(f"expected an acknowledgement noting {expect.acknowledgement!r}, got {turn.note!r}")
    return out
