"""The ids a log line is about: the HTTP request, the conversation and the ticket.

They live in :mod:`contextvars`, so every task sees its own: the edge middleware sets the request
id (``bot/http.py``), the conversation flow the conversation and ticket (``bot/flow.py``), and
whatever is logged below them carries the ids without being passed them. Setting one is a
context-variable write (well under a microsecond); nothing is formatted unless a line is logged.
:class:`LogContextFilter` copies them onto each record, :class:`JsonFormatter` writes one JSON
object per line, and :data:`TEXT_FORMAT` shows them in the plain format.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
from contextvars import ContextVar
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "TEXT_FORMAT",
    "JsonFormatter",
    "LogContextFilter",
    "conversation_id",
    "request_id",
    "request_id_from",
    "safe_url",
    "ticket",
]

request_id: ContextVar[str | None] = ContextVar("frontdesk_request_id", default=None)
conversation_id: ContextVar[str | None] = ContextVar("frontdesk_conversation_id", default=None)
ticket: ContextVar[str | None] = ContextVar("frontdesk_ticket", default=None)

# An incoming X-Request-ID is kept only when it is a plain token: it goes into every log line,
# so spaces, quotes, control characters or a kilobyte of text from a client must not.
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")

# The plain format: `ids` is "" or " [req=… conv=… T-1001]", so lines keep their shape
# ("HH:MM:SS LEVEL logger: message") for whoever reads them.
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s%(ids)s: %(message)s"


def safe_url(url: str) -> str:
    """A URL for a log line: without the password of ``user:password@`` and without the query,
    where an operator's URL may carry credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# A new id is this process's random prefix and a counter: unique across processes (16 hex
# digits, as before), without a call for random bytes on every request of the web chat path.
_PROCESS_PREFIX = secrets.token_hex(4)
_NEXT_ID = itertools.count(1)


def request_id_from(header: str | None) -> str:
    """The client's ``X-Request-ID`` if it is a sane token, else a new one."""
    if header is not None and _SANE_ID.fullmatch(header):
        return header
    return f"{_PROCESS_PREFIX}{next(_NEXT_ID) & 0xFFFFFFFF:08x}"


class LogContextFilter(logging.Filter):
    """Copies the context's ids onto every record a handler writes (installed on the handler,
    so records from every logger get them): ``request_id``, ``conversation_id``, ``ticket``,
    and ``ids``, their text form."""

    def filter(self, record: logging.LogRecord) -> bool:
        req, conv, tick = request_id.get(), conversation_id.get(), ticket.get()
        record.request_id, record.conversation_id, record.ticket = req, conv, tick
        parts = [f"req={req}"] if req else []
        if conv:
            parts.append(f"conv={conv}")
        if tick:
            parts.append(tick)
        record.ids = f" [{' '.join(parts)}]" if parts else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the context's
    ids when set, and the traceback (``exc_info``) when there is one, so a log shipper needs
    no pattern to split lines."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "conversation_id", "ticket"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
