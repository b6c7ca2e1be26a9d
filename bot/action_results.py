"""The ``{result.*}`` template variables: what a decision's actions did, for its replies to say.

A reply is rendered after the actions before it in the same decision, so it can say which ticket
the message went to (opened now or the open one), its priority before and after, its queue and
the team behind it (``settings.queue_labels``), and when an agent is expected to answer
(:mod:`ticketing.expected_wait`). The loader refuses replies that promise such things in plain
words where the rule cannot keep them (:mod:`rules.promises`); these variables are the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from ticketing.expected_wait import ExpectedReply
from ticketing.numbers import ticket_reference
from ticketing.turn_state import ConversationState
from ticketing.turn_types import TicketDraft

__all__ = ["ResultContext", "result_variables", "waiting_time"]

Expected = Callable[[Mapping[str, Any], datetime], ExpectedReply | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResultContext:
    """What the executor needs besides the turn's state to describe results."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    channel: str = "webchat"
    queue_labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    expected: Expected | None = None


def result_variables(
    context: ResultContext,
    state: ConversationState,
    new_ticket: TicketDraft | None,
    *,
    priority: str | None,
    tags: list[str] | None,
    wait: bool = True,
) -> dict[str, str]:
    """The variables for the ticket as it stands after the actions so far (empty: no ticket);
    ``wait``: with the expected reply time, the one that costs a little (a calendar walk)."""
    if new_ticket is not None:
        number, status = new_ticket.number, "new"
        before = after = new_ticket.priority
        queue, current = new_ticket.queue, list(new_ticket.tags)
    elif state.open_ticket_number is not None:
        number, status = state.open_ticket_number, "existing"
        before = state.ticket_priority or "normal"
        after = priority or before
        queue, current = (
            state.ticket_queue or "support",
            tags if tags is not None else list(state.ticket_tags),
        )
    else:
        return {}
    out = {
        "result.ticket": ticket_reference(number),
        "result.ticket_status": status,
        "result.priority": after,
        "result.priority_before": before,
        "result.queue": queue,
        "result.team": context.queue_labels.get(queue, queue),
        "result.tags": ", ".join(current),
    }
    if wait and context.expected is not None:
        ticket = {"priority": after, "tags": current, "queue": queue, "channel": context.channel}
        expected = context.expected(ticket, context.now)
        if expected is not None:
            out["result.wait"] = waiting_time(expected.seconds)
            due = expected.due.astimezone(expected.zone or UTC)
            out["result.reply_by"] = due.strftime("%a %H:%M ") + (due.tzname() or "UTC")
    return out


def waiting_time(seconds: float) -> str:
    """``14400`` → "4 hours", ``5400`` → "1 hour 30 minutes"."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes or not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)
