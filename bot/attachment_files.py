"""Every channel's stored message files, read back by storage key whichever channel kept them.

Each channel keeps the files it receives under its own ``files_dir`` (Telegram's under
``attachments/telegram/``, email's under ``email/``, the files agents post in Slack under
``attachments/slack/``, the files visitors send from the widget under ``attachments/webchat/``);
a storage key is relative to that directory. A file crosses channels (a customer's Telegram
photo into a Slack thread, an agent's Slack file to an email customer), so reading goes by the
key's area to the directory that holds it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from bot.config import Settings
from ticketing.channel_files import DiskFiles

__all__ = ["SLACK_AREA", "WEBCHAT_AREA", "AttachmentFiles", "attachment_files"]

_LOGGER = logging.getLogger(__name__)
SLACK_AREA = "attachments/slack"  # files agents post in tickets' threads
WEBCHAT_AREA = "attachments/webchat"  # files visitors send from the widget


class AttachmentFiles:
    def __init__(self, *, areas: Mapping[str, DiskFiles], default: DiskFiles) -> None:
        """``areas``: key prefix (``"email/"``) → the directory that holds keys starting with it."""
        self._areas = dict(sorted(areas.items(), key=lambda kv: -len(kv[0])))  # longest prefix first
        self._default = default

    def _files(self, key: str) -> DiskFiles:
        return next((files for prefix, files in self._areas.items() if key.startswith(prefix)), self._default)

    async def put(self, area: str, filename: str, data: bytes) -> str:
        return await self._files(f"{area}/").put(area, filename, data)

    async def remove(self, key: str) -> bool:
        """Delete the file under ``key`` (a customer's erasure); False if it was not there."""
        try:
            return await self._files(key).remove(key)
        except (OSError, ValueError) as exc:
            _LOGGER.warning("files: %s could not be removed (%s)", key, type(exc).__name__)
            return False

    async def read(self, key: str) -> bytes | None:
        """The bytes kept under ``key``, or None when they are gone (or the key is not ours)."""
        try:
            return await self._files(key).read(key)
        except (OSError, ValueError) as exc:
            _LOGGER.warning("files: %s is not readable (%s)", key, type(exc).__name__)
            return None


def attachment_files(settings: Settings) -> AttachmentFiles:
    """The configured channels' file directories (construction touches no disk)."""
    areas: dict[str, DiskFiles] = {}
    if settings.telegram is not None:
        areas["attachments/telegram/"] = DiskFiles(root=settings.resolve(settings.telegram.files_dir))
    if settings.email is not None:
        areas["email/"] = DiskFiles(root=settings.resolve(settings.email.files_dir))
    if settings.webchat.enabled:
        areas[f"{WEBCHAT_AREA}/"] = DiskFiles(root=settings.resolve(settings.webchat.uploads.files_dir))
    if settings.slack is not None:
        areas[f"{SLACK_AREA}/"] = DiskFiles(root=settings.resolve(settings.slack.files.files_dir))
    return AttachmentFiles(areas=areas, default=DiskFiles(root=settings.resolve(Path("var"))))
