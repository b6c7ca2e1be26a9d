"""Standard Webhooks signatures (https://www.standardwebhooks.com): what a receiver verifies.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the signature is the
base64 HMAC-SHA256 of it under the key inside the ``whsec_<base64>`` secret, sent as
``webhook-signature: v1,<signature>``. Pure functions, so tests and docs use the same code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from bot.webhook_settings import secret_key

__all__ = ["headers", "new_secret", "sign", "verify"]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 signature>`` for one delivery."""
    content = f"{msg_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(secret: str, msg_id: str, timestamp: str, body: str, signature_header: str) -> bool:
    """Whether any ``v1`` signature in the (space-separated) header matches."""
    expected = sign(secret, msg_id, int(timestamp), body).removeprefix("v1,")
    for part in signature_header.split():
        version, _, value = part.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False
