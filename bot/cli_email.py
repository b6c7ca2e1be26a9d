"""``frontdesk email …``: operator commands for the email channel.

``ingest FILE.eml`` runs one raw mail through exactly the path the IMAP poller uses (parse,
classify, thread, store, flow), then delivers the replies it produced. ``quarantine list`` and
``quarantine retry ID`` show and re-process mails that could not be processed;
``set-aside list`` and ``set-aside retry ID`` show the mails not answered on purpose
(auto-replies, bounces, lists) and process one as a customer's mail. All may run beside a
server on the same database: they start no Slack connector, scheduler or polling loop.
Their arguments are in :mod:`bot.cli_parser`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

from bot.app import build_app
from bot.config import ConfigError, Settings, load_cli_settings
from connectors.email import EmailConnector
from connectors.email.classify import Noise
from connectors.email.ingest import IngestResult
from ticketing.channel_files import DiskFiles
from ticketing.mail_hold import MailHold, quarantine_hold, set_aside_area

__all__ = [
    "cmd_ingest",
    "cmd_quarantine_list",
    "cmd_quarantine_retry",
    "cmd_set_aside_list",
    "cmd_set_aside_retry",
    "ingest_files",
]


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_cli_settings(getattr(args, "config", None))
    if settings.email is None:
        where = getattr(args, "config", None) or "config.yaml"
        raise ConfigError([f"{where}:0: email: section missing (see docs/email.md)"])
    return settings


def _here_only(settings: Settings) -> Settings:
    """The settings for a short-lived process beside a running server: the mail is processed and
    the outbox delivers what is due, but nothing that belongs to the server starts here.

    Off: the IMAP poller, Telegram long polling and ``setWebhook``, the whole Slack connector
    (HTTP events, Socket Mode, the loop that posts ticket cards and thread messages: the
    server's posts them from the database) and the SLA scheduler with the ticket-event rules
    (the server's sweeps take in the new tickets). The customer channels' connectors stay, so
    the outbox can send; Slack never has outbox rows of its own. Analysis runs in-process:
    starting worker processes would take longer than the work.
    """
    update: dict[str, object] = {
        "slack": None,
        "tickets": settings.tickets.model_copy(update={"scheduler": False}),
        "nlu": settings.nlu.model_copy(update={"analysis_workers": 0}),  # a batch, not a server
    }
    if settings.email is not None:
        update["email"] = settings.email.model_copy(update={"poll": False})
    if settings.telegram is not None:
        update["telegram"] = settings.telegram.model_copy(update={"mode": "webhook", "webhook_url": None})
    return settings.model_copy(update=update)


async def ingest_files(
    settings: Settings, raws: list[bytes], *, accept_noise: bool = False
) -> list[IngestResult]:
    """Process raw mails as the poller would, then deliver the replies they produced.

    ``accept_noise``: handle them as customer mails even if they look like auto-replies,
    bounces or list mail (an operator's ``set-aside retry``).
    """
    app = build_app(_here_only(settings))
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector)
    async with app.running():
        results = [await email.ingest(raw, accept_noise=accept_noise) for raw in raws]
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


def _files(settings: Settings) -> DiskFiles:
    assert settings.email is not None
    return DiskFiles(root=settings.resolve(settings.email.files_dir))


def _hold(settings: Settings) -> MailHold:
    return quarantine_hold(_files(settings))


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


# Our own mail coming back: processing it as a customer's would make Frontdesk its own customer.
_NEVER_RETRIED = frozenset({Noise.OWN_MAIL, Noise.LOOP})


def cmd_set_aside_list(args: argparse.Namespace) -> int:
    held = set_aside_area(_files(_settings(args))).entries()
    if not held:
        print("nothing is set aside")
    for h in held:
        sender, subject = _from_and_subject(h.path)
        print(f"{h.id}  {h.held_at:%Y-%m-%d %H:%M}  {h.reason:<12}  {sender}  {subject!r}  {h.path}")
    return 0


def cmd_set_aside_retry(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        kind, hold = set_aside_area(_files(settings)).find(args.id)
        raw = hold.raw(args.id)
    except KeyError:
        print(f"no set-aside mail {args.id!r}; see `frontdesk email set-aside list`", file=sys.stderr)
        return 1
    if kind in _NEVER_RETRIED:
        print(f"{args.id}: our own mail ({kind}) is never processed as a customer's", file=sys.stderr)
        return 1
    [result] = asyncio.run(ingest_files(settings, [raw], accept_noise=True))
    if result.outcome == "quarantined":
        print(f"{args.id}: cannot be processed: {result.detail} (moved to the quarantine)")
        hold.release(args.id)
        return 1
    hold.release(args.id)
    print(f"{args.id}: {result.outcome} (was {kind})")
    return 0


def _from_and_subject(path: Path) -> tuple[str, str]:
    try:
        with path.open("rb") as f:
            headers = BytesHeaderParser(policy=policy.default).parse(f)
        return str(headers.get("From", "")), str(headers.get("Subject", ""))
    except Exception:  # a header the parser rejects must not hide the entry
        return "?", "?"
