"""Report rollups and the dashboard, on SQLite and PostgreSQL: data written through the real
ticketing paths, rolled up by ``ReportRollups.catch_up()``, read back by ``reports.dashboard``."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from tests.ticketing.helpers import World, world, write_rulebook
from tests.ticketing.test_sla import sweep
from ticketing import csat
from ticketing.customers import ConversationRef
from ticketing.models import Ticket
from ticketing.reports import Dashboard, dashboard, percentile
from ticketing.rollup_models import duration_bucket, intent_key
from ticketing.rollups import ReportRollups
from ticketing.time import utcnow
from ticketing.turns import InboundRecord, Plan, TicketDraft, Turn

_n = itertools.count(1)


async def conversation(w: World, channel: str = "webchat") -> ConversationRef:
    n = next(_n)
    return await w.customers.resolve(channel, f"r_user{n}", f"r_thread{n}")


async def say(
    w: World,
    ref: ConversationRef,
    text: str,
    *,
    channel: str = "webchat",
    analysis: dict[str, Any] | None = None,
    queue: str | None = None,
) -> int | None:
    """A customer message through the batched turn writer; ``queue`` opens a ticket there."""

    def plan(state: Any, take: Any) -> Plan:
        draft = None
        if queue is not None:
            draft = TicketDraft(number=take(), subject=text, actor="rule:test", queue=queue)
        return Plan(analysis=analysis, open_ticket=draft)

    record = InboundRecord(ref, channel, f"rkey-{next(_n)}", text, datetime.now(UTC))
    return (await w.turns.record(Turn(record, plan))).ticket_number


def mood(label: str, **more: Any) -> dict[str, Any]:
    return {"sentiment": {"label": label, "score": 0.0}, **more}


async def board(w: World, **filters: Any) -> Dashboard:
    """The last two hours and the next twelve: a sweep told it is later records its events then."""
    now = utcnow()
    return await dashboard(
        w.engine, since=now - timedelta(hours=2), until=now + timedelta(hours=12), **filters
    )


async def test_the_dashboard_counts_exactly_what_was_written(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        # A: a telegram conversation the bot handled (contained): an intent, then an out-of-scope text.
        a = await conversation(w, "telegram")
        await say(w, a, "where is my order?", channel="telegram",
                  analysis=mood("positive", intent="order_status", out_of_scope=False))  # fmt: skip
        await say(w, a, "Can I pay with  Bitcoin?", channel="telegram",
                  analysis=mood("positive", intent="order_status", out_of_scope=True))  # fmt: skip
        # B: an angry complaint that opens a ticket, answered, solved and rated 4.
        b_number, b = await w.open_ticket("broken parcel", sentiment="negative", complaint=True)
        await w.desk.reply(b_number, "Sorry, sending a new one", agent="alice")
        await w.solve(b_number)
        async with w.engine.begin() as conn:
            assert await csat.record_answer(conn, w.config, b.id, "4", utcnow()) is not None
        # C: the fallback answered it, no ticket (contained, unanswered).
        c = await conversation(w)
        await say(w, c, "can i pay with bitcoin?", analysis=mood("neutral", rule="fallback"))
        # D: a ticket whose first-reply and resolution targets are breached, then solved.
        d_number, _d = await w.open_ticket("no answer yet")
        await sweep(w)  # intake: the clocks start
        d = await w.desk.get(d_number)
        await sweep(w, d["created_at"] + timedelta(hours=9))
        await w.desk.solve(d_number, actor="agent:bob")

        rollups = ReportRollups(engine=w.engine, batch=2)  # small batches: many rounds, cursors move
        assert await rollups.catch_up() > 0
        report = await board(w)

        t = report.totals
        assert (t.conversations, t.contained, t.containment) == (4, 2, 0.5)
        assert (t.messages_in, t.unanswered, t.complaints) == (5, 2, 1)
        assert (t.tickets_opened, t.tickets_solved) == (2, 2)
        assert (t.sla_met, t.sla_breached, t.sla_attainment) == (2, 2, 0.5)
        assert [(r.target, r.met, r.breached) for r in report.sla] == [
            ("first_reply", 1, 1),
            ("resolution", 1, 1),
        ]
        assert (t.csat_count, t.csat_average) == (1, 4.0)
        assert report.csat == ((1, 0), (2, 0), (3, 0), (4, 1), (5, 0))
        assert {s.group: s.total for s in report.conversations} == {"telegram": 1, "webchat": 3}
        assert {s.group: s.total for s in report.contained} == {"telegram": 1, "webchat": 1}
        assert {s.group: s.total for s in report.messages_in} == {"telegram": 2, "webchat": 3}
        assert {s.group: s.total for s in report.tickets_opened} == {"support": 2}
        assert {s.group: s.total for s in report.tickets_solved} == {"support": 2}
        assert {s.group: s.total for s in report.sentiment} == {"negative": 1, "neutral": 2, "positive": 2}
        assert report.top_intents == (("order_status", 2),)
        assert (report.first_response.count, report.first_response.p50) == (1, 60.0)  # within a minute
        assert report.resolution.count == 2
        assert report.backlog == ()  # everything was solved
        [text] = report.unanswered_texts
        assert (text.count, text.text, text.channel) == (2, "can i pay with bitcoin?", "webchat")
        # every series covers every bucket of the range, zeros included
        assert all(len(s.points) == len(report.buckets) for s in report.conversations)
        assert report.tables()["csat"][0] == ("score", "count")

        only = await board(w, channel="telegram")
        assert (only.totals.conversations, only.totals.messages_in, only.totals.tickets_opened) == (1, 2, 0)
        by_day = await board(w, bucket="day")
        assert by_day.totals == report.totals and len(by_day.buckets) in (1, 2)

        # exactly once: again, and from a fresh process, nothing more is counted
        assert await rollups.catch_up() == 0
        assert await ReportRollups(engine=w.engine).catch_up() == 0
        assert (await board(w)).totals == report.totals

        # a second batch of data adds exactly its own figures
        e = await conversation(w)
        e_number = await say(
            w, e, "refund please", analysis=mood("negative", intent="refund"), queue="billing"
        )
        assert e_number is not None
        await say(w, a, "thanks", channel="telegram", analysis=mood("positive", intent="thanks"))
        assert await rollups.catch_up() == 3  # two messages and a created event
        after = await board(w)
        assert (after.totals.conversations, after.totals.contained) == (5, 2)
        assert after.totals.messages_in == 7
        assert {s.group: s.total for s in after.tickets_opened} == {"billing": 1, "support": 2}
        assert dict(after.top_intents) == {"order_status": 2, "refund": 1, "thanks": 1}
        assert [(r.queue, r.status, r.age, r.count) for r in after.backlog] == [("billing", "new", "<1h", 1)]
        billing = await board(w, queue="billing")
        assert (billing.totals.tickets_opened, billing.totals.tickets_solved) == (1, 0)
        assert billing.totals.conversations == 5  # conversations belong to no queue


async def test_percentiles_come_from_the_duration_buckets(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        ages = (timedelta(minutes=4), timedelta(minutes=40), timedelta(hours=3))
        for age in ages:
            number, _ref = await w.open_ticket()
            async with w.engine.begin() as conn:  # as if it had been opened that long ago
                await conn.execute(
                    update(Ticket).where(Ticket.number == number).values(created_at=utcnow() - age)
                )
            await w.desk.reply(number, "on it", agent="alice")
            await w.desk.solve(number, actor="agent:alice")
        await ReportRollups(engine=w.engine).catch_up()
        report = await board(w)
        for figure in (report.first_response, report.resolution):
            assert figure.count == 3
            assert figure.buckets == (("300", 1), ("3600", 1), ("14400", 1))
            assert (figure.p50, figure.p90) == (3600.0, 14400.0)


def test_buckets_percentiles_and_intent_keys() -> None:
    assert [duration_bucket(s) for s in (0, 60, 61, 3600, 10**9)] == ["60", "60", "120", "3600", "inf"]
    counts = {"60": 5, "300": 4, "inf": 1}
    assert (percentile(counts, 0.5), percentile(counts, 0.9), percentile(counts, 1.0)) == (
        60.0,
        300.0,
        float("inf"),
    )
    assert percentile({}, 0.5) is None
    assert (intent_key(None), intent_key("order_status"), intent_key("x" * 65), intent_key("a b")) == (
        "", "order_status", "other", "other"
    )  # fmt: skip


async def test_two_jobs_at_once_still_count_each_row_once(database_url: str, tmp_path: Path) -> None:
    """The cursor rows are locked for the batch: a second process (the advisory lock aside)
    waits, then starts after the first one's rows."""
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        for _ in range(5):
            await w.open_ticket()
        first, second = ReportRollups(engine=w.engine, batch=2), ReportRollups(engine=w.engine, batch=3)
        read = await asyncio.gather(first.catch_up(), second.catch_up())
        assert sum(read) == 10  # five messages, five created events
        report = await board(w)
        assert (report.totals.conversations, report.totals.tickets_opened) == (5, 5)
        await first.start()  # the loop starts and stops cleanly, leading or not
        await first.stop()
