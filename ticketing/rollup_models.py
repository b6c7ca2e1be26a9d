"""The report rollup tables: hourly, daily and weekly counters the console's dashboard sums at query time.

Why rollup rows and not scans of ``interactions``: a dashboard over 30 days would otherwise read
every message of those days; here it reads a few dozen counters per day, however busy the service
is. Three grains hold the same counts: ``report_hourly`` (UTC hours), ``report_daily`` (UTC days,
migration 0013) and ``report_weekly`` (weeks from Monday 00:00 UTC, migration 0015), added to in
the same transaction by :mod:`ticketing.rollups` (off the message path), so a day's row is always
the sum of its 24 hours and a week's the sum of its 7 days. :mod:`ticketing.report_reads` reads
the coarsest grain that fits inside a range and the finer ones only at its edges: a year charted
by week is 52 weeks of counters instead of 8,784 hours.

One narrow row per (metric, hour, channel, queue, key): ``key`` holds a bucket, a score, a label
or an intent name ('' when the metric has none); ``queue`` is '' for conversation-level metrics.
Durations are counted in fixed log-spaced buckets (:data:`DURATION_BUCKETS`), so percentiles are
read from the counts: a percentile is reported as the upper bound of the bucket it falls in.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models import Base

__all__ = [
    "DURATION_BUCKETS",
    "METRICS",
    "ReportDaily",
    "ReportHourly",
    "ReportWeekly",
    "bucket_bound",
    "day_of",
    "duration_bucket",
    "hour_of",
    "intent_key",
    "week_of",
]

METRICS = (
    "conversations",  # conversations whose first customer message was in the hour
    "conversations_ticketed",  # of those, opened a ticket (counted in the conversation's start hour)
    "messages_in",  # customer messages
    "unanswered",  # customer messages out of scope or answered by the fallback rule
    "sentiment",  # customer messages by sentiment label (key)
    "complaints",  # customer messages classified as complaints
    "intent",  # customer messages by intent (key, bounded: intent_key)
    "tickets_opened",  # tickets created (queue: at creation)
    "tickets_solved",  # tickets solved or closed for the first time
    "first_response",  # a ticket's first agent reply, by duration bucket since creation (key)
    "resolution",  # a ticket's first solve or close, by duration bucket since creation (key)
    "sla_met",  # target timers not breached by the ticket's first solve (key: target name)
    "sla_breached",  # target timers that fired (sla_breach events; key: target name)
    "csat",  # ratings (key: score 1-5)
)

# Upper bounds in seconds, log-spaced (roughly 1-2-5 per decade of minutes, then hours and days);
# the last bucket is open-ended ("inf"). Changing them orphans the counts already stored under
# the old keys: add bounds, never move one.
DURATION_BUCKETS: tuple[int, ...] = (
    60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200,
    86400, 172800, 259200, 432000, 604800, 1209600, 2592000,
)  # fmt: skip
INFINITE = "inf"
DISTRIBUTION_INDEX = "ix_report_daily_metric_key_day"
WEEKLY_DISTRIBUTION_INDEX = "ix_report_weekly_metric_key_week"
_INTENT = re.compile(r"^[\w.:-]{1,64}$")


class ReportHourly(Base):
    """One counter of one hour (UTC, truncated): summed by the dashboard, added to by upserts."""

    __tablename__ = "report_hourly"
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ReportDaily(Base):
    """The same counters per UTC day (midnight): each the sum of its day's ``report_hourly`` rows."""

    __tablename__ = "report_daily"
    # The distributions' read (report_reads: sums per metric and key over a range) walks this in
    # (metric, key) order and aggregates as it goes: SQLite otherwise sorts every row of the range
    # to group them (530 ms for a year of ~600 rows a day; 87 ms through this index).
    __table_args__ = (Index(DISTRIBUTION_INDEX, "metric", "key", "day", "channel", "queue", "value"),)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[datetime] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class ReportWeekly(Base):
    """The same counters per week (Monday 00:00 UTC): each the sum of its week's ``report_daily`` rows.

    Ranges longer than the console charts by day read these for their whole weeks: the charts'
    sums group a seventh of the rows into a seventh of the points.
    """

    __tablename__ = "report_weekly"
    # as report_daily's: the distributions summed per (metric, key) without sorting the range's rows
    __table_args__ = (Index(WEEKLY_DISTRIBUTION_INDEX, "metric", "key", "week", "channel", "queue", "value"),)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    week: Mapped[datetime] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


def day_of(moment: datetime) -> datetime:
    """The UTC day ``moment`` falls in (its midnight: a ``report_daily`` row's ``day``)."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def week_of(moment: datetime) -> datetime:
    """The week ``moment`` falls in (its Monday's midnight, UTC: a ``report_weekly`` row's ``week``)."""
    return day_of(moment) - timedelta(days=moment.weekday())


def hour_of(moment: datetime) -> datetime:
    """The UTC hour ``moment`` falls in (its row's ``hour``)."""
    return moment.replace(minute=0, second=0, microsecond=0)


def duration_bucket(seconds: float) -> str:
    """The key of the bucket holding ``seconds``: its upper bound, or ``"inf"``."""
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return INFINITE


def bucket_bound(key: str) -> float:
    """The upper bound a bucket key stands for (``math.inf`` for the last)."""
    return math.inf if key == INFINITE else float(key)


def intent_key(name: object) -> str:
    """An intent name as a key: '' for none, ``other`` for anything not name-shaped (keys stay few)."""
    if not isinstance(name, str) or not name:
        return ""
    return name if _INTENT.match(name) else "other"
