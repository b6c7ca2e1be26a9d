"""``frontdesk accounts …``, ``frontdesk tokens …`` and ``frontdesk audit``: operator commands.

They run as the operator (whoever holds the configuration and the database), like ``db
upgrade``: creating the first admin cannot need an admin. A token's secret is printed once, to
stdout, and never stored or logged; passwords are read from a prompt or stdin, never argv.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from bot.cli_database import run_on_database
from bot.config import load_cli_settings
from core.roles import Role
from ticketing.access_audit import AccessAudit
from ticketing.accounts import AccountRow, Accounts
from ticketing.agents import Roster
from ticketing.api_tokens import ApiTokens
from ticketing.errors import AccountError, TicketError

__all__ = ["cmd_accounts", "cmd_audit", "cmd_tokens", "parse_age"]

_AGE = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}

Command = Callable[[argparse.Namespace, Any, TextIO], Awaitable[None]]


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m`` → a timedelta."""
    match = _AGE.match(text.strip())
    if match is None:
        raise AccountError(f"{text!r} is not a duration: write e.g. 90d, 12h or 30m")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def _run(args: argparse.Namespace, command: Command, *, out: TextIO | None = None) -> int:
    settings = load_cli_settings(getattr(args, "config", None))
    try:
        run_on_database(settings.database_url, lambda engine: command(args, engine, out or sys.stdout))
    except TicketError as exc:
        print(f"frontdesk: error: {exc}", file=sys.stderr)
        return 1
    return 0


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise AccountError("the two passwords differ; nothing was changed")
    return first


def _line(a: AccountRow) -> str:
    state = "disabled" if a.disabled else "enabled"
    slack = f" slack:{a.slack_user_id}" if a.slack_user_id else ""
    return f"{a.name:<20} {a.role:<7} {state:<9} {a.email or '-':<28} {a.display_name or ''}{slack}"


async def _accounts(args: argparse.Namespace, engine: Any, out: TextIO) -> None:
    accounts, verb = Accounts(engine=engine), args.accounts_command
    if verb == "add":
        password = await asyncio.to_thread(_password, args)
        row = await accounts.add(args.name, role=Role(args.role), password=password, email=args.email,
                                 display_name=args.display_name)  # fmt: skip
        await _link_agent(engine, row, None)
    elif verb == "list":
        rows = await accounts.all()
        if args.json:
            print(json.dumps([_json(r) for r in rows], indent=2), file=out)
        else:
            print("\n".join(_line(r) for r in rows) or "no accounts", file=out)
        return
    elif verb in ("disable", "enable"):
        row = await accounts.set_disabled(args.name, verb == "disable")
    elif verb == "reset-password":
        row = await accounts.set_password(args.name, await asyncio.to_thread(_password, args))
    elif verb == "set-role":
        row = await accounts.set_role(args.name, Role(args.role))
    else:  # link-slack
        row = await accounts.link_slack(args.name, args.slack_user_id)
        await _link_agent(engine, row, args.agent)
    print(_line(row), file=out)


async def _link_agent(engine: Any, account: AccountRow, handle: str | None) -> None:
    """Link the agent of that handle (default: the account's name, then its email) to it."""
    roster = Roster(engine=engine)
    handles = [handle] if handle else [h for h in (account.name, account.email) if h]
    for candidate in handles:
        if await roster.link_account(candidate, account.id):
            return
    if handle:
        raise AccountError(f"no agent with handle {handle!r}; add it with frontdesk tickets agent-add")


def _json(a: AccountRow) -> dict[str, Any]:
    return {"name": a.name, "role": str(a.role), "disabled": a.disabled, "email": a.email,
            "display_name": a.display_name, "slack_user_id": a.slack_user_id,
            "created_at": a.created_at.isoformat()}  # fmt: skip


async def _tokens(args: argparse.Namespace, engine: Any, out: TextIO) -> None:
    tokens = ApiTokens(engine=engine)
    if args.tokens_command == "create":
        account = await Accounts(engine=engine).get(args.account)
        if account.disabled:
            raise AccountError(f"account {account.name} is disabled; enable it first")
        secret, row = await tokens.create(account, scopes=args.scopes, expires_in=parse_age(args.expires),
                                          name=args.name)  # fmt: skip
        print(secret, file=out)
        print(f"token {row.id} for {row.account}: {','.join(row.scopes)}; expires "
              f"{row.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now: store it.",
              file=sys.stderr)  # fmt: skip
    elif args.tokens_command == "list":
        now = datetime.now(UTC)
        for t in await tokens.list(args.account):
            state = "revoked" if t.revoked_at else "expired" if t.expires_at <= now else "active"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            print(f"{t.id:<5} {t.account:<16} {state:<8} expires {t.expires_at:%Y-%m-%d} used {used:<16} "
                  f"{','.join(t.scopes)} {t.name or ''}", file=out)  # fmt: skip
    else:
        await tokens.revoke(args.id)
        print(f"token {args.id} revoked", file=out)


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    if _AGE.match(text.strip()):
        return datetime.now(UTC) - parse_age(text)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise AccountError(f"--since {text!r}: write an ISO date (2026-12-01) or an age (7d)") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def _audit(args: argparse.Namespace, engine: Any, out: TextIO) -> None:
    account_id = (await Accounts(engine=engine).get(args.account)).id if args.account else None
    rows = await AccessAudit(engine=engine).list(
        customer_id=args.customer, account_id=account_id, since=_since(args.since), limit=args.limit
    )
    if args.json:
        data = [{"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "action": r.action,
                 "customer_id": r.customer_id, "ticket_id": r.ticket_id, "source": r.source,
                 "detail": r.detail} for r in rows]  # fmt: skip
        print(json.dumps(data, indent=2), file=out)
        return
    for r in rows:
        print(f"{r.at:%Y-%m-%d %H:%M:%S} {r.actor:<24} {r.action:<16} customer {r.customer_id or '-'} "
              f"from {r.source} {json.dumps(r.detail)}", file=out)  # fmt: skip
    if not rows:
        print("no access recorded", file=out)


def cmd_accounts(args: argparse.Namespace) -> int:
    return _run(args, _accounts)


def cmd_tokens(args: argparse.Namespace) -> int:
    return _run(args, _tokens)


def cmd_audit(args: argparse.Namespace) -> int:
    return _run(args, _audit)
