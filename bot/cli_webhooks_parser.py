"""The grammar of ``frontdesk webhooks``, kept apart from :mod:`bot.cli_parser` (which calls it)
for size, and just as light: the handler is named, not imported."""

from __future__ import annotations

from typing import Any

__all__ = ["add_webhooks_commands"]


def add_webhooks_commands(subparsers: Any) -> None:
    """``frontdesk webhooks …`` (docs/webhooks.md), handled by ``bot/cli_webhooks.py``."""
    from bot.cli_parser import Handler  # the parser module imports this one

    top = subparsers.add_parser("webhooks", help="outgoing webhooks: deliveries, dead letters, replays")
    sub = top.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)
    handler = Handler("bot.cli_webhooks", "cmd_webhooks")
    listing = sub.add_parser("list", help="recent deliveries, newest first (never their bodies)")
    listing.add_argument("--dead", action="store_true", help="only the dead-letter list")
    listing.add_argument("--limit", type=int, default=50)
    retry = sub.add_parser("retry", help="send dead deliveries again (same webhook-id)")
    retry.add_argument("ids", nargs="*", metavar="ID", help="delivery ids from `webhooks list --dead`")
    retry.add_argument("--all-dead", action="store_true", help="every dead delivery")
    replay = sub.add_parser("replay", help="queue past deliveries again as new ones (new webhook-id)")
    replay.add_argument("--since", required=True, help="2026-12-06T10:00 (UTC), or 30m, 2h, 3d ago")
    replay.add_argument("--event", action="append", help="only this event type (repeatable)")
    replay.add_argument("--subscription", help="only this subscription's")
    sub.add_parser("secret", help="print a new whsec_ secret for a subscription")
    for parser_ in (listing, retry, replay, sub.choices["secret"]):
        parser_.set_defaults(func=handler)
