"""``/console/segments``: the last segmentation run (docs/segments.md) and a button to run it now.

A run reads every customer and clusters them, seconds to minutes: the button starts it in the
background (one at a time per process) and the page says so; the scheduled job in the leader
keeps running on its own. Each segment links to its customers (the ``segment:<name>`` tag).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from bot.console.pages import BASE, Pages
from ticketing.segments import SegmentRunRow

__all__ = ["SegmentPages"]

_LOGGER = logging.getLogger(__name__)


class SegmentPages:
    def __init__(
        self, *, pages: Pages, latest: Callable[[], Awaitable[SegmentRunRow | None]],
        run: Callable[[], Coroutine[Any, Any, SegmentRunRow]],
    ) -> None:  # fmt: skip
        self._pages = pages
        self._latest = latest
        self._run = run
        self._running: asyncio.Task[SegmentRunRow] | None = None

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"{BASE}/segments", self.page), web.post(f"{BASE}/segments/run", self.start)]

    async def page(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "customers:read")
        context = {
            "run": await self._latest(),
            "running": self._running is not None and not self._running.done(),
            "may_run": principal.may("customers:write"),
        }
        return self._pages.render("segments.html", request, context, principal=principal)

    async def start(self, request: web.Request) -> web.Response:
        form = await self._pages.form(request)
        await self._pages.viewer(request, "customers:write", csrf=str(form.get("csrf_token", "")) or None)
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._run(), name="segments-from-console")
            self._running.add_done_callback(_report)
        raise web.HTTPSeeOther(f"{BASE}/segments")

    async def wait(self) -> None:
        """Until a run started here has finished (for tests)."""
        if self._running is not None:
            await asyncio.wait([self._running])

    async def stop(self) -> None:
        """At shutdown: a run started here is cancelled (the scheduled job runs it again later)."""
        if self._running is not None and not self._running.done():
            self._running.cancel()
            await asyncio.wait([self._running])


def _report(task: asyncio.Task[SegmentRunRow]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.error("segment run from the console failed", exc_info=task.exception())
