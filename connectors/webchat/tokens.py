"""Signed web chat session tokens.

A token names one visitor and one conversation and is signed with HMAC-SHA256; it is the only
thing a browser holds, so nobody can read a conversation without the token the server issued
for it. Tokens travel in the ``Authorization`` header (never a cookie), so cross-site requests
cannot ride on them. Signatures are compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from core.errors import FrontdeskError

__all__ = ["MAX_CLOCK_SKEW_SECONDS", "InvalidToken", "SessionClaims", "SessionTokens"]

_VERSION = "v1"
_REMEMBERED = 10_000  # verified tokens kept (a few MB at most)
# How far ahead of this server's clock a token's issue time may be: processes behind a load
# balancer share the secret, and their clocks differ by a little. A token from further ahead
# would stay valid for that much longer than the TTL (from the far future: for good).
MAX_CLOCK_SKEW_SECONDS = 300


class InvalidToken(FrontdeskError):
    """The token is missing, malformed, forged or expired; the message says which."""


@dataclass(frozen=True, slots=True)
class SessionClaims:
    visitor_id: str
    conversation_id: str
    issued_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionTokens:
    def __init__(self, *, secret: bytes, ttl_seconds: int) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        self._secret = secret
        self._ttl = ttl_seconds
        # Tokens verified before, by their full text: a chat sends the same token with every
        # message, and the HMAC and decoding were a few per cent of the service's time per
        # message. The same text verifies the same way; expiry is still checked on every use.
        self._verified: dict[str, SessionClaims] = {}

    def issue(self, visitor_id: str, conversation_id: str, *, now: float | None = None) -> str:
        claims = {"u": visitor_id, "c": conversation_id, "iat": int(now if now is not None else time.time())}
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{_VERSION}.{body}.{self._sign(body)}"

    def verify(self, token: str, *, now: float | None = None) -> SessionClaims:
        result = self._verified.get(token)
        if result is None:
            result = self._verify_signed(token)
            if len(self._verified) >= _REMEMBERED:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[token] = result
        current = now if now is not None else time.time()
        if current - result.issued_at > self._ttl:
            raise InvalidToken("session token expired; start a new session")
        if result.issued_at - current > MAX_CLOCK_SKEW_SECONDS:
            raise InvalidToken(
                "session token issued in the future (the issuing server's clock is ahead); "
                "start a new session"
            )
        return result

    def _verify_signed(self, token: str) -> SessionClaims:
        parts = token.split(".")
        # Tokens are base64url and ASCII; anything else (e.g. a lone surrogate from a JSON
        # escape, which cannot even be encoded for the HMAC) is malformed, not a server fault.
        if not token.isascii() or len(parts) != 3 or parts[0] != _VERSION:
            raise InvalidToken("malformed session token")
        _, body, signature = parts
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise InvalidToken("invalid session token signature")
        try:
            claims = json.loads(_unb64(body))
            result = SessionClaims(str(claims["u"]), str(claims["c"]), int(claims["iat"]))
        except (ValueError, KeyError, TypeError):
            raise InvalidToken("malformed session token") from None
        return result

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())
