"""Telegram channel (python-telegram-bot): webhook or long polling, see docs/telegram.md."""

from connectors.telegram.config import TelegramSettings
from connectors.telegram.connector import TelegramConnector

__all__ = ["TelegramConnector", "TelegramSettings"]
