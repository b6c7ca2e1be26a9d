"""JSON text for the database's JSON columns: orjson where it can, the standard library where
it cannot.

Every message stores its analysis, every reply its outbox payload, every batch its conversations'
rule counters as JSON; the standard library's encoder and decoder were about a tenth of what
the event loop spent per message, orjson takes a tenth of that. What orjson refuses (integers
past 64 bits, NaN) goes to the standard library, so nothing that stored before fails now. The
text is compact (no spaces); every reader parses it the same.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["as_read", "dumps", "loads"]


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def as_read(value: Any) -> Any:
    """A JSON column's value read through asyncpg, which has decoded it already (SQLAlchemy
    registers its codec); SQLite hands back the text, for :func:`loads`."""
    return value
