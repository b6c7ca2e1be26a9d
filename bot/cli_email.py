"""``frontdesk email …``: operator commands for the email channel.

``ingest FILE.eml`` runs one raw mail through exactly the path the IMAP poller uses (parse,
classify, thread, store, flow), then delivers the replies it produced. ``quarantine list`` and
``quarantine retry ID`` show and re-process mails that could not be processed. Both may run
beside a server on the same database: they start no Slack connector, scheduler or polling loop.
Register with ``add_email_commands(subparsers)`` in :mod:`bot.cli`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.app import build_app
from bot.channel_files import DiskFiles
from bot.config import ConfigError, Settings, load_settings
from bot.email_backend import MailHold, quarantine_hold
from connectors.email import EmailConnector
from connectors.email.ingest import IngestResult

__all__ = ["add_email_commands", "ingest_files"]


def _settings(args: argparse.Namespace) -> Settings:
    path = Path(args.config) if getattr(args, "config", None) else None
    if path is None and Path("config.yaml").is_file():
        path = Path("config.yaml")
    if path is not None and not path.is_file():
        raise ConfigError([f"{path}:0: config file not found (pass --config PATH or set FRONTDESK_CONFIG)"])
    settings = load_settings(path)
    if settings.email is None:
        raise ConfigError([f"{path or 'config.yaml'}:0: email: section missing (see docs/email.md)"])
    return settings


def _here_only(settings: Settings) -> Settings:
    """The settings for a short-lived process beside a running server: the mail is processed and
    the outbox delivers what is due, but nothing that belongs to the server starts here.

    Off: the IMAP poller, Telegram long polling and ``setWebhook``, the whole Slack connector
    (HTTP events, Socket Mode, the loop that posts ticket cards and thread messages: the
    server's posts them from the database) and the SLA scheduler with the ticket-event rules
    (the server's sweeps take in the new tickets). The customer channels' connectors stay, so
    the outbox can send; Slack never has outbox rows of its own.
    """
    update: dict[str, object] = {
        "slack": None,
        "tickets": settings.tickets.model_copy(update={"scheduler": False}),
    }
    if settings.email is not None:
        update["email"] = settings.email.model_copy(update={"poll": False})
    if settings.telegram is not None:
        update["telegram"] = settings.telegram.model_copy(update={"mode": "webhook", "webhook_url": None})
    return settings.model_copy(update=update)


async def ingest_files(settings: Settings, raws: list[bytes]) -> list[IngestResult]:
    """Process raw mails as the poller would, then deliver the replies they produced."""
    app = build_app(_here_only(settings))
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector)
    async with app.running():
        results = [await email.ingest(raw) for raw in raws]
        await app.dispatcher.drain_once()
    return results


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = _settings(args)
    raws = [Path(name).read_bytes() for name in args.files]
    results = asyncio.run(ingest_files(settings, raws))
    for name, result in zip(args.files, results, strict=True):
        detail = f" ({result.detail})" if result.detail else ""
        print(f"{name}: {result.outcome}{detail}")
    return 0


def _hold(settings: Settings) -> MailHold:
    assert settings.email is not None
    return quarantine_hold(DiskFiles(root=settings.resolve(settings.email.files_dir)))


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    held = _hold(_settings(args)).entries()
    if not held:
        print("quarantine is empty")
    for h in held:
        print(f"{h.id}  {h.held_at:%Y-%m-%d %H:%M}  {h.size:>9} bytes  {h.reason}  {h.path}")
    return 0


def cmd_quarantine_retry(args: argparse.Namespace) -> int:
    settings = _settings(args)
    hold = _hold(settings)
    try:
        raw = hold.raw(args.id)
    except KeyError:
        print(f"no quarantined mail {args.id!r}; see `frontdesk email quarantine list`", file=sys.stderr)
        return 1
    [result] = asyncio.run(ingest_files(settings, [raw]))
    if result.outcome == "quarantined":
        print(f"{args.id}: still cannot be processed: {result.detail}")
        return 1
    hold.release(args.id)
    print(f"{args.id}: {result.outcome}")
    return 0


def add_email_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    email = subparsers.add_parser("email", help="email channel tools").add_subparsers(
        dest="email_command", metavar="ACTION", required=True
    )
    ingest = email.add_parser("ingest", help="process raw mails (.eml) exactly as the IMAP poller would")
    ingest.add_argument("files", nargs="+", metavar="FILE.eml")
    ingest.set_defaults(func=cmd_ingest)
    quarantine = email.add_parser("quarantine", help="mails that could not be processed").add_subparsers(
        dest="quarantine_command", metavar="ACTION", required=True
    )
    quarantine.add_parser("list", help="show quarantined mails").set_defaults(func=cmd_quarantine_list)
    retry = quarantine.add_parser("retry", help="process a quarantined mail again")
    retry.add_argument("id")
    retry.set_defaults(func=cmd_quarantine_retry)
