"""``frontdesk serve``, ``chat`` and ``db``: the commands that run the whole app or migrate its
database. Imported only when one of them runs (bot/cli_parser.py); faults an operator can fix
(port in use, database missing or unreachable, schema out of date) leave as
:class:`~bot.startup_errors.StartupError`, which ``bot.cli.main`` prints as one line.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
from pathlib import Path

from aiohttp import web

from bot.app import AppOverrides, build_app
from bot.config import Settings, load_cli_settings
from bot.gc_tuning import settle_heap
from bot.startup_errors import listen_fault, opening_database
from connectors.console import ConsoleConnector
from core import log_context
from ticketing.database import create_engine, current_revision, head_revision, upgrade

__all__ = ["chat_settings", "cmd_chat", "cmd_db_current", "cmd_db_upgrade", "cmd_serve"]

_LOGGER = logging.getLogger("frontdesk")


def _settings(args: argparse.Namespace) -> Settings:
    return load_cli_settings(getattr(args, "config", None))


def _logging(level: str, log_format: str = "text") -> None:
    """Log to stderr, as text or one JSON object per line, with the request, conversation and
    ticket ids of core/log_context.py on every record (the filter sits on the handler, so it
    sees every logger's records)."""
    handler = logging.StreamHandler()
    handler.addFilter(log_context.LogContextFilter())
    if log_format == "json":
        handler.setFormatter(log_context.JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(log_context.TEXT_FORMAT, datefmt="%H:%M:%S"))
    logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # The scheduler logs every sweep ("Running job ... executed successfully", twice a second) at
    # INFO; our own sweep logs what it fired. Its warnings (missed runs) and errors still show.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _logging(settings.server.log_level, args.log_format or settings.server.log_format)
    with opening_database(settings.database_url):  # a SQLite folder that cannot be made
        app = build_app(settings)
    settle_heap()  # what start-up built lives as long as the process (bot.gc_tuning)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    _LOGGER.info("web chat demo on http://%s:%d/", host, port)
    try:
        web.run_app(app.web, host=host, port=port, print=None, access_log=None, loop=_event_loop())
    except OSError as exc:
        fault = listen_fault(host, port, exc)
        if fault is None:
            raise
        raise fault from exc
    return 0


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed: the same asyncio API with a faster transport and scheduler, which
    is most of what the event loop does between analyses (docs/operations.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def cmd_chat(args: argparse.Namespace) -> int:
    """Try the rulebook in the terminal. A sandbox by default: a throwaway SQLite database, so
    trying phrases opens no real tickets; ``--live`` writes to the configured database. Either
    way this process serves only the console: the configured channels (Telegram polling, the
    mailbox, Slack) stay with the server, which delivers what this process queues for them."""
    settings = _settings(args)
    _logging("WARNING")
    console = ConsoleConnector()
    with tempfile.TemporaryDirectory(prefix="frontdesk-chat-") as sandbox:
        settings = chat_settings(settings, sandbox=None if args.live else Path(sandbox))
        with opening_database(settings.database_url):
            if not args.live:
                asyncio.run(upgrade(settings.database_url))
            app = build_app(settings, overrides=AppOverrides(connectors={console.name: console}))

        async def run() -> None:
            async with app.running():
                if args.message:
                    for text in args.message:
                        print(f"you> {text}")
                        await console.say(text)
                else:
                    await console.repl()

        if not args.live:
            print("(sandbox: a throwaway database; --live to use the configured one)")
        asyncio.run(run())
    return 0


def chat_settings(settings: Settings, *, sandbox: Path | None) -> Settings:
    """The settings of a ``frontdesk chat`` process: no channel but the console (and no analysis
    workers: one person typing would only wait for their start-up), and in a sandbox a fresh
    SQLite database in ``sandbox``."""
    update: dict[str, object] = {
        "nlu": settings.nlu.model_copy(update={"analysis_workers": 0}),
        "webchat": settings.webchat.model_copy(update={"enabled": False}),
        "telegram": None,
        "email": None,
        "slack": None,
    }
    if sandbox is not None:
        update["database"] = settings.database.model_copy(
            update={"url": f"sqlite+aiosqlite:///{sandbox / 'chat.db'}"}
        )
    return settings.model_copy(update=update)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _logging("INFO")
    with opening_database(settings.database_url):
        asyncio.run(upgrade(settings.database_url))
    print(f"database is at revision {head_revision()}")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    with opening_database(settings.database_url):
        current = asyncio.run(run())
    head = head_revision()
    print(
        f"current: {current or 'none'}; newest: {head}"
        + ("" if current == head else " (run `frontdesk db upgrade`)")
    )
    return 0 if current == head else 1
