"""``frontdesk accounts|tokens|audit`` and ``tickets --as`` against a real database, in process."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.cli import main
from core.roles import Role
from tests.accounts.helpers import PASSWORD, bearer
from tests.conftest import ROOT, AppFactory
from tests.webchat.helpers import rows
from ticketing.api_tokens import ApiTokens, CredentialRefused
from ticketing.errors import LoginRefused
from ticketing.models import Conversation

Cli = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Cli]:
    """``cli(url)(*argv, stdin=...)`` runs ``frontdesk --config … ARGV`` as bot.cli would:
    the exit code, stdout and stderr."""

    def for_url(database_url: str) -> Cli:
        config = tmp_path / "cli.yaml"
        config.write_text(f"database:\n  url: {database_url}\nrulebook:\n  path: {ROOT / 'rulebook'}\n")

        async def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
            capsys.readouterr()
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
            code = await asyncio.to_thread(main, ["--config", str(config), *argv])
            out, err = capsys.readouterr()
            return code, out, err

        return run

    return for_url


async def test_accounts_commands(
    database_url: str, make_client: AppFactory, cli: Callable[[str], Cli]
) -> None:
    app, _client = await make_client(database_url)
    run = cli(database_url)
    email, name = ("--email", "Ada@Example.com"), ("--display-name", "Ada L.")
    code, out, err = await run("accounts", "add", "ada", "--role", "admin", *email, *name,
                               "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0, err
    assert "ada" in out and "admin" in out and "ada@example.com" in out
    assert (await run("accounts", "add", "vic", "--role", "viewer", "--password-stdin", stdin="short\n"))[
        0
    ] == 1
    code, _out, err = await run(
        "accounts", "add", "ada", "--role", "agent", "--password-stdin", stdin=PASSWORD
    )
    assert code == 1 and "exists already" in err
    assert (await run("accounts", "add", "vic", "--role", "viewer", "--password-stdin", stdin=PASSWORD))[
        0
    ] == 0
    assert (await app.accounts.authenticate("ada", PASSWORD)).role is Role.ADMIN

    assert (await run("accounts", "set-role", "vic", "agent"))[0] == 0
    assert (await run("accounts", "disable", "vic"))[0] == 0
    code, out, _err = await run("accounts", "list", "--json")
    listed = {a["name"]: a for a in json.loads(out)}
    assert listed["vic"]["role"] == "agent" and listed["vic"]["disabled"] is True
    assert listed["ada"]["display_name"] == "Ada L."
    with pytest.raises(LoginRefused, match="disabled"):
        await app.accounts.authenticate("vic", PASSWORD)
    assert (await run("accounts", "enable", "vic"))[0] == 0
    assert (await run("accounts", "reset-password", "vic", "--password-stdin", stdin="another password"))[
        0
    ] == 0
    assert (await app.accounts.authenticate("vic", "another password")).name == "vic"
    await app.ticketing.roster.add_agent("vic.k", queues=["support"])
    code, out, err = await run("accounts", "link-slack", "vic", "U0VIC", "--agent", "vic.k")
    assert code == 0 and "slack:U0VIC" in out, err
    assert await app.accounts.agent_for_slack_user("U0VIC") == "vic.k"
    code, _out, err = await run("accounts", "link-slack", "vic", "U0VIC", "--agent", "nobody")
    assert code == 1 and "no agent with handle 'nobody'" in err
    code, _out, err = await run("accounts", "disable", "nobody")
    assert code == 1 and "no account named 'nobody'" in err


async def test_tokens_commands(database_url: str, make_client: AppFactory, cli: Callable[[str], Cli]) -> None:
    app, client = await make_client(database_url)
    run = cli(database_url)
    await app.accounts.add("vic", role=Role.VIEWER, password=PASSWORD)
    code, _out, err = await run("tokens", "create", "--account", "vic", "--scopes", "tickets:read,audit:read")
    assert code == 1 and "viewer account does not hold audit:read" in err
    code, _out, err = await run("tokens", "create", "--account", "vic", "--expires", "forever")
    assert code == 1 and "not a duration" in err
    code, out, err = await run("tokens", "create", "--account", "vic", "--scopes", "tickets:read",
                               "--expires", "30d", "--name", "reports")  # fmt: skip
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("fd_") and len(secret) > 40 and "shown only now" in err
    me = await (await client.get("/api/v1/auth/me", headers=bearer(secret))).json()
    assert me["permissions"] == ["tickets:read"]

    code, out, _err = await run("tokens", "list")
    [line] = out.splitlines()
    token_id = line.split()[0]
    assert "vic" in line and "active" in line and "reports" in line and secret not in out
    assert (await run("tokens", "revoke", token_id))[0] == 0
    assert "revoked" in (await run("tokens", "list", "--account", "vic"))[1]
    with pytest.raises(CredentialRefused, match="revoked"):
        await ApiTokens(engine=app.engine).verify_token(secret)
    assert (await run("tokens", "revoke", "999"))[0] == 1


async def test_tickets_as_an_account_must_exist_be_enabled_and_allowed(
    sqlite_url: str, make_client: AppFactory, cli: Callable[[str], Cli]
) -> None:
    app, _client = await make_client(sqlite_url)
    run = cli(sqlite_url)
    await app.accounts.add("vic", role=Role.VIEWER, password=PASSWORD)
    await app.accounts.add("al", role=Role.AGENT, password=PASSWORD)
    await app.accounts.add("gone", role=Role.ADMIN, password=PASSWORD)
    await app.accounts.set_disabled("gone", True)

    code, _out, err = await run("tickets", "--as", "nobody", "list")
    assert code == 1 and "no account named 'nobody'" in err
    code, _out, err = await run("tickets", "--as", "gone", "list")
    assert code == 1 and "disabled" in err
    assert (await run("tickets", "--as", "vic", "list"))[0] == 0  # a viewer reads
    code, _out, err = await run("tickets", "--as", "vic", "queues", "sales")
    assert code == 1 and "viewer and may not do accounts:admin" in err
    code, _out, err = await run("tickets", "--actor", "agent:vic", "note", "T-1", "hello")
    assert code == 1 and "may not do tickets:write" in err
    code, _out, err = await run("tickets", "--as", "al", "customer-erase", "1", "--yes")
    assert code == 1 and "agent and may not do customers:erase" in err
    code, _out, err = await run("tickets", "--actor", "operator:somebody-else", "list")
    assert code == 1 and "--as ACCOUNT" in err
    code, _out, err = await run("tickets", "--as", "al", "reply", "T-1", "hi")
    assert code == 1 and "T-1" in err  # allowed: refused only because there is no such ticket


async def test_exports_erasures_and_merges_are_audited(
    database_url: str, make_client: AppFactory, cli: Callable[[str], Cli], tmp_path: Path
) -> None:
    app, client = await make_client(database_url)
    run = cli(database_url)
    await app.accounts.add("ada", role=Role.ADMIN, password=PASSWORD)
    one, two, three = [await _customer(app, n) for n in ("one", "two", "three")]

    assert (await run("tickets", "--as", "ada", "customer-export", str(one), "--out", str(tmp_path / "x")))[
        0
    ] == 0
    assert (await run("tickets", "customer-merge", str(two), str(three)))[0] == 0  # the operator
    assert (await run("tickets", "--as", "ada", "customer-erase", str(one), "--yes"))[0] == 0

    _code, out, _err = await run("audit", "--json")
    entries = json.loads(out)
    assert [(e["action"], e["customer_id"], e["actor"], e["source"]) for e in entries] == [
        ("customer.erase", one, "agent:ada", "cli"),
        ("customer.merge", three, entries[1]["actor"], "cli"),
        ("customer.merge", two, entries[1]["actor"], "cli"),
        ("customer.export", one, "agent:ada", "cli"),
    ]
    assert entries[1]["actor"].startswith("operator:") and entries[2]["detail"] == {"into": three}
    assert [e["action"] for e in json.loads((await run("audit", "--customer", str(one), "--json"))[1])] == [
        "customer.erase", "customer.export",
    ]  # fmt: skip
    assert len(json.loads((await run("audit", "--account", "ada", "--since", "1d", "--json"))[1])) == 2
    assert "customer.merge" in (await run("audit"))[1]

    # The same trail over HTTP, for admins.
    secret, _row = await app.api_tokens.create(await app.accounts.get("ada"), scopes="audit:read",
                                               expires_in=timedelta(days=1))  # fmt: skip
    resp = await client.get(f"/api/v1/audit?customer={one}", headers=bearer(secret))
    assert [e["action"] for e in (await resp.json())["entries"]] == ["customer.erase", "customer.export"]


async def _customer(app: App, name: str) -> int:
    ref = await app.customers.resolve("email", f"{name}@example.com", f"<{name}@example.com>",
                                      display_name=name, email=f"{name}@example.com")  # fmt: skip
    [(customer_id,)] = await rows(
        app.engine, select(Conversation.customer_id).where(Conversation.id == ref.id)
    )
    return int(customer_id)
