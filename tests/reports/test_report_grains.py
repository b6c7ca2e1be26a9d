"""The daily rollups (migration 0013) against the hourly ones, on SQLite and PostgreSQL: a
dashboard bucketed by day reads whole days from ``report_daily`` and only the edges' hours from
``report_hourly``, and every figure is the one summing the hours gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, insert, select, update

from tests.reports.test_reports import conversation, mood, say
from tests.ticketing.helpers import world, write_rulebook
from ticketing import reports
from ticketing.models import Interaction, Ticket, TicketEvent
from ticketing.report_reads import Part, parts
from ticketing.rollup_models import ReportDaily, ReportHourly
from ticketing.rollups import ReportRollups
from ticketing.time import utcnow

H = timedelta(hours=1)


def test_parts_read_whole_days_daily_and_the_edges_hourly() -> None:
    day = datetime(2026, 3, 10, tzinfo=UTC)
    assert parts(day + 5 * H, day + 3 * 24 * H + 7 * H, "day") == (
        Part("hour", day + 5 * H, day + 24 * H),
        Part("day", day + 24 * H, day + 3 * 24 * H),
        Part("hour", day + 3 * 24 * H, day + 3 * 24 * H + 7 * H),
    )
    assert parts(day, day + 30 * 24 * H, "day") == (Part("day", day, day + 30 * 24 * H),)  # custom days
    assert parts(day + 5 * H, day + 20 * H, "day") == (Part("hour", day + 5 * H, day + 20 * H),)
    # ``until`` inside the last hour of a day: that hour is read, so the day is whole
    assert parts(day, day + 23 * H + timedelta(minutes=30), "day") == (Part("day", day, day + 24 * H),)
    assert parts(day + 5 * H, day + 48 * H, "hour") == (Part("hour", day + 5 * H, day + 48 * H),)


async def _spread(w: Any, now: datetime, days: int = 10) -> None:
    """Messages and ticket events moved back over the last ``days`` days, at many hours."""
    async with w.engine.begin() as conn:
        ids = (await conn.execute(select(Interaction.id).order_by(Interaction.id))).scalars().all()
        for n, i in enumerate(ids):
            back = timedelta(hours=(n * 37) % (days * 24), minutes=n % 60)
            await conn.execute(update(Interaction).where(Interaction.id == i).values(created_at=now - back))
        events = (await conn.execute(select(TicketEvent.id, TicketEvent.ticket_id))).all()
        for n, (i, ticket) in enumerate(events):
            back = timedelta(hours=(ticket * 53) % (days * 20) - n % 3, minutes=7)
            await conn.execute(update(TicketEvent).where(TicketEvent.id == i).values(created_at=now - back))
            await conn.execute(
                update(Ticket).where(Ticket.id == ticket).values(created_at=now - days * 25 * H)
            )


async def test_daily_rows_give_the_figures_summing_hours_gives(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        for n in range(12):
            ref = await conversation(w, ("webchat", "telegram", "email")[n % 3])
            labels = ("negative", "neutral", "positive")
            await say(w, ref, f"text {n}", channel=("webchat", "telegram", "email")[n % 3],
                      analysis=mood(labels[n % 3], intent=f"i{n % 4}", out_of_scope=n % 5 == 0),
                      queue=("support", "billing")[n % 2] if n % 3 else None)  # fmt: skip
        for _ in range(4):
            number, _ref = await w.open_ticket("broken", complaint=True)
            await w.desk.reply(number, "on it", agent="alice")
            await w.solve(number)
        now = utcnow().replace(minute=0, second=0, microsecond=0)
        await _spread(w, now)
        await ReportRollups(engine=w.engine, batch=5).catch_up()
        async with w.engine.connect() as conn:
            hourly = (await conn.execute(select(func.sum(ReportHourly.value)))).scalar_one()
            daily = (await conn.execute(select(func.sum(ReportDaily.value)))).scalar_one()
            days = (await conn.execute(select(func.count()).select_from(ReportDaily))).scalar_one()
        assert hourly == daily and days > 10

        ranges = [
            (now - 24 * H, now + H),  # the console's 24 h
            (now - 7 * 24 * H, now + H),  # 7 d: day buckets from the current hour
            (now - 30 * 24 * H, now + H),
            (now.replace(hour=0) - 10 * 24 * H, now.replace(hour=0) + 24 * H),  # custom: whole days
            (now - 5 * 24 * H + 3 * H, now - 2 * 24 * H - 5 * H),
        ]
        filters: list[dict[str, str]] = [{}, {"channel": "telegram"}, {"queue": "billing"}]

        async def board(since: datetime, until: datetime, **more: Any) -> reports.Dashboard:
            return await reports.dashboard(w.engine, since=since, until=until, bucket="day", now=now, **more)

        with_days = [await board(s, u, **f) for s, u in ranges for f in filters]
        monkeypatch.setattr(reports, "parts", lambda start, until, bucket: (Part("hour", start, until),))
        from_hours = [await board(s, u, **f) for s, u in ranges for f in filters]
        assert with_days == from_hours
        custom = with_days[3 * len(filters)]
        assert custom.totals.messages_in == 12 + 4  # the eleven whole days hold every message
        assert len(custom.buckets) == 11 and custom.totals.tickets_opened > 0


async def test_the_migration_fills_the_days_from_the_hours_already_rolled_up(tmp_path: Path) -> None:
    from ticketing.database import create_engine, upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await upgrade(url, "0012")
    engine = create_engine(url)
    try:
        day = datetime(2026, 5, 1, tzinfo=UTC)
        async with engine.begin() as conn:
            await conn.execute(
                insert(ReportHourly),
                [
                    {"metric": "messages_in", "hour": day + h * H, "channel": "webchat", "queue": "",
                     "key": "", "value": h + 1}
                    for h in range(30)
                ],
            )  # fmt: skip
        await upgrade(url)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(ReportDaily.day, ReportDaily.value).order_by(ReportDaily.day))
            ).all()
        assert [(d, v) for d, v in rows] == [(day, sum(range(1, 25))), (day + 24 * H, sum(range(25, 31)))]
    finally:
        await engine.dispose()
