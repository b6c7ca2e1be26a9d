"""``frontdesk tickets …`` against a real database: output, audit actor, clear errors."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.cli_parser import add_tickets_commands
from core.roles import Role
from tests.conftest import ROOT
from tests.ticketing.helpers import world
from ticketing.accounts import Accounts
from ticketing.models import SlaTimer


def frontdesk(config: Path, *argv: str) -> int:
    """Parse like ``bot.cli`` does (it registers the same commands) and run the command."""
    top = argparse.ArgumentParser(prog="frontdesk")
    top.add_argument("--config")
    add_tickets_commands(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["--config", str(config), "tickets", *argv])
    return int(args.func(args))


async def run(config: Path, *argv: str) -> int:
    return await asyncio.to_thread(frontdesk, config, *argv)


async def test_operator_workflow(sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: {sqlite_url}\nrulebook:\n  path: {ROOT / 'rulebook'}\n")
    async with world(sqlite_url, ROOT / "rulebook") as w:
        number, _ = await w.open_ticket("my order never arrived")
        customer_id = (await w.desk.get(number))["customer_id"]
        await Accounts(engine=w.engine).add("bob", role=Role.AGENT, password="correct horse battery")
    ref = f"T-{number}"
    assert await run(config, "agent-add", "alice", "--queue", "support", "--max-open", "2") == 0
    assert await run(config, "--actor", "agent:bob", "assign", ref) == 0  # round-robin
    assert await run(config, "priority", ref, "high") == 0
    assert await run(config, "reply", ref, "It is on its way", "--agent", "alice", "--status", "pending") == 0
    assert await run(config, "solve", ref) == 0
    capsys.readouterr()
    assert await run(config, "list", "--status", "solved") == 0
    listed = capsys.readouterr().out
    assert ref in listed and "alice" in listed and "high" in listed
    assert await run(config, "show", ref, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "solved" and shown["sla_policy"] == "standard"
    assignment = next(e for e in shown["events"] if e["kind"] == "assignee")
    assert assignment["actor"] == "agent:bob" and assignment["data"] == {"from": None, "to": "alice"}
    assert await run(config, "customer-export", str(customer_id)) == 0
    assert "my order never arrived" in capsys.readouterr().out


async def test_errors_are_one_line_and_exit_1(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: {sqlite_url}\nrulebook:\n  path: {ROOT / 'rulebook'}\n")
    async with world(sqlite_url, ROOT / "rulebook") as w:
        number, _ = await w.open_ticket()
    assert await run(config, "solve", f"T-{number}") == 0
    capsys.readouterr()
    assert await run(config, "status", f"T-{number}", "new") == 1
    assert "cannot go from solved to new" in capsys.readouterr().err
    assert await run(config, "queue", f"T-{number}", "billing") == 1
    assert "unknown queue 'billing'" in capsys.readouterr().err
    assert await run(config, "assign", f"T-{number}", "nobody") == 1
    assert "unknown agent 'nobody'" in capsys.readouterr().err
    assert await run(config, "customer-erase", "1") == 1
    assert "repeat with --yes" in capsys.readouterr().err


async def test_failed_timers_are_listed_and_retried(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An escalation that raised leaves its timer ``failed`` (the log says why): operators list
    such timers and, once the cause is fixed, make them due again; the retry is audited and
    the next sweep fires them."""
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: {database_url}\nrulebook:\n  path: {ROOT / 'rulebook'}\n")
    async with world(database_url, ROOT / "rulebook") as w:
        number, _ = await w.open_ticket("my order never arrived")
        ticket = await w.desk.get(number)
        await Accounts(engine=w.engine).add("olga", role=Role.ADMIN, password="correct horse battery")
    ref = f"T-{number}"
    assert await run(config, "sweep") == 0  # intake starts the clocks
    async with world(database_url, ROOT / "rulebook") as w, w.engine.begin() as conn:
        past = ticket["created_at"] - timedelta(minutes=1)
        await conn.execute(
            update(SlaTimer)
            .where(
                SlaTimer.ticket_id == ticket["id"], SlaTimer.kind == "target", SlaTimer.name == "first_reply"
            )
            .values(state="failed", due_at=past, fired_at=past, fired_by="host:1")
        )
    capsys.readouterr()
    assert await run(config, "timers", ref) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) >= 3 and listed[0].split()[:4] == [ref, "target", "first_reply", "failed"]
    assert await run(config, "show", ref) == 0
    assert "  timer target:first_reply failed " in capsys.readouterr().out
    assert await run(config, "timers", "--state", "failed", "--json") == 0
    (failed,) = json.loads(capsys.readouterr().out)
    assert (failed["ticket_number"], failed["name"], failed["fired_by"]) == (number, "first_reply", "host:1")
    with pytest.raises(SystemExit):  # a misspelt state is an error, not an empty list
        frontdesk(config, "timers", "--state", "faild")
    assert "invalid choice: 'faild'" in capsys.readouterr().err
    assert await run(config, "--as", "olga", "retry-timers") == 0
    assert capsys.readouterr().out.startswith("1 failed timer(s) due again")
    assert await run(config, "timers", "--state", "failed") == 0
    assert capsys.readouterr().out.strip() == "no timers"
    assert await run(config, "sweep") == 0
    assert "fired: 1" in capsys.readouterr().out
    async with world(database_url, ROOT / "rulebook") as w:
        events = await w.desk.events(number)
    retry = next(e for e in events if e["kind"] == "sla_retry")
    assert retry["actor"] == "agent:olga" and retry["data"] == {"timer": "target:first_reply"}
    assert events[-1]["kind"] == "sla_breach"
