"""Accounts and tokens for tests, made through the same stores the CLI uses."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App
from core.roles import Role
from ticketing.api_tokens import ApiToken
from ticketing.time import utcnow

PASSWORD = "correct horse battery"
INSECURE = "server:\n  insecure_cookies: true\n"  # the test client speaks http://127.0.0.1


async def account_with_token(app: App, name: str, role: Role, scopes: str = "") -> str:
    """A new account of ``role`` and a 90-day token of it (its role's permissions by default)."""
    account = await app.accounts.add(name, role=role, password=PASSWORD)
    secret, _row = await app.api_tokens.create(account, scopes=scopes, expires_in=timedelta(days=90))
    return secret


async def expire(engine: AsyncEngine, token_id: int) -> None:
    """Move a token's expiry into the past (rather than waiting for it)."""
    async with engine.begin() as conn:
        past = utcnow() - timedelta(minutes=1)
        await conn.execute(update(ApiToken).where(ApiToken.id == token_id).values(expires_at=past))


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
