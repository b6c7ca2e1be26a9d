"""When an agent is expected to answer a ticket: its SLA reply target, counted in business hours.

The acknowledgement a customer gets for a message no rule answered ("an agent replies by Mon
09:30") is computed from the same policies and calendars the SLA clocks use (``sla.yml``,
``calendars.yml``), in memory, from the ticket fields the turn already has: no query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ticketing.business_hours import CalendarProblem
from ticketing.sla_config import SlaConfig

__all__ = ["ExpectedReply", "expected_reply"]


@dataclass(frozen=True, slots=True)
class ExpectedReply:
    seconds: float  # the target, in business time
    due: datetime  # UTC
    zone: ZoneInfo | None  # the policy's calendar's, for showing ``due``


def expected_reply(config: SlaConfig, ticket: Mapping[str, Any], now: datetime) -> ExpectedReply | None:
    """The first-reply target (else the next-reply one) of ``ticket``'s policy and priority from
    ``now``; None when no policy or target applies. ``ticket`` needs priority, tags, queue and
    channel, as the policies' ``when`` reads them."""
    policy = config.policy_for(ticket)
    targets = policy.targets.get(ticket.get("priority") or "normal") if policy is not None else None
    if policy is None or targets is None:
        return None
    seconds = targets.first_reply or targets.next_reply
    if seconds is None:
        return None
    calendar = config.calendar(policy.calendar)
    if calendar is None:
        return ExpectedReply(seconds, now + timedelta(seconds=seconds), None)
    try:
        return ExpectedReply(seconds, calendar.add(now, seconds), calendar.zone)
    except CalendarProblem:
        return None
