"""``frontdesk backup DEST`` and ``frontdesk restore SRC``: the operator's side of
``ticketing/backup.py``, which owns the database and the files. This module only says which
files belong to this configuration and prints what was done."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.config import Settings, load_cli_settings
from bot.startup_errors import opening_database
from ticketing.backup import backup, restore
from ticketing.database import head_revision

__all__ = ["cmd_backup", "cmd_restore"]

# Where bot/app.py keeps a generated web chat key when webchat.secret_key is not set: without it
# a restored service would refuse every visitor's token.
_GENERATED_SECRET = Path("var/webchat-secret.key")


def _settings(args: argparse.Namespace) -> Settings:
    return load_cli_settings(getattr(args, "config", None))


def _files(settings: Settings) -> dict[str, Path]:
    """The files areas of this configuration, by name: each channel's files_dir, and the
    generated web chat key when there is one."""
    files: dict[str, Path] = {}
    if settings.telegram is not None:
        files["telegram"] = settings.resolve(settings.telegram.files_dir)
    if settings.email is not None:
        files["email"] = settings.resolve(settings.email.files_dir)
    if settings.slack is not None:  # agents' files posted in tickets' threads
        files["slack"] = settings.resolve(settings.slack.files.files_dir)
    configured = settings.webchat.secret_key
    if configured is None or not configured.get_secret_value():
        files["webchat-secret"] = settings.resolve(_GENERATED_SECRET)
    return files


def cmd_backup(args: argparse.Namespace) -> int:
    settings = _settings(args)
    url = settings.database_url
    with opening_database(url):
        done = asyncio.run(backup(url, Path(args.dest), files=_files(settings)))
    print(
        f"backed up the {done.backend} database (revision {done.revision or 'none'}) "
        f"and {done.files} files to {done.path}"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    settings = _settings(args)
    url = settings.database_url
    with opening_database(url):
        done = asyncio.run(restore(url, Path(args.src), files=_files(settings), force=args.force))
    head = head_revision()
    print(
        f"restored the {done.backend} database (revision {done.revision or 'none'}) and {done.files} files"
        + ("" if done.revision == head else f"; run `frontdesk db upgrade` to bring it to {head}")
    )
    return 0
