"""API tokens and browser sessions: the two ways a request names an account (migration 0008).

Both are high-entropy random secrets shown once and stored as their SHA-256 only: a slow hash
(argon2) protects guessable passwords, while 256 random bits cannot be guessed, so a fast hash is
enough and keeps each request's check cheap. Tokens carry ``fd_`` so a leaked one is easy to grep
for. A token's scopes are checked again at every use against its account's *current* role, so
lowering a role narrows its tokens at once. ``last_used_at`` is written at most once a minute
per token, not on every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from core.roles import parse_scopes, permissions_of
from ticketing.accounts import ACCOUNT_COLUMNS, Account, AccountRow, row_of
from ticketing.errors import AccountError, UnknownAccount
from ticketing.models import Base, Id
from ticketing.time import utcnow

__all__ = [
    "TOKEN_PREFIX",
    "ApiToken",
    "ApiTokens",
    "Credential",
    "CredentialRefused",
    "TokenRow",
    "WebSession",
    "digest",
]

TOKEN_PREFIX = "fd_"  # noqa: S105  (a prefix, not a secret)
_TOUCH_EVERY = timedelta(minutes=1)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class WebSession(Base):
    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))  # not a credential alone: sent back in a header
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    account: str
    name: str | None
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Credential:
    """What a valid token or session names: the account, the permissions the request holds,
    and the token id or the session's CSRF token."""

    account: AccountRow
    scopes: frozenset[str]
    token_id: int | None = None
    csrf_token: str | None = None


class CredentialRefused(AccountError):
    """No, an unknown, expired or revoked token or session; the message says which and what to do."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokens:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine
        self._touched: dict[int, datetime] = {}

    # -- tokens ---------------------------------------------------------------------------------

    async def create(
        self, account: AccountRow, *, scopes: str, expires_in: timedelta, name: str | None = None
    ) -> tuple[str, TokenRow]:
        """A new token for ``account``: the secret (shown once, never stored) and its row."""
        try:
            granted = sorted(parse_scopes(scopes, account.role) if scopes else permissions_of(account.role))
        except ValueError as exc:
            raise AccountError(str(exc)) from None
        if expires_in <= timedelta(0):
            raise AccountError("a token must expire in the future, e.g. --expires 90d")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        values = {"account_id": account.id, "name": name, "token_hash": digest(secret), "scopes": granted,
                  "created_at": now, "expires_at": now + expires_in}  # fmt: skip
        async with self._engine.begin() as conn:
            result = await conn.execute(insert(ApiToken).values(**values))
            token_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        return secret, TokenRow(
            token_id, account.name, name, tuple(granted), now, now + expires_in, None, None
        )

    async def list(self, account: str | None = None) -> list[TokenRow]:
        stmt = select(ApiToken.id, Account.name, ApiToken.name, ApiToken.scopes, ApiToken.created_at,
                      ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at)  # fmt: skip
        stmt = stmt.join(Account, Account.id == ApiToken.account_id).order_by(ApiToken.id)
        if account is not None:
            stmt = stmt.where(Account.name == account)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [TokenRow(r[0], r[1], r[2], tuple(r[3]), r[4], r[5], r[6], r[7]) for r in rows]

    async def revoke(self, token_id: int) -> None:
        """Revoke token ``token_id`` (again: nothing changes)."""
        stmt = update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        async with self._engine.begin() as conn:
            await conn.execute(stmt.values(revoked_at=utcnow()))
            known = (await conn.execute(select(ApiToken.id).where(ApiToken.id == token_id))).first()
        if known is None:
            raise UnknownAccount(f"no token with id {token_id}; see frontdesk tokens list")

    async def verify_token(self, secret: str) -> Credential:
        stmt = select(*ACCOUNT_COLUMNS, ApiToken.id, ApiToken.scopes, ApiToken.expires_at,
                      ApiToken.revoked_at, ApiToken.last_used_at)  # fmt: skip
        stmt = stmt.join(ApiToken, ApiToken.account_id == Account.id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt.where(ApiToken.token_hash == digest(secret)))).first()
        if row is None:
            raise CredentialRefused("the token is not valid: check it was copied whole, or create one")
        account, token_id, scopes = row_of(row[:9]), int(row[9]), frozenset(row[10])
        now = utcnow()
        if row[12] is not None:
            raise CredentialRefused(f"token {token_id} was revoked; create a new one")
        if row[11] <= now:
            raise CredentialRefused(
                f"token {token_id} expired at {row[11]:%Y-%m-%d %H:%M} UTC; create a new one"
            )
        if account.disabled:
            raise CredentialRefused(f"account {account.name} is disabled; its tokens do not work")
        await self._touch(token_id, row[13], now)
        return Credential(account, scopes & permissions_of(account.role), token_id=token_id)

    async def _touch(self, token_id: int, stored: datetime | None, now: datetime) -> None:
        last = self._touched.get(token_id) or stored
        if last is not None and now - last < _TOUCH_EVERY:
            return
        self._touched[token_id] = now
        async with self._engine.begin() as conn:
            await conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))

    # -- browser sessions -----------------------------------------------------------------------

    async def open_session(self, account: AccountRow, *, lifetime: timedelta) -> tuple[str, str]:
        """A new session: its cookie value and its CSRF token."""
        secret, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(32), utcnow()
        values = {"account_id": account.id, "session_hash": digest(secret), "csrf_token": csrf,
                  "created_at": now, "expires_at": now + lifetime}  # fmt: skip
        async with self._engine.begin() as conn:
            await conn.execute(insert(WebSession).values(**values))
            await conn.execute(delete(WebSession).where(WebSession.expires_at <= now))
        return secret, csrf

    async def verify_session(self, secret: str) -> Credential:
        stmt = select(*ACCOUNT_COLUMNS, WebSession.csrf_token, WebSession.expires_at).join(
            WebSession, WebSession.account_id == Account.id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt.where(WebSession.session_hash == digest(secret)))).first()
        if row is None or row[10] <= utcnow():
            raise CredentialRefused("the session has ended; sign in again at POST /api/v1/auth/login")
        account = row_of(row[:9])
        if account.disabled:
            raise CredentialRefused(f"account {account.name} is disabled")
        return Credential(account, permissions_of(account.role), csrf_token=str(row[9]))

    async def close_session(self, secret: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(WebSession).where(WebSession.session_hash == digest(secret)))
