"""``frontdesk webhooks …``: the dead-letter list, retries and replays of outgoing webhooks.

``list`` shows deliveries (never their bodies: they hold customers' messages), ``--dead`` the
dead-letter list; ``retry ID…|--all-dead`` sends dead deliveries again under their own
``webhook-id``; ``replay --since TIME`` queues the deliveries made since then again, as new
deliveries with new ids; ``secret`` prints a fresh ``whsec_`` secret. Each is one transaction
on the database a running server uses; its dispatcher sends what they queue. Arguments are in
:mod:`bot.cli_parser`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from bot.cli_database import run_on_database
from bot.config import load_cli_settings
from bot.webhook_signing import new_secret
from bot.webhooks import sync_config
from ticketing.time import utcnow
from ticketing.webhooks import Subscriptions, WebhookDeliveries

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["cmd_webhooks", "parse_since"]

T = TypeVar("T")


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """``2026-12-06T10:00``, ``2026-12-06`` (UTC unless an offset is given) or ``90m``, ``2h``, ``3d`` ago."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdigit() and text[-1:] in units:
        return (now or utcnow()) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since {text!r}: write 2026-12-06T10:00 (UTC) or 2h") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _run(args: argparse.Namespace, work: Callable[[Subscriptions, WebhookDeliveries], Awaitable[T]]) -> T:
    settings = load_cli_settings(getattr(args, "config", None))

    async def run(engine: AsyncEngine) -> T:
        subscriptions = Subscriptions(engine=engine)
        await sync_config(subscriptions, settings.webhooks)  # what config.yaml says now
        return await work(subscriptions, WebhookDeliveries(engine=engine))

    return run_on_database(settings.database_url, run)


def cmd_webhooks(args: argparse.Namespace) -> int:
    action = args.webhooks_command
    if action == "secret":
        print(new_secret())
        return 0
    if action == "list":
        return _list(args)
    if action == "retry":
        if not args.ids and not args.all_dead:
            print("frontdesk: error: name delivery ids or give --all-dead", file=sys.stderr)
            return 1
        done = _run(args, lambda _s, d: d.retry([int(i) for i in args.ids], all_dead=args.all_dead))
        print(f"{done} dead deliveries queued again")
        return 0 if done or args.all_dead else 1
    try:
        since = parse_since(args.since)
    except ValueError as exc:
        print(f"frontdesk: error: {exc}", file=sys.stderr)
        return 2
    done = _run(
        args, lambda _s, d: d.replay(since=since, events=args.event or (), subscription=args.subscription)
    )
    print(f"{done} deliveries queued again as new deliveries (new webhook-id) since {since.isoformat()}")
    return 0


def _list(args: argparse.Namespace) -> int:
    async def read(subs: Subscriptions, deliveries: WebhookDeliveries) -> tuple[list[str], list[str]]:
        states = ("dead",) if args.dead else ()
        rows = await deliveries.rows(states=states, limit=args.limit)
        heading = [
            f"{s.name} ({s.source}) {s.url} events: {', '.join(sorted(s.events))}"
            for s in await subs.enabled()
        ]
        lines = [
            f"{r.id:<8} {r.msg_id:<28} {r.subscription:<16} {r.event_type:<16} {r.state:<8} "
            f"attempts {r.attempts:<3} {r.created_at:%Y-%m-%d %H:%M:%S} {r.last_error or ''}"
            for r in rows
        ]
        return heading, lines

    heading, lines = _run(args, read)
    print("subscriptions: " + ("; ".join(heading) if heading else "none"))
    print("\n".join(lines) if lines else ("no dead deliveries" if args.dead else "no deliveries"))
    return 0
