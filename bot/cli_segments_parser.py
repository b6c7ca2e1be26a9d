"""The grammar of ``frontdesk segments``, kept apart from :mod:`bot.cli_parser` (which calls it)
and just as light: the handler is named, not imported."""

from __future__ import annotations

from typing import Any

__all__ = ["add_segments_commands"]


def add_segments_commands(subparsers: Any) -> None:
    """``frontdesk segments run|show`` (docs/segments.md), handled by ``bot/cli_segments.py``."""
    from bot.cli_parser import Handler  # the parser module imports this one

    top = subparsers.add_parser("segments", help="customer segments: recompute now, show the last run")
    sub = top.add_subparsers(dest="segments_command", metavar="ACTION", required=True)
    handler = Handler("bot.cli_segments", "cmd_segments")
    run = sub.add_parser(
        "run",
        help="segment every customer now and replace their segment:* tags (the server does this daily)",
    )
    show = sub.add_parser("show", help="the last run's segments with their descriptions")
    for parser_ in (run, show):
        parser_.add_argument("--json", action="store_true", help="print JSON")
        parser_.set_defaults(func=handler)
