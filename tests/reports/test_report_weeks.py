"""The weekly rollups (migration 0015) against the hourly ones, on SQLite and PostgreSQL: a
dashboard bucketed by week reads whole weeks from ``report_weekly``, the days around them from
``report_daily`` and only the edges' hours from ``report_hourly``, and every figure is the one
summing the hours gives; the migration fills the weeks the job would have written."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select

from bot.console.dashboard import Range
from tests.reports.test_report_grains import _spread
from tests.reports.test_reports import conversation, mood, say
from tests.ticketing.helpers import world, write_rulebook
from ticketing import reports
from ticketing.database import _config, upgrade
from ticketing.report_reads import Part, parts
from ticketing.rollup_models import ReportDaily, ReportHourly, ReportWeekly, day_of, week_of
from ticketing.rollups import ReportRollups
from ticketing.time import utcnow

H, D = timedelta(hours=1), timedelta(days=1)


def test_week_of_is_the_monday_midnight_utc() -> None:
    assert week_of(datetime(2026, 12, 7, tzinfo=UTC)) == datetime(2026, 12, 7, tzinfo=UTC)  # a Monday
    assert week_of(datetime(2026, 12, 13, 23, 59, tzinfo=UTC)) == datetime(2026, 12, 7, tzinfo=UTC)
    assert week_of(datetime(2026, 12, 14, 0, 0, tzinfo=UTC)) == datetime(2026, 12, 14, tzinfo=UTC)


def test_parts_read_whole_weeks_weekly_the_days_around_them_daily_and_the_edges_hourly() -> None:
    monday = datetime(2026, 3, 9, tzinfo=UTC)
    # Wednesday 05:00 to the Tuesday 07:00 three weeks later
    start, until = monday + 2 * D + 5 * H, monday + 22 * D + 7 * H
    assert parts(start, until, "week") == (
        Part("hour", start, monday + 3 * D),
        Part("day", monday + 3 * D, monday + 7 * D),
        Part("week", monday + 7 * D, monday + 21 * D),
        Part("day", monday + 21 * D, monday + 22 * D),
        Part("hour", monday + 22 * D, until),
    )
    # whole weeks only, and a custom range of whole days from a Monday
    assert parts(monday, monday + 14 * D, "week") == (Part("week", monday, monday + 14 * D),)
    assert parts(monday, monday + 16 * D, "week") == (
        Part("week", monday, monday + 14 * D),
        Part("day", monday + 14 * D, monday + 16 * D),
    )
    # no whole week inside: days and hours as for day buckets
    assert parts(monday + D + 3 * H, monday + 8 * D, "week") == (
        Part("hour", monday + D + 3 * H, monday + 2 * D),
        Part("day", monday + 2 * D, monday + 8 * D),
    )
    assert parts(monday + 3 * H, monday + 20 * H, "week") == (Part("hour", monday + 3 * H, monday + 20 * H),)
    # a day bucket never reads weeks
    assert parts(monday, monday + 14 * D, "day") == (Part("day", monday, monday + 14 * D),)


def test_the_console_charts_ranges_over_90_days_by_week() -> None:
    now = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
    assert Range({"range": "30d"}, now).bucket == "day"
    assert Range({"range": "custom", "since": "2026-09-08", "until": "2026-12-06"}, now).bucket == "day"  # 90
    year = Range({"range": "custom", "since": "2025-12-08", "until": "2026-12-07"}, now)
    assert year.bucket == "week"
    assert Range({"range": "custom", "since": "2026-09-07", "until": "2026-12-06"}, now).bucket == "week"


async def test_weekly_rows_give_the_figures_summing_hours_gives(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        channels = ("webchat", "telegram", "email")
        for n in range(24):
            ref = await conversation(w, channels[n % 3])
            labels = ("negative", "neutral", "positive")
            await say(w, ref, f"text {n}", channel=channels[n % 3],
                      analysis=mood(labels[n % 3], intent=f"i{n % 4}", out_of_scope=n % 5 == 0),
                      queue=("support", "billing")[n % 2] if n % 3 else None)  # fmt: skip
        for _ in range(4):
            number, _ref = await w.open_ticket("broken", complaint=True)
            await w.desk.reply(number, "on it", agent="alice")
            await w.solve(number)
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        await _spread(w, now, days=45)
        await ReportRollups(engine=w.engine, batch=7).catch_up()
        async with w.engine.connect() as conn:
            sums = [
                (await conn.execute(select(func.sum(model.value)))).scalar_one()
                for model in (ReportHourly, ReportDaily, ReportWeekly)
            ]
            weeks = (await conn.execute(select(func.count(func.distinct(ReportWeekly.week))))).scalar_one()
        assert sums[0] == sums[1] == sums[2] and weeks >= 6

        midnight = day_of(now)
        ranges = [
            (now - 365 * D, now + H),  # from the current hour: hours, days, weeks, days, hours
            (midnight - 364 * D, midnight + D),  # the console's custom year: whole days
            (week_of(now) - 5 * 7 * D, week_of(now)),  # whole weeks only
            (now - 33 * D + 5 * H, now - 3 * D - 7 * H),  # mid-week, mid-day at both ends
            (now - 4 * D + 2 * H, now - 2 * H),  # no whole week inside
        ]
        filters: list[dict[str, str]] = [
            {}, {"channel": "telegram"}, {"queue": "billing"}, {"channel": "email", "queue": "support"},
        ]  # fmt: skip

        async def board(since: datetime, until: datetime, **more: Any) -> reports.Dashboard:
            return await reports.dashboard(w.engine, since=since, until=until, bucket="week", now=now, **more)

        with_weeks = [await board(s, u, **f) for s, u in ranges for f in filters]
        assert any(p.grain == "week" for p in parts(*ranges[0], "week"))
        monkeypatch.setattr(reports, "parts", lambda start, until, bucket: (Part("hour", start, until),))
        from_hours = [await board(s, u, **f) for s, u in ranges for f in filters]
        assert with_weeks == from_hours
        year = with_weeks[0]
        assert year.totals.messages_in == 24 + 4 and year.totals.tickets_opened > 0
        assert all(at.weekday() == 0 and at == day_of(at) for at in year.buckets)
        assert len(year.buckets) in (53, 54) and year.buckets[0] <= year.since < year.buckets[1]
        assert sum(s.total for s in year.messages_in) == 24 + 4

        # the migration fills the weeks from the days: the rows the job wrote
        def weekly_rows() -> Any:
            t = ReportWeekly
            return select(t.metric, t.week, t.channel, t.queue, t.key, t.value).order_by(
                t.metric, t.week, t.channel, t.queue, t.key
            )

        async with w.engine.connect() as conn:
            written = (await conn.execute(weekly_rows())).all()
        await w.engine.dispose()  # SQLite: the pooled connection would hold the old schema
        await asyncio.to_thread(command.downgrade, _config(database_url), "0014")
        await upgrade(database_url)
        async with w.engine.connect() as conn:
            filled = (await conn.execute(weekly_rows())).all()
        assert filled == written and len(written) > 50
