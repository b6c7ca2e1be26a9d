"""``frontdesk``: the command line for operators and admins.

Library code raises typed errors; this module is the only place that turns them into
messages on stderr and exit codes (2: configuration or rulebook problem, 1: other failure).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from bot.app import AppOverrides, StartupError, build_app
from bot.cli_email import add_email_commands
from bot.cli_nlu import add_nlu_commands
from bot.cli_rules import add_rules_commands
from bot.cli_tickets import add_tickets_commands
from bot.config import ConfigError, Settings, load_settings
from bot.gc_tuning import settle_heap
from connectors.console import ConsoleConnector
from core.yamlfile import SourceError
from ticketing.database import create_engine, current_revision, head_revision, upgrade

__all__ = ["main"]

_LOGGER = logging.getLogger("frontdesk")


def _settings(args: argparse.Namespace) -> Settings:
    path = Path(args.config) if args.config else None
    if path is None and Path("config.yaml").is_file():
        path = Path("config.yaml")
    if path is not None and not path.is_file():
        raise ConfigError([f"{path}:0: config file not found (pass --config PATH or set FRONTDESK_CONFIG)"])
    return load_settings(path)


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # The scheduler logs every sweep ("Running job ... executed successfully", twice a second) at
    # INFO; our own sweep logs what it fired. Its warnings (missed runs) and errors still show.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _logging(settings.server.log_level)
    app = build_app(settings)
    settle_heap()  # what start-up built lives as long as the process (bot.gc_tuning)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    _LOGGER.info("web chat demo on http://%s:%d/", host, port)
    web.run_app(app.web, host=host, port=port, print=None, access_log=None, loop=_event_loop())
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
    settings = _settings(args)
    _logging("WARNING")
    console = ConsoleConnector()
    # One person typing: analysis workers would only add their start-up time.
    settings = settings.model_copy(update={"nlu": settings.nlu.model_copy(update={"analysis_workers": 0})})
    app = build_app(settings, overrides=AppOverrides(connectors={console.name: console}))

    async def run() -> None:
        async with app.running():
            if args.message:
                for text in args.message:
                    print(f"you> {text}")
                    await console.say(text)
            else:
                await console.repl()

    asyncio.run(run())
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _logging("INFO")
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

    current = asyncio.run(run())
    head = head_revision()
    print(
        f"current: {current or 'none'}; newest: {head}"
        + ("" if current == head else " (run `frontdesk db upgrade`)")
    )
    return 0 if current == head else 1


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="frontdesk",
        description="Self-hosted customer-service bot and ticketing.",
        epilog="Configuration: config.yaml in the working directory, --config PATH or $FRONTDESK_CONFIG.",
    )
    top.add_argument("--config", default=os.environ.get("FRONTDESK_CONFIG"), help="path to config.yaml")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the service (web chat demo on http://127.0.0.1:8080)")
    serve.add_argument("--host", help="listen address (default: server.host)")
    serve.add_argument("--port", type=int, help="listen port (default: server.port)")
    serve.set_defaults(func=cmd_serve)

    chat = sub.add_parser("chat", help="chat with the bot in the terminal, to try the rulebook")
    chat.add_argument("message", nargs="*", help="send these messages and exit instead of prompting")
    chat.set_defaults(func=cmd_chat)

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", metavar="ACTION", required=True
    )
    db.add_parser("upgrade", help="create or migrate the schema to the newest revision").set_defaults(
        func=cmd_db_upgrade
    )
    db.add_parser("current", help="show the schema revision (exit 1 if not the newest)").set_defaults(
        func=cmd_db_current
    )

    add_rules_commands(sub)
    add_nlu_commands(sub)
    add_email_commands(sub)
    add_tickets_commands(sub)

    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SourceError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    except StartupError as exc:
        print(f"frontdesk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
