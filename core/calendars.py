"""Business-hours calendars (``calendars.yml``) and the weekday / time-of-day checks rules use.

A calendar is a time zone, opening hours per weekday and closed dates (public holidays). All
checks take an aware ``datetime`` (the facts' ``now``, UTC) and convert it to the calendar's
zone, so daylight-saving changes are handled by ``zoneinfo`` rather than by the admin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["WEEKDAYS", "Calendar", "parse_calendar", "parse_span", "parse_zone"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Span = tuple[time, time]


@dataclass(frozen=True, slots=True)
class Calendar:
    name: str
    zone: ZoneInfo
    hours: tuple[tuple[Span, ...], ...]  # index 0 = Monday
    closed: frozenset[date]

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.zone)
        if local.date() in self.closed:
            return False
        clock = local.time().replace(tzinfo=None)
        return any(within(clock, span) for span in self.hours[local.weekday()])


def within(clock: time, span: Span) -> bool:
    start, end = span
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end  # a span across midnight, e.g. 22:00-06:00


def parse_zone(name: str) -> ZoneInfo:
    """The zone called ``name``; raises ``ValueError`` naming the problem."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use a name like 'Europe/Berlin' or 'UTC')") from None


def parse_span(text: str) -> Span:
    """``"09:00-18:00"`` → (09:00, 18:00); ``24:00`` means end of day."""
    try:
        left, right = (part.strip() for part in text.split("-"))
        start = _clock(left)
        end = time.max if right == "24:00" else _clock(right)
    except ValueError:
        raise ValueError(f"invalid time span {text!r} (write it as HH:MM-HH:MM, e.g. 09:00-18:00)") from None
    return start, end


def _clock(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def _days(key: str) -> list[int]:
    """``"mon-fri"`` / ``"sat"`` / ``"mon,wed"`` → weekday indices."""
    out: list[int] = []
    for part in key.lower().replace(" ", "").split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            a, b = WEEKDAYS.index(first), WEEKDAYS.index(last)
            out.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        else:
            out.append(WEEKDAYS.index(part))
    return out


def parse_calendar(
    name: str, *, timezone: str, hours: Mapping[str, Sequence[str]], closed: Sequence[date]
) -> tuple[Calendar | None, list[tuple[str, str]]]:
    """Build a calendar; problems come back as (key within the calendar, message) pairs."""
    problems: list[tuple[str, str]] = []
    try:
        zone = parse_zone(timezone)
    except ValueError as exc:
        problems.append(("timezone", str(exc)))
        zone = ZoneInfo("UTC")
    week: list[list[Span]] = [[] for _ in WEEKDAYS]
    for key, spans in hours.items():
        try:
            days = _days(key)
        except ValueError:
            problems.append(
                (key, f"unknown day {key!r} (use mon..sun, ranges like mon-fri, or lists like sat,sun)")
            )
            continue
        for text in spans:
            if text.strip().lower() == "closed":
                continue
            try:
                span = parse_span(text)
            except ValueError as exc:
                problems.append((key, str(exc)))
                continue
            for day in days:
                week[day].append(span)
    if problems:
        return None, problems
    return Calendar(name, zone, tuple(tuple(d) for d in week), frozenset(closed)), []
