"""The console dashboard's figures for a time range: sums of the rollups, plus two live reads.

Everything over time comes from the rollups (:mod:`ticketing.rollup_models`), summed at query time
into hours, UTC days or weeks (:mod:`ticketing.report_reads`: whole weeks from ``report_weekly``,
whole days from ``report_daily``, the hours at a range's edges from ``report_hourly``), so a
30-day dashboard reads 30 days of counters however many messages those days held. Two figures
are read live, both bounded: the backlog (the open tickets now, by queue, status and age;
``ix_tickets_status_id``) and the most frequent unanswered texts (out of scope or fallback) among
the newest ``recent`` interactions of the range.

Ranges are hour-granular: ``since`` is taken from the start of its hour, ``until`` is exclusive.
The queue filter applies to ticket figures only; conversations, messages, sentiment, intents and
containment belong to no queue. Durations are in seconds; a percentile is the upper bound of the
duration bucket it falls in (``math.inf`` past the last bound, 30 days).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import case, func, literal, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import Interaction, Ticket
from ticketing.report_reads import parts, read_keys, read_series, run_reads
from ticketing.rollup_models import bucket_bound, day_of, hour_of, week_of
from ticketing.rollup_sources import SENTIMENTS, is_unanswered
from ticketing.time import utcnow

__all__ = [
    "BACKLOG_STATUSES",
    "SERIES_CHARTS",
    "BacklogRow",
    "Bucket",
    "Dashboard",
    "Percentiles",
    "Series",
    "SlaRow",
    "Totals",
    "UnansweredText",
    "dashboard",
    "percentile",
]

Bucket = Literal["hour", "day", "week"]  # week: from Monday 00:00 UTC
BACKLOG_STATUSES = ("new", "open", "pending", "on-hold")
# Age of an open ticket since creation: (label, up to seconds); the last is open-ended.
AGES = (("<1h", 3600), ("1-4h", 14400), ("4-24h", 86400), ("1-3d", 259200), ("3-7d", 604800), (">7d", None))
_TOP = 10
#: The figures drawn as series over time (one line per channel, queue or label).
SERIES_CHARTS = ("conversations", "contained", "messages_in", "tickets_opened", "tickets_solved", "sentiment")


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart: a value per bucket (every bucket of the range, zeros included)."""

    name: str  # the figure: "conversations", "tickets_opened", ...
    group: str  # the channel, queue or label it is for ('' for all)
    points: tuple[tuple[datetime, int], ...]

    @property
    def total(self) -> int:
        return sum(v for _at, v in self.points)


@dataclass(frozen=True, slots=True)
class Percentiles:
    count: int
    p50: float | None  # seconds; None without data
    p90: float | None
    buckets: tuple[tuple[str, int], ...]  # (bucket key, count), the distribution itself


@dataclass(frozen=True, slots=True)
class SlaRow:
    target: str  # first_reply | next_reply | resolution
    met: int
    breached: int

    @property
    def attainment(self) -> float | None:
        return self.met / (self.met + self.breached) if self.met + self.breached else None


@dataclass(frozen=True, slots=True)
class BacklogRow:
    queue: str
    status: str
    age: str  # one of AGES' labels
    count: int


@dataclass(frozen=True, slots=True)
class UnansweredText:
    text: str  # as last written (grouped by lower-cased, whitespace-collapsed text)
    count: int
    last_seen: datetime
    channel: str


@dataclass(frozen=True, slots=True)
class Totals:
    conversations: int
    contained: int
    containment: float | None  # contained / conversations
    messages_in: int
    unanswered: int
    complaints: int
    tickets_opened: int
    tickets_solved: int
    sla_met: int
    sla_breached: int
    sla_attainment: float | None
    csat_count: int
    csat_average: float | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    since: datetime
    until: datetime
    bucket: Bucket
    channel: str | None
    queue: str | None
    buckets: tuple[datetime, ...]
    totals: Totals
    conversations: tuple[Series, ...]  # by channel
    contained: tuple[Series, ...]  # by channel: conversations started and (so far) not ticketed
    messages_in: tuple[Series, ...]  # by channel
    tickets_opened: tuple[Series, ...]  # by queue
    tickets_solved: tuple[Series, ...]  # by queue
    sentiment: tuple[Series, ...]  # by label
    complaints: Series
    unanswered: Series
    first_response: Percentiles
    resolution: Percentiles
    sla: tuple[SlaRow, ...]
    csat: tuple[tuple[int, int], ...]  # (score 1-5, count)
    top_intents: tuple[tuple[str, int], ...]
    backlog: tuple[BacklogRow, ...]
    unanswered_texts: tuple[UnansweredText, ...]

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every chart as CSV-ready rows, a header first (times as ISO 8601 UTC)."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        for name in SERIES_CHARTS:
            series: tuple[Series, ...] = getattr(self, name)
            out[name] = [("bucket", "group", "value")] + [
                (at.isoformat(), s.group, v) for s in series for at, v in s.points
            ]
        for one in (self.complaints, self.unanswered):
            out[one.name] = [("bucket", "value")] + [(at.isoformat(), v) for at, v in one.points]
        for name in ("first_response", "resolution"):
            p: Percentiles = getattr(self, name)
            out[name] = [("upper_bound_seconds", "count"), *p.buckets]
        out["sla"] = [("target", "met", "breached", "attainment")] + [
            (r.target, r.met, r.breached, r.attainment) for r in self.sla
        ]
        out["csat"] = [("score", "count"), *self.csat]
        out["top_intents"] = [("intent", "count"), *self.top_intents]
        out["backlog"] = [("queue", "status", "age", "count")] + [
            (r.queue, r.status, r.age, r.count) for r in self.backlog
        ]
        out["unanswered_texts"] = [("text", "count", "last_seen", "channel")] + [
            (u.text, u.count, u.last_seen.isoformat(), u.channel) for u in self.unanswered_texts
        ]
        return out


def percentile(buckets: dict[str, int], p: float) -> float | None:
    """Nearest-rank percentile ``p`` (0-1) of bucketed durations: its bucket's upper bound."""
    n = sum(buckets.values())
    if n == 0:
        return None
    rank = max(1, math.ceil(p * n))
    seen = 0
    for key in sorted(buckets, key=bucket_bound):
        seen += buckets[key]
        if seen >= rank:
            return bucket_bound(key)
    return None  # not reached: the ranks add up to n


async def dashboard(
    engine: AsyncEngine,
    *,
    since: datetime,
    until: datetime,
    channel: str | None = None,
    queue: str | None = None,
    bucket: Bucket = "hour",
    recent: int = 10_000,
    now: datetime | None = None,
) -> Dashboard:
    """The dashboard for ``[since, until)`` (aware datetimes), optionally one channel and queue.

    ``bucket`` week: a point per week from Monday 00:00 UTC; the first and last weeks count only
    the range's part of them. ``recent`` bounds the unanswered-texts read (that many newest
    interactions); ``now`` is the backlog's reference time for ages (default: the clock).
    """
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware (UTC)")
    if bucket not in ("hour", "day", "week"):
        raise ValueError(f"unknown bucket {bucket!r}; use hour, day or week")
    start = hour_of(since)
    ranges = parts(start, until, bucket)
    series_sums, key_sums, backlog, texts = await run_reads(
        engine,
        lambda conn: read_series(conn, ranges, channel, queue),
        lambda conn: read_keys(conn, ranges, channel, queue),
        lambda conn: _backlog(conn, channel, queue, now or utcnow()),
        lambda conn: _unanswered_texts(conn, start, until, channel, recent),
    )
    slots = _buckets(start, until, bucket)
    fold = _folder(bucket)
    # metric → group → bucket → value, and metric → key → value for the distributions
    by_group: dict[tuple[str, str], Counter[datetime]] = defaultdict(Counter)
    by_key: dict[str, Counter[str]] = defaultdict(Counter)
    for metric, at, group, value in series_sums:
        by_group[(metric, group)][fold(at)] += value
        by_key[metric][group if metric == "sentiment" else ""] += value
    for metric, key, value in key_sums:
        by_key[metric][key] += value

    def series(metric: str, groups: set[str] | None = None) -> tuple[Series, ...]:
        names = groups if groups is not None else {g for m, g in by_group if m == metric}
        empty: Counter[datetime] = Counter()
        lines = [(g, by_group.get((metric, g), empty)) for g in sorted(names)]
        return tuple(Series(metric, g, tuple((at, line[at]) for at in slots)) for g, line in lines)

    conversations = series("conversations")
    ticketed = {s.group: dict(s.points) for s in series("conversations_ticketed")}
    contained = tuple(
        Series(
            "contained",
            s.group,
            tuple((at, max(0, v - ticketed.get(s.group, {}).get(at, 0))) for at, v in s.points),
        )
        for s in conversations
    )
    csat = tuple((score, by_key["csat"][str(score)]) for score in range(1, 6))
    csat_count = sum(c for _s, c in csat)
    targets = sorted(set(by_key["sla_met"]) | set(by_key["sla_breached"]))
    sla = tuple(SlaRow(t, by_key["sla_met"][t], by_key["sla_breached"][t]) for t in targets)
    n_conversations = sum(s.total for s in conversations)
    n_contained = sum(s.total for s in contained)
    met, breached = sum(r.met for r in sla), sum(r.breached for r in sla)
    totals = Totals(
        conversations=n_conversations,
        contained=n_contained,
        containment=n_contained / n_conversations if n_conversations else None,
        messages_in=sum(by_key["messages_in"].values()),
        unanswered=sum(by_key["unanswered"].values()),
        complaints=sum(by_key["complaints"].values()),
        tickets_opened=sum(by_key["tickets_opened"].values()),
        tickets_solved=sum(by_key["tickets_solved"].values()),
        sla_met=met,
        sla_breached=breached,
        sla_attainment=met / (met + breached) if met + breached else None,
        csat_count=csat_count,
        csat_average=sum(s * c for s, c in csat) / csat_count if csat_count else None,
    )
    intents = sorted(by_key["intent"].items(), key=lambda kv: (-kv[1], kv[0]))[:_TOP]
    return Dashboard(
        since=start, until=until, bucket=bucket, channel=channel, queue=queue, buckets=slots,
        totals=totals, conversations=conversations, contained=contained,
        messages_in=series("messages_in"), tickets_opened=series("tickets_opened"),
        tickets_solved=series("tickets_solved"), sentiment=series("sentiment", set(SENTIMENTS)),
        complaints=series("complaints", {""})[0], unanswered=series("unanswered", {""})[0],
        first_response=_percentiles(by_key["first_response"]), resolution=_percentiles(by_key["resolution"]),
        sla=sla, csat=csat, top_intents=tuple(intents), backlog=backlog, unanswered_texts=texts,
    )  # fmt: skip


def _percentiles(buckets: Counter[str]) -> Percentiles:
    ordered = tuple(sorted(((k, v) for k, v in buckets.items() if v), key=lambda kv: bucket_bound(kv[0])))
    return Percentiles(
        count=sum(buckets.values()),
        p50=percentile(dict(buckets), 0.5),
        p90=percentile(dict(buckets), 0.9),
        buckets=ordered,
    )


def _buckets(start: datetime, until: datetime, bucket: Bucket) -> tuple[datetime, ...]:
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}[bucket]
    at = _folder(bucket)(start)
    out = []
    while at < until:
        out.append(at)
        at += step
    return tuple(out)


def _folder(bucket: Bucket) -> Any:
    return {"hour": hour_of, "day": day_of, "week": week_of}[bucket]


async def _backlog(
    conn: Any, channel: str | None, queue: str | None, now: datetime
) -> tuple[BacklogRow, ...]:
    """The open tickets now, by queue, status and age (one grouped read on the status index)."""
    whens = [
        (Ticket.created_at > now - timedelta(seconds=limit), literal(label)) for label, limit in AGES if limit
    ]
    age = case(*whens, else_=literal(AGES[-1][0]))
    stmt = (
        select(Ticket.queue, Ticket.status, age.label("age"), func.count())
        .where(Ticket.status.in_(BACKLOG_STATUSES))
        .group_by(Ticket.queue, Ticket.status, age)
    )
    if channel is not None:
        stmt = stmt.where(Ticket.channel == channel)
    if queue is not None:
        stmt = stmt.where(Ticket.queue == queue)
    order = {label: i for i, (label, _limit) in enumerate(AGES)}
    rows = [BacklogRow(q, s, a, int(n)) for q, s, a, n in await conn.execute(stmt)]
    return tuple(sorted(rows, key=lambda r: (r.queue, BACKLOG_STATUSES.index(r.status), order[r.age])))


# A superset of ``is_unanswered`` (which still decides) the database can test: the JSON is not
# parsed in Python for every customer message of the newest ``recent`` (~5 ms a 1,000 rows).
_MAYBE_UNANSWERED = {
    "sqlite": sql_text(
        "(json_extract(interactions.analysis, '$.out_of_scope') = 1"
        " OR json_extract(interactions.analysis, '$.rule') IN ('fallback', 'fallback_existing_ticket'))"
    ),
    "postgresql": sql_text(
        "(interactions.analysis -> 'out_of_scope' = 'true'::jsonb"
        " OR interactions.analysis ->> 'rule' IN ('fallback', 'fallback_existing_ticket'))"
    ),
}


async def _unanswered_texts(
    conn: Any, since: datetime, until: datetime, channel: str | None, recent: int
) -> tuple[UnansweredText, ...]:
    """The most frequent unanswered customer texts among the newest ``recent`` interactions."""
    newest = (await conn.execute(select(func.coalesce(func.max(Interaction.id), 0)))).scalar_one()
    stmt = (
        select(Interaction.text, Interaction.channel, Interaction.created_at, Interaction.analysis)
        .where(
            Interaction.id > int(newest) - recent,
            Interaction.direction == "in",
            Interaction.created_at >= since,
            Interaction.created_at < until,
            Interaction.text != "[erased]",
            _MAYBE_UNANSWERED[conn.dialect.name],
        )
        .order_by(Interaction.id.desc())
    )
    if channel is not None:
        stmt = stmt.where(Interaction.channel == channel)
    counts: Counter[str] = Counter()
    latest: dict[str, tuple[str, datetime, str]] = {}
    for text, row_channel, created_at, analysis in await conn.execute(stmt):
        if not is_unanswered(analysis):
            continue
        key = " ".join(text.lower().split())[:500]
        counts[key] += 1
        latest.setdefault(key, (text, created_at, row_channel))  # newest first: the first seen
    top = sorted(counts, key=lambda k: (-counts[k], -latest[k][1].timestamp(), k))[:_TOP]
    return tuple(UnansweredText(latest[k][0], counts[k], latest[k][1], latest[k][2]) for k in top)
