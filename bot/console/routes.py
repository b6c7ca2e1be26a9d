"""The console's routes, built from the app's collaborators by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.api_auth import ApiAuth, TokenBuckets
from bot.console.customers import CustomerPages
from bot.console.dashboard import DashboardPages, LoadDashboard
from bot.console.improve import ImprovePages, ReadMissed, ReadRecent
from bot.console.login import LoginPages
from bot.console.pages import BASE, Pages, setup_templates
from bot.console.segments import SegmentPages
from bot.console.tickets import TicketPages
from bot.knowledge import LiveKnowledge
from ticketing.access_audit import AccessAudit
from ticketing.accounts import Accounts
from ticketing.api_tokens import ApiTokens
from ticketing.customer_admin import CustomerAdmin
from ticketing.customer_edits import CustomerEdits
from ticketing.customer_records import CustomerRecords
from ticketing.segments import SegmentRunRow
from ticketing.ticket_queries import TicketQueries
from ticketing.tickets import TicketDesk
from ticketing.transcripts import Transcripts

__all__ = ["Console"]

_STATIC = Path(__file__).parent / "static"


class Console:
    def __init__(
        self, *, auth: ApiAuth, accounts: Accounts, tokens: ApiTokens, logins: TokenBuckets,
        desk: TicketDesk, queries: TicketQueries, transcripts: Transcripts, audit: AccessAudit,
        records: CustomerRecords, edits: CustomerEdits, admin: CustomerAdmin, dashboard: LoadDashboard,
        knowledge: LiveKnowledge, missed: ReadMissed, recent: ReadRecent, faq_threshold: float,
        latest_segments: Callable[[], Awaitable[SegmentRunRow | None]],
        run_segments: Callable[[], Coroutine[Any, Any, SegmentRunRow]],
        session_hours: float, secure_cookies: bool,
    ) -> None:  # fmt: skip
        pages = Pages(auth=auth)
        self.segments = SegmentPages(pages=pages, latest=latest_segments, run=run_segments)
        self._parts = (
            LoginPages(pages=pages, accounts=accounts, tokens=tokens, logins=logins,
                       session_hours=session_hours, secure_cookies=secure_cookies),
            DashboardPages(pages=pages, load=dashboard),
            TicketPages(pages=pages, desk=desk, queries=queries, transcripts=transcripts, audit=audit),
            ImprovePages(pages=pages, knowledge=knowledge, missed=missed, recent=recent,
                         faq_threshold=faq_threshold),
            self.segments,
            CustomerPages(pages=pages, records=records, edits=edits, admin=admin, transcripts=transcripts,
                          audit=audit),
        )  # fmt: skip

    def install(self, app: web.Application) -> None:
        setup_templates(app, static="console-static")
        app.router.add_get(BASE, _to_dashboard)
        for part in self._parts:
            app.add_routes(part.routes())
        app.router.add_static(f"{BASE}/static", _STATIC, name="console-static", append_version=True)


async def _to_dashboard(_request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect(f"{BASE}/")
