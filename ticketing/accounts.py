"""Accounts: who may sign in to Frontdesk and with which role (migration 0008).

An account is a person (admin, agent or viewer; :mod:`core.roles` says what each may do).
Passwords are argon2id hashes (``argon2-cffi``); hashing is CPU-heavy by design, so it runs in a
thread, never on the event loop. A login whose hash was made with older parameters is rehashed.
Failed logins count up; after ``max_failures`` in a row the account is locked for
``lock_minutes`` (logged at WARNING, never with the password), and a success resets the count.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Boolean, Integer, String, case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from core.roles import Role, allows
from ticketing.errors import AccountError, LoginRefused, NotPermitted, UnknownAccount
from ticketing.models import Agent, Base, Id
from ticketing.time import utcnow

__all__ = ["ACCOUNT_COLUMNS", "LOGIN_FAILED", "Account", "AccountRow", "Accounts", "check_allowed", "row_of"]

_LOGGER = logging.getLogger(__name__)

LOGIN_FAILED = "wrong name or password"
_MIN_PASSWORD = 10


class Account(Base):
    """A person who signs in (migration 0008); ``agents.account_id`` links a Slack agent to one."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)  # lower-cased
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    name: str
    display_name: str | None
    email: str | None
    role: Role
    disabled: bool
    slack_user_id: str | None
    locked_until: datetime | None
    created_at: datetime


ACCOUNT_COLUMNS = (Account.id, Account.name, Account.display_name, Account.email, Account.role,
                   Account.disabled, Account.slack_user_id, Account.locked_until,
                   Account.created_at)  # fmt: skip


def row_of(values: Sequence[Any]) -> AccountRow:
    """An :class:`AccountRow` from a result row that starts with ``ACCOUNT_COLUMNS``."""
    return AccountRow(values[0], values[1], values[2], values[3], Role(values[4]), bool(values[5]),
                      values[6], values[7], values[8])  # fmt: skip


def check_name(name: str) -> str:
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise AccountError(f"account name {name!r}: use 1-64 letters, digits, '.', '_', '-' or '@'")
    return name


def check_password(password: str) -> str:
    if len(password) < _MIN_PASSWORD:
        raise AccountError(f"the password is too short: use at least {_MIN_PASSWORD} characters")
    return password


class Accounts:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        hasher: PasswordHasher | None = None,
        max_failures: int = 5,
        lock_minutes: float = 15,
    ) -> None:
        self._engine = engine
        self._hasher = hasher or PasswordHasher()
        self._max_failures = max_failures
        self._lock = timedelta(minutes=lock_minutes)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def add(
        self, name: str, *, role: Role, password: str, email: str | None = None,
        display_name: str | None = None,
    ) -> AccountRow:  # fmt: skip
        now = utcnow()
        digest = await self.hash(check_password(password))
        values = {"name": check_name(name), "role": role.value, "password_hash": digest,
                  "email": email.strip().lower() if email else None, "display_name": display_name,
                  "disabled": False, "failed_logins": 0, "created_at": now, "updated_at": now}  # fmt: skip
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(Account).values(**values))
        except IntegrityError:
            raise AccountError(f"an account named {name!r} or with that email exists already") from None
        return await self.get(name)

    async def get(self, name: str) -> AccountRow:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*ACCOUNT_COLUMNS).where(Account.name == name))).first()
        if row is None:
            raise UnknownAccount(f"no account named {name!r}; see frontdesk accounts list")
        return row_of(row)

    async def by_id(self, account_id: int) -> AccountRow | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*ACCOUNT_COLUMNS).where(Account.id == account_id))).first()
        return None if row is None else row_of(row)

    async def all(self) -> list[AccountRow]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(*ACCOUNT_COLUMNS).order_by(Account.name))).all()
        return [row_of(r) for r in rows]

    async def _set(self, name: str, **values: object) -> AccountRow:
        stmt = update(Account).where(Account.name == name).values(updated_at=utcnow(), **values)
        try:
            async with self._engine.begin() as conn:
                changed = (await conn.execute(stmt)).rowcount
        except IntegrityError:
            raise AccountError(f"another account has that {', '.join(values)} already") from None
        if not changed:
            raise UnknownAccount(f"no account named {name!r}; see frontdesk accounts list")
        return await self.get(name)

    async def set_disabled(self, name: str, disabled: bool) -> AccountRow:
        return await self._set(name, disabled=disabled)

    async def set_role(self, name: str, role: Role) -> AccountRow:
        return await self._set(name, role=role.value)

    async def set_password(self, name: str, password: str) -> AccountRow:
        digest = await self.hash(check_password(password))
        return await self._set(name, password_hash=digest, failed_logins=0, locked_until=None)

    async def link_slack(self, name: str, slack_user_id: str) -> AccountRow:
        return await self._set(name, slack_user_id=slack_user_id.strip() or None)

    async def for_agent(self, handle: str) -> AccountRow | None:
        """The account an agent acts with: its explicit link, else the account named like its
        handle or with its handle as email."""
        linked = select(Agent.account_id).where(Agent.handle == handle).scalar_subquery()
        stmt = select(*ACCOUNT_COLUMNS).where(
            (Account.id == linked) | (Account.name == handle) | (Account.email == handle.lower())
        )
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(stmt.order_by(case((Account.id == linked, 0), else_=1)).limit(1))
            ).all()
        return row_of(rows[0]) if rows else None

    async def agent_for_slack_user(self, slack_user_id: str) -> str | None:
        """The handle of the agent linked to the account of that Slack user, if any."""
        stmt = (
            select(Agent.handle)
            .join(Account, Account.slack_user_id == slack_user_id)
            .where(
                (Agent.account_id == Account.id)
                | (Agent.handle == Account.name)
                | (Agent.handle == Account.email)
            )
        )
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(stmt.order_by(case((Agent.account_id == Account.id, 0), else_=1)).limit(1))
            ).all()
        return str(rows[0][0]) if rows else None

    async def acting(self, name: str, permission: str) -> AccountRow:
        """The account ``name`` if it may do ``permission`` now (CLI ``--as``, Slack agents)."""
        account = await self.get(name)
        check_allowed(account, permission)
        return account

    async def authenticate(self, name: str, password: str) -> AccountRow:
        """The account, if ``password`` is its password and it is neither disabled nor locked.

        Raises:
            LoginRefused: the same message for an unknown name and a wrong password; a lock
                says how long it has left (``retry_after``).
        """
        now = utcnow()
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(*ACCOUNT_COLUMNS, Account.password_hash, Account.failed_logins).where(
                        Account.name == name
                    )
                )
            ).first()
        if found is None:
            await self._waste_time(password)  # an unknown name costs what a wrong password does
            raise LoginRefused(LOGIN_FAILED)
        account, digest, failures = row_of(found[:9]), str(found[9]), int(found[10])
        if account.locked_until is not None and account.locked_until > now:
            left = int((account.locked_until - now).total_seconds()) + 1
            raise LoginRefused(
                f"too many failed logins: this account is locked for {left // 60 + 1} more minute(s); "
                "wait, or ask an admin to run frontdesk accounts reset-password",
                retry_after=left,
            )
        if not await asyncio.to_thread(self._verify, digest, password):
            await self._failed(account, failures + 1, now)
            raise LoginRefused(LOGIN_FAILED)
        if account.disabled:
            raise LoginRefused("this account is disabled; ask an admin to run frontdesk accounts enable")
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if self._hasher.check_needs_rehash(digest):
            values["password_hash"] = await self.hash(password)
        if failures or account.locked_until is not None or "password_hash" in values:
            async with self._engine.begin() as conn:
                await conn.execute(update(Account).where(Account.id == account.id).values(**values))
        return account

    def _verify(self, digest: str, password: str) -> bool:
        try:
            return self._hasher.verify(digest, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _waste_time(self, password: str) -> None:
        if self._dummy is None:
            self._dummy = await self.hash("not a password of anyone's")
        await asyncio.to_thread(self._verify, self._dummy, password)

    async def _failed(self, account: AccountRow, failures: int, now: datetime) -> None:
        values: dict[str, object] = {"failed_logins": failures}
        if failures >= self._max_failures:
            values = {"failed_logins": 0, "locked_until": now + self._lock}
            _LOGGER.warning(
                "account %s locked for %s after %d failed logins", account.name, self._lock, failures
            )
        async with self._engine.begin() as conn:
            await conn.execute(update(Account).where(Account.id == account.id).values(**values))


def check_allowed(account: AccountRow, permission: str) -> None:
    """Raises :class:`NotPermitted` unless the enabled ``account`` holds ``permission``."""
    if account.disabled:
        raise NotPermitted(f"account {account.name} is disabled; an admin can run frontdesk accounts enable")
    if not allows(account.role, permission):
        raise NotPermitted(
            f"account {account.name} is a {account.role} and may not do {permission}; "
            "an admin can change its role with frontdesk accounts set-role"
        )
