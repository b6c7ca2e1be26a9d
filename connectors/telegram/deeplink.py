"""Signed ``/start`` deep-link parameters: ``https://t.me/<bot>?start=<parameter>``.

A link in an email or on the web chat lets a known customer continue on Telegram: the
parameter names the customer and carries an HMAC, so nobody can attach their Telegram
account to someone else's record by guessing ids. Telegram allows 64 characters of
``A-Z a-z 0-9 _ -``; ``c<customer id>-<22 chars of HMAC-SHA256>`` fits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

__all__ = ["deep_link_key", "make_parameter", "read_parameter"]

_PATTERN = re.compile(r"^c([0-9]{1,18})-([A-Za-z0-9_-]{22})$")


def deep_link_key(*, link_secret: str | None, bot_token: str) -> bytes:
    """The configured key, or one derived from the bot token (rotating the token voids links)."""
    if link_secret:
        return link_secret.encode()
    return hmac.new(bot_token.encode(), b"frontdesk telegram deep link", hashlib.sha256).digest()


def _mac(key: bytes, customer_id: int) -> str:
    digest = hmac.new(key, f"telegram-link:{customer_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:22]


def make_parameter(customer_id: int, *, key: bytes) -> str:
    return f"c{customer_id}-{_mac(key, customer_id)}"


def read_parameter(parameter: str, *, key: bytes) -> int | None:
    """The customer id if the parameter is one Frontdesk signed, else None."""
    match = _PATTERN.match(parameter)
    if match is None:
        return None
    customer_id = int(match.group(1))
    if not hmac.compare_digest(match.group(2), _mac(key, customer_id)):
        return None
    return customer_id
