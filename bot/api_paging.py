"""What the customer and conversation endpoints read from a request: ids, limits, opaque cursors,
text parameters and JSON bodies, each refused with a 400 problem that says what to send.

A cursor is opaque to clients (base64url of a small JSON object) so its content can change
without breaking them; one that does not decode to what this API gave is a client's mistake,
never a 500. Text that PostgreSQL cannot store (NUL, lone surrogates) is refused here too.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web

from bot.problem import Problem

__all__ = [
    "MAX_ID",
    "bad_request",
    "decode_cursor",
    "encode_cursor",
    "path_id",
    "query_limit",
    "query_text",
    "read_json_object",
]

MAX_ID = 2**63 - 1  # BIGINT: a larger id would be a database error, not a 404


def bad_request(detail: str) -> Problem:
    return Problem(400, "Bad request", detail, slug="bad-request")


def path_id(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise bad_request(f"{name} must be a positive whole number (e.g. 42), not {text[:40]!r}")
    return int(text)


def query_limit(request: web.Request, *, default: int = 50, maximum: int = 200) -> int:
    text = request.query.get("limit")
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= maximum:
        raise bad_request(f"limit must be a whole number from 1 to {maximum}, not {text[:40]!r}")
    return int(text)


def query_text(request: web.Request, name: str, *, max_chars: int) -> str | None:
    """A text parameter, or None if absent; too long or unstorable text is a 400."""
    values = request.query.getall(name, [])
    if not values:
        return None
    if len(values) > 1:
        raise bad_request(f"give {name} once")
    text = values[0]
    if len(text) > max_chars:
        raise bad_request(f"{name} holds at most {max_chars} characters")
    if "\x00" in text or not _encodable(text):
        raise bad_request(f"{name} must be UTF-8 text without NUL characters")
    return text


def encode_cursor(key: str, value: int) -> str:
    raw = json.dumps({key: value}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(request: web.Request, key: str) -> int | None:
    """The ``cursor`` parameter's ``key``, or None for the first page."""
    text = request.query.get("cursor")
    if text is None or text == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw).get(key)
    except (ValueError, binascii.Error, AttributeError, RecursionError):
        value = None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise bad_request(
            "cursor is not one this endpoint gave: pass next_cursor from the previous page "
            "unchanged, or leave cursor out for the first page"
        )
    return value


async def read_json_object(request: web.Request, example: str) -> dict[str, Any]:
    """The body as a JSON object; anything else is a 400 naming ``example``."""
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested too deep
        body = None
    if not isinstance(body, dict):
        raise bad_request(f"send a JSON object, e.g. {example}")
    return body


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
