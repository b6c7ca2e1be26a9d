"""The real app served on a loopback port from a thread of its own, for clients that block
(Schemathesis calls it with ``requests``): built, opened and seeded in that thread's loop, with
every ERROR log record or traceback it writes kept for the test to assert on."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.app import App, AppOverrides, build_app
from core.roles import Role
from tests.conftest import make_settings
from tests.webchat.helpers import UNHANDLED, FlakyChannel
from tests.webhooks.receiver import SECRET
from tests.webhooks.test_delivery import message
from ticketing.models import Conversation, Ticket

QUIET = "api:\n  requests_per_minute: 1000000\n  burst: 100000\ntickets:\n  scheduler: false\n"


class ErrorLog(logging.Handler):
    """Keeps what an operator would have to look at: ERROR and above, and any traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(f"{record.name}: {self.format(record)}")


@dataclass
class LiveApp:
    url: str
    token: str
    seeded: dict[str, Any]
    errors: ErrorLog
    _stop: Future[None] = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def close(self) -> None:
        self._stop.set_result(None)
        self._thread.join(timeout=60)
        logging.getLogger().removeHandler(self.errors)


def serve(database_url: str, tmp_path: Path, extra: str = QUIET) -> LiveApp:
    """Start the app; returns once it answers, seeded with a customer, conversation, ticket and
    webhook deliveries (one subscription removed, so its deliveries are dead)."""
    started: Future[LiveApp] = Future()
    stop: Future[None] = Future()
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)

    async def main() -> None:
        overrides = AppOverrides(connectors={"loopback": FlakyChannel("loopback")})
        app = build_app(make_settings(database_url, tmp_path, extra), overrides=overrides)
        runner = web.AppRunner(app.web)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            token, seeded = await _seed(app)
            thread = threading.current_thread()
            started.set_result(LiveApp(f"http://{host}:{port}", token, seeded, errors, stop, thread))
            await asyncio.wrap_future(stop)
        finally:
            await runner.cleanup()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
            raise

    threading.Thread(target=run, name="live-app", daemon=True).start()
    return started.result(timeout=120)


async def _seed(app: App) -> tuple[str, dict[str, Any]]:
    account = await app.accounts.add("schemathesis", role=Role.ADMIN, password="correct horse battery")
    token, _row = await app.api_tokens.create(account, scopes="", expires_in=timedelta(days=1))
    subs = app.webhook_subscriptions
    for name in ("seed-kept", "seed-removed"):
        await subs.put(name=name, url="http://127.0.0.1:9/", secret=SECRET, events=["ticket.created",
                       "message.created"])  # fmt: skip
    for user in ("ana", "ben"):
        await app.flow.handle(message(UNHANDLED, user=user))
    await app.webhook_producer.run_once()
    await subs.remove("seed-removed")  # its waiting deliveries are dead-lettered
    async with app.engine.connect() as conn:
        number, customer = (await conn.execute(select(Ticket.number, Ticket.customer_id).limit(1))).one()
        public_id = (await conn.execute(select(Conversation.public_id).limit(1))).scalar_one()
    (dead, *_) = await app.webhook_deliveries.rows(states=["dead"], limit=1)
    # Path parameters by name: operations that take them are called with these real ids too.
    return token, {"ref": f"T-{number}", "customer_id": customer, "public_id": public_id, "id": dead.id}
