"""Telegram channel (python-telegram-bot): webhook or long polling, see docs/telegram.md."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.telegram.config import TelegramSettings
    from connectors.telegram.connector import TelegramConnector

__all__ = ["TelegramConnector", "TelegramSettings"]

# Loaded on first use: the package is also imported for its name (``channel_name``), which must
# stay cheap (``frontdesk rules check`` registers every channel's name).
_LAZY = {
    "TelegramSettings": "connectors.telegram.config",
    "TelegramConnector": "connectors.telegram.connector",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
