"""Passwords: argon2id hashes, never the password; rehashed at login when the parameters change."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from core.roles import Role
from tests.accounts.helpers import PASSWORD
from ticketing.accounts import Account, Accounts
from ticketing.database import create_engine
from ticketing.errors import LoginRefused


async def _stored_hash(accounts_url: str) -> str:
    engine = create_engine(accounts_url)
    try:
        async with engine.connect() as conn:
            return str((await conn.execute(select(Account.password_hash))).scalar_one())
    finally:
        await engine.dispose()


async def test_hash_verify_and_rehash(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        old = Accounts(engine=engine, hasher=PasswordHasher(time_cost=1, memory_cost=8 * 1024))
        await old.add("ada", role=Role.AGENT, password=PASSWORD)
        first = await _stored_hash(database_url)
        assert first.startswith("$argon2id$") and PASSWORD not in first and "m=8192" in first
        assert (await old.authenticate("ada", PASSWORD)).name == "ada"
        assert await _stored_hash(database_url) == first  # same parameters: no rewrite

        new = Accounts(engine=engine, hasher=PasswordHasher(time_cost=2, memory_cost=16 * 1024))
        assert (await new.authenticate("ada", PASSWORD)).name == "ada"
        second = await _stored_hash(database_url)
        assert (
            second != first
            and "m=16384" in second
            and not PasswordHasher(time_cost=2, memory_cost=16 * 1024).check_needs_rehash(second)
        )
        with pytest.raises(LoginRefused, match="wrong name or password"):
            await new.authenticate("ada", "not the password")
        with pytest.raises(LoginRefused, match="wrong name or password"):  # the same answer
            await new.authenticate("nobody", PASSWORD)
    finally:
        await engine.dispose()
