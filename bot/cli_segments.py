"""``frontdesk segments …``: ``run`` segments every customer now (as the server's scheduled job
does) and prints what it found; ``show`` prints the last run's segments. Both work on the database
a running server uses; arguments are in :mod:`bot.cli_segments_parser`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from bot.cli_database import run_on_database
from bot.config import load_cli_settings
from ticketing.segments import SegmentRunRow, Segments

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["cmd_segments", "format_run"]


def cmd_segments(args: argparse.Namespace) -> int:
    settings = load_cli_settings(getattr(args, "config", None))

    async def work(engine: AsyncEngine) -> SegmentRunRow | None:
        store = Segments(engine=engine)
        if args.segments_command == "run":
            from bot.segments import run_segments  # loads scikit-learn: only for a run

            return await run_segments(store)
        return await store.latest()

    run = run_on_database(settings.database_url, work)
    if run is None:
        print("no segment run yet: run `frontdesk segments run`")
        return 1
    if args.json:
        print(json.dumps(asdict(run), default=str, indent=2))
    else:
        print(format_run(run))
    return 0


def format_run(run: SegmentRunRow) -> str:
    """The run as a few lines of text: its figures, then one line per segment."""
    silhouette = "" if run.silhouette is None else f", silhouette {run.silhouette:.3f}"
    tried = ", ".join(f"k={k}: {v:.3f}" for k, v in run.scores.items())
    lines = [
        f"run {run.id} at {run.finished_at:%Y-%m-%d %H:%M} UTC: {run.customers} customers, {run.k} segments "
        f"({run.method}{silhouette}); {run.tagged} segment tags changed",
    ]
    if tried:
        lines.append(f"silhouette by k: {tried}")
    lines += [f"  segment:{s['name']:<16} {s['size']:>8}  {s['description']}" for s in run.segments]
    return "\n".join(lines)
