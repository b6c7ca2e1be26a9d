"""Reports at scale (issue 25): the console dashboard over 1,000,000 tickets and 10,000,000 messages.

Goal: p95 <= 300 ms for a dashboard page (``ticketing.reports.dashboard``) of any range, on SQLite
and PostgreSQL. Provenance: synthetic data, generated from a fixed seed by ``bench/api_data.py``
(``reports=True``: analysis summaries on customer messages, each ticket's audit trail, SLA
target timers), spread over ``--days`` (365); nothing is downloaded.

For each database (``--database sqlite|postgresql|both``), in one run:

1. a fresh database (``bench/api.py``'s ``fresh_database``), migrated, bulk-loaded (times reported);
2. the rollups' catch-up over the whole history, as a new deployment's first start does
   (``ReportRollups.catch_up()``, the app's batch size): rows read per second and the CPU per
   message rolled up of this process and, on SQLite, the rollups' reading process (on PostgreSQL
   the server's CPU is not in it);
3. the dashboard, ``--runs`` times each, for 24 h (hourly buckets), 7, 30 and 90 days (day buckets
   from the current hour, as the console asks) and 365 whole days (week buckets, as the console
   charts ranges over 90 days), with no filter, a channel, a queue, and both: p50/p95/max. The
   same 30- and 365-day pages read from hours only (what the daily and weekly rows save), a few
   runs; the 365-day page by day (``--runs`` times: what the weekly rows save) and, on
   PostgreSQL, with its reads on one connection one after the other (``--runs`` times: what
   running them at once on connections of their own saves);
4. the baseline, in the same run: the dashboard's figures for 30 days computed by direct aggregate
   queries over ``interactions``, ``tickets`` and ``ticket_events`` (what the rollups save), with
   its totals next to the dashboard's.

Prints JSON (``os.getloadavg()`` at each engine's end: the machine may be shared).

    .venv/bin/python bench/reports.py                    # both engines, full size
    .venv/bin/python bench/reports.py --scale 0.01 --runs 5   # 10k tickets, 100k messages: a minute
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import api_data
from api import PG_URL, Database, fresh_database
from sqlalchemy import text

from ticketing import reports
from ticketing.database import create_engine, upgrade
from ticketing.report_reads import Part
from ticketing.rollup_models import day_of, hour_of
from ticketing.rollups import ReportRollups

GOAL_P95_MS = 300.0
H, D = timedelta(hours=1), timedelta(days=1)


def ranges(now: datetime) -> dict[str, tuple[datetime, datetime, reports.Bucket]]:
    """The console's ranges: the last 24 h by hour; 7/30/90 d by day from the current hour; a
    custom year of whole days, by week."""
    until = hour_of(now) + H
    out: dict[str, tuple[datetime, datetime, reports.Bucket]] = {"24h": (until - 24 * H, until, "hour")}
    for days in (7, 30, 90):
        out[f"{days}d"] = (until - days * D, until, "day")
    out["365d"] = (day_of(now) - 364 * D, day_of(now) + D, "week")
    return out


FILTERS: dict[str, dict[str, str]] = {
    "all": {},
    "channel": {"channel": "webchat"},
    "queue": {"queue": "billing"},
    "channel+queue": {"channel": "email", "queue": "support"},
}


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    top = round(ordered[-1] * 1000, 1)
    return {"runs": len(ordered), "p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": top}


async def timed(call: Callable[[], Awaitable[Any]], runs: int) -> tuple[list[float], Any]:
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await call()
        samples.append(time.perf_counter() - started)
    return samples, result


def _hours_only(start: datetime, until: datetime, bucket: str) -> tuple[Part, ...]:
    """Every range from the hourly rows: the reads before the daily grain."""
    return (Part("hour", start, until),)


async def _one_connection(engine: Any, *reads: Any) -> list[Any]:
    """``report_reads.run_reads`` as SQLite runs it: one read after the other on one connection."""
    async with engine.connect() as conn:
        return [await read(conn) for read in reads]


def _cpu() -> float:
    """This process's CPU and that of its children that have ended (the rollups' reading process)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _summary(board: reports.Dashboard) -> dict[str, Any]:
    t = board.totals
    return {
        "conversations": t.conversations, "messages_in": t.messages_in, "unanswered": t.unanswered,
        "complaints": t.complaints, "tickets_opened": t.tickets_opened, "tickets_solved": t.tickets_solved,
        "sla_met": t.sla_met, "sla_breached": t.sla_breached, "csat_count": t.csat_count,
        "first_response_count": board.first_response.count,
    }  # fmt: skip


def _figures(board: reports.Dashboard) -> tuple[Any, ...]:
    """What a page shows whatever its buckets: the totals, the distributions, each line's total."""
    lines = tuple((name, s.group, s.total) for name in reports.SERIES_CHARTS for s in getattr(board, name))
    return (
        board.totals,
        board.first_response,
        board.resolution,
        board.sla,
        board.csat,
        board.top_intents,
        lines,
    )


def _sql(kind: str) -> dict[str, str]:
    """The dialect's day of a timestamp and JSON paths of the analysis and event data."""
    if kind == "postgresql":
        return {
            "day": "date_trunc('day', {c}, 'UTC')",
            "label": "analysis->'sentiment'->>'label'", "intent": "analysis->>'intent'",
            "complaint": "CASE WHEN (analysis->'complaint'->>'is')::boolean THEN 1 ELSE 0 END",
            "unanswered": "CASE WHEN (analysis->>'out_of_scope')::boolean OR analysis->>'rule' IN "
                          "('fallback', 'fallback_existing_ticket') THEN 1 ELSE 0 END",
            "score": "data->>'score'", "target": "data->>'target'", "to": "data->>'to'",
            "seconds": "extract(epoch FROM ({a} - {b}))",
        }  # fmt: skip
    return {
        "day": "substr({c}, 1, 10)",
        "label": "json_extract(analysis, '$.sentiment.label')",
        "intent": "json_extract(analysis, '$.intent')",
        "complaint": "coalesce(json_extract(analysis, '$.complaint.is'), 0)",
        "unanswered": "CASE WHEN json_extract(analysis, '$.out_of_scope') OR json_extract(analysis, '$.rule')"
                      " IN ('fallback', 'fallback_existing_ticket') THEN 1 ELSE 0 END",
        "score": "json_extract(data, '$.score')", "target": "json_extract(data, '$.target')",
        "to": "json_extract(data, '$.to')", "seconds": "(julianday({a}) - julianday({b})) * 86400",
    }  # fmt: skip


async def baseline(engine: Any, kind: str, since: datetime, until: datetime) -> dict[str, Any]:
    """The 30-day dashboard's figures from the raw tables: per channel and day, per label, the top
    intents, conversations started (first customer message), tickets opened and solved per queue
    and day with their durations, SLA breaches and CSAT from the audit trail."""
    q = _sql(kind)
    day = q["day"].format(c="created_at")
    inbound = "FROM interactions i WHERE i.direction = 'in' AND i.created_at >= :s AND i.created_at < :u"
    statements = {
        "messages": f"SELECT channel, {q['day'].format(c='created_at')}, count(*), sum({q['complaint']}), "
        f"sum({q['unanswered']}) {inbound} GROUP BY 1, 2",
        "sentiment": f"SELECT {q['label']}, {day}, count(*) {inbound} GROUP BY 1, 2",
        "intents": f"SELECT {q['intent']}, count(*) {inbound} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
        "conversations": f"SELECT channel, {day}, count(*) {inbound} AND NOT EXISTS "
        "(SELECT 1 FROM interactions j WHERE j.conversation_id = i.conversation_id AND j.direction = 'in'"
        " AND j.id < i.id) GROUP BY 1, 2",
        "tickets_opened": f"SELECT queue, {q['day'].format(c='created_at')}, count(*) FROM tickets "
        "WHERE created_at >= :s AND created_at < :u GROUP BY 1, 2",
        "tickets_solved": f"SELECT queue, {q['day'].format(c='solved_at')}, "
        f"{q['seconds'].format(a='solved_at', b='created_at')} FROM tickets "
        "WHERE solved_at >= :s AND solved_at < :u",
        "first_response": f"SELECT queue, {q['seconds'].format(a='first_reply_at', b='created_at')} "
        "FROM tickets "
        "WHERE first_reply_at >= :s AND first_reply_at < :u",
        "audit": f"SELECT kind, {q['score']}, {q['target']}, count(*) FROM ticket_events "
        "WHERE kind IN ('csat', 'sla_breach') AND created_at >= :s AND created_at < :u GROUP BY 1, 2, 3",
    }  # fmt: skip
    params: dict[str, Any] = {"s": since, "u": until}
    if kind == "sqlite":
        params = {
            k: v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            for k, v in params.items()
        }
    out: dict[str, Any] = {"seconds_by_query": {}}
    totals: dict[str, int] = {}
    async with engine.connect() as conn:
        for name, sql in statements.items():
            started = time.perf_counter()
            rows = (await conn.execute(text(sql), params)).all()
            out["seconds_by_query"][name] = round(time.perf_counter() - started, 3)
            if name == "messages":
                totals["messages_in"] = sum(int(r[2]) for r in rows)
                totals["complaints"] = sum(int(r[3]) for r in rows)
                totals["unanswered"] = sum(int(r[4]) for r in rows)
            elif name in ("conversations", "tickets_opened"):
                totals[name] = sum(int(r[2]) for r in rows)
            elif name in ("tickets_solved", "first_response"):
                totals[name] = len(rows)
            elif name == "audit":
                totals["csat_count"] = sum(int(r[3]) for r in rows if r[0] == "csat")
                totals["sla_breached"] = sum(int(r[3]) for r in rows if r[0] == "sla_breach")
    out["totals"] = totals
    return out


async def load(db: Database, sizes: api_data.Sizes, seed: int, now: float, days: float) -> dict[str, float]:
    started = time.perf_counter()
    await upgrade(db.url)
    timings = {"migrate_s": round(time.perf_counter() - started, 1)}
    options: dict[str, Any] = {"span_days": days, "reports": True}
    if db.kind == "sqlite":
        timings |= await asyncio.to_thread(api_data.load_sqlite, db.dsn, sizes, seed=seed, now=now, **options)
    else:
        timings |= await api_data.load_postgresql(db.dsn, sizes, seed=seed, now=now, **options)
    return timings


async def one_engine(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    tickets = max(10, int(args.tickets * args.scale))
    sizes = api_data.Sizes(tickets, max(tickets, int(args.interactions * args.scale)))
    epoch = time.time()
    now = datetime.fromtimestamp(epoch, UTC)
    out: dict[str, Any] = {"database": kind, "tickets": sizes.tickets, "interactions": sizes.interactions}
    async with fresh_database(kind, args.pg_url, "reports", args.keep) as db:
        started = time.perf_counter()
        out["load"] = await load(db, sizes, args.seed, epoch, args.days)
        out["load"]["total_s"] = round(time.perf_counter() - started, 1)
        engine = create_engine(db.url)
        try:
            async with engine.connect() as conn:
                events = (await conn.execute(text("SELECT count(*) FROM ticket_events"))).scalar_one()
            rollups = ReportRollups(engine=engine)
            wall, cpu = time.perf_counter(), _cpu()
            read = await rollups.catch_up()
            wall = time.perf_counter() - wall
            await rollups.stop()  # ends its reading process (SQLite), whose CPU is then counted
            cpu = _cpu() - cpu
            async with engine.begin() as conn:
                rows = {
                    t: (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
                    for t in ("report_hourly", "report_daily", "report_weekly")
                }
            if kind == "postgresql":  # what autovacuum does after the catch-up's inserts
                async with engine.connect() as conn:
                    conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    await conn.execute(text("VACUUM (ANALYZE) report_hourly, report_daily, report_weekly"))
            out["catch_up"] = {
                "rows_read": read, "interactions": sizes.interactions, "ticket_events": events,
                "seconds": round(wall, 1), "rows_per_s": round(read / wall),
                "process_cpu_s": round(cpu, 1),
                "cpu_us_per_row": round(cpu / read * 1e6, 1),
                "cpu_us_per_interaction": round(cpu / sizes.interactions * 1e6, 1),
                "rollup_rows": rows,
                "batch": 2000,
            }  # fmt: skip
            print(json.dumps({"catch_up": out["catch_up"]}), file=sys.stderr, flush=True)
            out["dashboard"] = {}
            boards = {}
            for name, (since, until, bucket) in ranges(now).items():
                for label, filters in FILTERS.items():

                    async def page(
                        s: datetime = since, u: datetime = until, b: Any = bucket, f: Any = filters
                    ) -> reports.Dashboard:
                        return await reports.dashboard(engine, since=s, until=u, bucket=b, now=now, **f)

                    samples, board = await timed(page, args.runs)
                    out["dashboard"][f"{name} {label}"] = stats(samples)
                    boards[(name, label)] = board
            out["dashboard_30d_totals"] = _summary(boards[("30d", "all")])
            # the same pages from hours only: what the daily rows save
            out["hours_only"] = {}
            with mock.patch.object(reports, "parts", _hours_only):
                for name in ("30d", "365d"):
                    since, until, bucket = ranges(now)[name]

                    async def hours(s: datetime = since, u: datetime = until, b: Any = bucket) -> Any:
                        return await reports.dashboard(engine, since=s, until=u, bucket=b, now=now)

                    samples, board = await timed(hours, args.baseline_runs)
                    out["hours_only"][f"{name} all"] = stats(samples)
                    out["hours_only"][f"{name} same_figures"] = board == boards[(name, "all")]
            # the year by day (days and edge hours, no weeks): what the weekly rows save
            since, until, _bucket = ranges(now)["365d"]

            async def by_day(s: datetime = since, u: datetime = until) -> Any:
                return await reports.dashboard(engine, since=s, until=u, bucket="day", now=now)

            samples, board = await timed(by_day, args.runs)
            out["days_only"] = {
                "365d all": stats(samples),
                "365d same_figures": _figures(board) == _figures(boards[("365d", "all")]),
            }
            if kind == "postgresql":  # the year's reads on one connection: what running them at once saves
                since, until, bucket = ranges(now)["365d"]
                with mock.patch.object(reports, "run_reads", _one_connection):

                    async def serial(s: datetime = since, u: datetime = until, b: Any = bucket) -> Any:
                        return await reports.dashboard(engine, since=s, until=u, bucket=b, now=now)

                    samples, board = await timed(serial, args.runs)
                out["one_connection"] = {
                    "365d all": stats(samples),
                    "365d same_figures": board == boards[("365d", "all")],
                }
            since, until, _bucket = ranges(now)["30d"]
            samples, base = await timed(lambda: baseline(engine, kind, since, until), args.baseline_runs)
            out["baseline_30d_direct_queries"] = {**stats(samples), **base}
        finally:
            await engine.dispose()
    every = [v["p95_ms"] for v in out["dashboard"].values()]
    out["goal"] = {"p95_ms_worst": max(every), "goal_p95_ms": GOAL_P95_MS, "met": max(every) <= GOAL_P95_MS}
    out["loadavg_at_end"] = os.getloadavg()
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--interactions", type=int, default=10_000_000)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies --tickets and --interactions")
    parser.add_argument("--days", type=float, default=365.0, help="how far back the tickets go")
    parser.add_argument("--runs", type=int, default=20, help="per range and filter")
    parser.add_argument("--baseline-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    results = []
    for kind in kinds:
        results.append(await one_engine(kind, args))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    print(json.dumps({
        "benchmark": "reports", "scale": args.scale, "days": args.days, "runs": args.runs, "seed": args.seed,
        "cpus": os.cpu_count(), "loadavg_at_start_of_output": os.getloadavg(), "results": results,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
