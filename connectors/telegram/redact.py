"""Keep the bot token out of logs.

The token is part of every Bot API URL, and httpx logs each request URL at INFO level; PTB's
own error texts may contain it too. A filter on the loggers that see those texts replaces the
token before any handler formats the record.
"""

from __future__ import annotations

import logging

__all__ = ["TokenRedactor"]

_LOGGERS = ("httpx", "httpcore", "telegram", "connectors.telegram")


class TokenRedactor(logging.Filter):
    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._token:
            return True
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "<telegram-token>")
            record.args = None
        return True

    def install(self) -> None:
        for name in _LOGGERS:
            logging.getLogger(name).addFilter(self)

    def remove(self) -> None:
        for name in _LOGGERS:
            logging.getLogger(name).removeFilter(self)
