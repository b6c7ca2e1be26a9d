"""Business time: how many working seconds lie between two instants, and when N of them end.

SLA targets are measured in the business hours of a named calendar (``calendars.yml``, the
same file and format the rules use, parsed by :func:`core.calendars.parse_calendar`). The rule
engine only asks "is it open now?"; SLA clocks need arithmetic, so each weekday's slots become
sorted minute intervals of the local day and instants are walked slot by slot in the
calendar's zone (``zoneinfo`` handles daylight saving). Slots that overlap are refused: which
one would count twice is never what the admin meant.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.calendars import WEEKDAYS, Calendar
from core.errors import FrontdeskError

__all__ = ["BusinessCalendar", "CalendarProblem", "business_calendar"]

_HORIZON_DAYS = 3 * 366  # a target further away than this is a calendar with (almost) no hours
Slot = tuple[int, int]  # minutes since local midnight, [start, end)


class CalendarProblem(FrontdeskError, ValueError):
    """The calendar cannot measure business time (overlapping slots, no hours at all)."""


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    name: str
    zone: ZoneInfo
    week: tuple[tuple[Slot, ...], ...]  # index 0 = Monday; sorted, disjoint
    closed: frozenset[date]

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Business intervals (UTC) that end after ``start``, the first one clipped to it."""
        day = start.astimezone(self.zone).date() - timedelta(days=1)  # a slot may start yesterday
        for _ in range(_HORIZON_DAYS):
            if day not in self.closed:
                for first, last in self.week[day.weekday()]:
                    a, b = self._instant(day, first), self._instant(day, last)
                    if b > start:
                        yield max(a, start), b
            day += timedelta(days=1)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant when ``seconds`` of business time have passed since ``start``."""
        remaining = timedelta(seconds=max(seconds, 0.0))
        for a, b in self.intervals(start):
            if b - a >= remaining:
                return a + remaining
            remaining -= b - a
        raise CalendarProblem(f"calendar {self.name!r} has no business hours within {_HORIZON_DAYS} days")

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds in [start, end); 0 if end is not after start."""
        total = 0.0
        if end <= start:
            return total
        for a, b in self.intervals(start):
            if a >= end:
                break
            total += (min(b, end) - a).total_seconds()
        return total

    def _instant(self, day: date, minute: int) -> datetime:
        local = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minute)
        return local.astimezone(UTC)


def business_calendar(calendar: Calendar) -> BusinessCalendar:
    """Turn a rules calendar into one that can do arithmetic, or say why it cannot.

    Raises:
        CalendarProblem: two slots of one day overlap, or the week has no hours at all.
    """
    week: list[list[Slot]] = [[] for _ in WEEKDAYS]
    for index, spans in enumerate(calendar.hours):
        for begin, end in spans:
            first, last = _minute(begin), 1440 if end == time.max else _minute(end)
            if first < last:
                week[index].append((first, last))
            else:  # across midnight, e.g. 22:00-06:00: the rest of today, the start of tomorrow
                week[index].append((first, 1440))
                if last > 0:
                    week[(index + 1) % 7].append((0, last))
    for index, slots in enumerate(week):
        slots.sort()
        for (a1, b1), (a2, b2) in itertools.pairwise(slots):
            if a2 < b1:
                raise CalendarProblem(
                    f"{WEEKDAYS[index]}: slots {_clock(a1)}-{_clock(b1)} and {_clock(a2)}-{_clock(b2)} "
                    "overlap (make them disjoint, e.g. 09:00-12:00 and 13:00-17:00)"
                )
    if not any(week):
        raise CalendarProblem("has no business hours at all, so SLA clocks would never run")
    return BusinessCalendar(calendar.name, calendar.zone, tuple(tuple(s) for s in week), calendar.closed)


def _minute(clock: time) -> int:
    return clock.hour * 60 + clock.minute


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
