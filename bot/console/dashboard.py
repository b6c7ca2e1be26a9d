"""``/console/``: the dashboard for a range (24 h, 7 d, 30 d or custom days), a channel and a queue.

The figures come from :func:`ticketing.reports.dashboard` (the rollups, two bounded live reads),
by hour up to two days, by UTC day up to 90 days, by week (from Monday) beyond. Every chart is
drawn by Chart.js from a JSON block in the page and is also a table in the page (screen readers,
no JavaScript) and a CSV download (``/console/reports/<chart>.csv`` with the same query).
Spreadsheet formulas in customer text are defused in the CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from bot.console.pages import BASE, Pages
from bot.problem import Problem
from ticketing.reports import SERIES_CHARTS, Bucket, Dashboard

__all__ = ["DashboardPages", "Range"]

LoadDashboard = Callable[..., Awaitable[Dashboard]]
RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
_MAX_DAYS = 366
_DAYS_CHARTED_BY_DAY = timedelta(days=90)
_LABEL_FORMATS = {"hour": "%H:%M", "day": "%d %b", "week": "w/c %d %b"}  # w/c: the week commencing
_PARAMS = frozenset({"range", "since", "until", "channel", "queue"})
_LABELS = {
    "conversations": "Conversations by channel",
    "contained": "Conversations the bot contained (no ticket), by channel",
    "messages_in": "Customer messages by channel",
    "tickets_opened": "Tickets opened by queue",
    "tickets_solved": "Tickets solved by queue",
    "sentiment": "Customer messages by sentiment",
    "complaints": "Complaints",
    "unanswered": "Unanswered messages (out of scope or fallback)",
    "first_response": "First response time (seconds, bucket upper bound)",
    "resolution": "Resolution time (seconds, bucket upper bound)",
    "sla": "SLA targets met and breached",
    "csat": "CSAT scores",
    "top_intents": "Top intents",
    "backlog": "Backlog by queue, status and age",
    "unanswered_texts": "Top unanswered messages",
}


class Range:
    """The range a query string asks for, checked: what to fix is the error's message."""

    def __init__(self, query: Mapping[str, str], now: datetime) -> None:
        unknown = sorted(set(query) - _PARAMS)
        if unknown:
            raise _bad(f"unknown parameter {unknown[0]!r}; the dashboard takes {', '.join(sorted(_PARAMS))}")
        self.name = query.get("range", "24h") or "24h"
        self.channel = (query.get("channel") or "").strip() or None
        self.queue = (query.get("queue") or "").strip() or None
        if self.name in RANGES:
            self.until = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            self.since = self.until - RANGES[self.name]
        elif self.name == "custom":
            first, last = _day(query, "since"), _day(query, "until")
            if last < first:
                raise _bad("the last day is before the first; swap them")
            if (last - first).days >= _MAX_DAYS:
                raise _bad(f"a custom range has at most {_MAX_DAYS} days")
            self.since = datetime.combine(first, time(), UTC)
            self.until = datetime.combine(last + timedelta(days=1), time(), UTC)
        else:
            raise _bad(f"range must be 24h, 7d, 30d or custom, not {self.name[:20]!r}")
        self.bucket: Bucket = _bucket(self.until - self.since)

    def query(self) -> dict[str, str]:
        shown = {"range": self.name, "channel": self.channel or "", "queue": self.queue or ""}
        if self.name == "custom":
            shown |= {
                "since": self.since.date().isoformat(),
                "until": (self.until - timedelta(days=1)).date().isoformat(),
            }
        return {k: v for k, v in shown.items() if v}


class DashboardPages:
    def __init__(self, *, pages: Pages, load: LoadDashboard) -> None:
        self._pages = pages
        self._load = load

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{BASE}/", self.page),
            web.get(f"{BASE}/reports/{{chart}}.csv", self.csv),
        ]

    async def page(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "reports:read")
        try:
            chosen = Range(request.query, datetime.now(UTC))
        except Problem as problem:
            context: dict[str, Any] = {
                "error": problem.detail,
                "range": None,
                "board": None,
                "charts": {},
                "labels": _LABELS,
                "tables": {},
                "query": {},
            }
            return self._pages.render("dashboard.html", request, context, principal=principal, status=400)
        board = await self._board(chosen)
        context = {
            "error": None,
            "range": chosen,
            "board": board,
            "charts": _charts(board),
            "labels": _LABELS,
            "tables": board.tables(),
            "query": chosen.query(),
        }
        return self._pages.render("dashboard.html", request, context, principal=principal)

    async def csv(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "reports:read")
        chart = request.match_info["chart"]
        if chart not in _LABELS:
            raise self._pages.error(
                request, 404, "No such report", f"reports are {', '.join(_LABELS)}", principal=principal
            )
        try:
            chosen = Range(request.query, datetime.now(UTC))
        except Problem as problem:
            raise self._pages.error(
                request, 400, problem.title, problem.detail, principal=principal
            ) from None
        rows = (await self._board(chosen)).tables()[chart]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerows([[_cell(v) for v in row] for row in rows])
        name = f"frontdesk-{chart}-{chosen.since:%Y%m%d%H}-{chosen.until:%Y%m%d%H}.csv"
        return web.Response(
            text=out.getvalue(),
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
        )

    async def _board(self, chosen: Range) -> Dashboard:
        return await self._load(
            since=chosen.since,
            until=chosen.until,
            channel=chosen.channel,
            queue=chosen.queue,
            bucket=chosen.bucket,
        )


def _bucket(span: timedelta) -> Bucket:
    """Hours up to two days, days up to 90, weeks beyond (a year is 52 points a line, not 365)."""
    if span <= timedelta(hours=48):
        return "hour"
    return "day" if span <= _DAYS_CHARTED_BY_DAY else "week"


def _bad(detail: str) -> Problem:
    return Problem(400, "Bad range", detail, slug="bad-request")


def _day(query: Mapping[str, str], key: str) -> date:
    value = (query.get(key) or "").strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(f"{key} must be a day like 2026-12-01 for a custom range, not {value[:20]!r}") from None


def _cell(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _charts(board: Dashboard) -> dict[str, dict[str, Any]]:
    """Chart.js configurations (data only; console.js adds the options)."""
    fmt = _LABEL_FORMATS[board.bucket]
    labels = [at.strftime(fmt) for at in board.buckets]
    charts: dict[str, dict[str, Any]] = {}
    for name in SERIES_CHARTS:
        series = getattr(board, name)
        charts[name] = {
            "type": "line",
            "labels": labels,
            "datasets": [{"label": s.group or "all", "data": [v for _at, v in s.points]} for s in series],
        }
    for one in (board.complaints, board.unanswered):
        charts[one.name] = {
            "type": "line",
            "labels": labels,
            "datasets": [{"label": one.name, "data": [v for _at, v in one.points]}],
        }
    charts["csat"] = {
        "type": "bar",
        "labels": [str(score) for score, _n in board.csat],
        "datasets": [{"label": "answers", "data": [n for _s, n in board.csat]}],
    }
    charts["top_intents"] = {
        "type": "bar",
        "labels": [name for name, _n in board.top_intents],
        "datasets": [{"label": "messages", "data": [n for _i, n in board.top_intents]}],
    }
    charts["sla"] = {
        "type": "bar",
        "labels": [r.target for r in board.sla],
        "datasets": [
            {"label": "met", "data": [r.met for r in board.sla]},
            {"label": "breached", "data": [r.breached for r in board.sla]},
        ],
    }
    return charts
