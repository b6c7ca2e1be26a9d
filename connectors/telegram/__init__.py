"""Telegram channel (python-telegram-bot): webhook or long polling, see docs/telegram.md.

The connector, and python-telegram-bot with it, is imported on first use: reading config.yaml needs only
:class:`TelegramSettings`, and commands such as ``frontdesk tickets`` never start a channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.telegram.config import TelegramSettings

if TYPE_CHECKING:
    from connectors.telegram.connector import TelegramConnector

__all__ = ["TelegramConnector", "TelegramSettings"]


def __getattr__(name: str) -> Any:
    if name == "TelegramConnector":
        from connectors.telegram.connector import TelegramConnector

        return TelegramConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
