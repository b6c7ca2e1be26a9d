"""``frontdesk email ingest FILE.eml`` and the quarantine commands, end to end."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.cli_parser import add_email_commands
from tests.conftest import AppFactory
from tests.email.conftest import email_config
from tests.email.mails import make_mail
from tests.email.servers import SmtpRecorder
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import card_fields, is_card
from tests.webchat.helpers import count, eventually
from ticketing.models import ChannelCursor, Ticket


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="frontdesk")
    parser.add_argument("--config")
    add_email_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture
def config_file(sqlite_url: str, tmp_path: Path, smtp: tuple[SmtpRecorder, int]) -> Path:
    path = tmp_path / "config.yaml"
    root = Path(__file__).resolve().parents[2]
    path.write_text(
        f"database:\n  url: {sqlite_url}\nrulebook:\n  path: {root / 'rulebook'}\n"
        f"webchat:\n  secret_key: test-secret-key-0123456789abcdef\n{email_config(smtp[1])}"
    )
    return path


async def test_ingest_delivers_the_reply(
    config_file: Path, tmp_path: Path, smtp: tuple[SmtpRecorder, int], capsys: pytest.CaptureFixture[str]
) -> None:
    mail = tmp_path / "question.eml"
    mail.write_bytes(make_mail("what are your opening hours?", message_id="<cli-1@example.com>"))
    assert await _in_thread(["--config", str(config_file), "email", "ingest", str(mail)]) == 0
    assert "delivered" in capsys.readouterr().out
    [reply] = await smtp[0].wait_for(1)
    assert reply["In-Reply-To"] == "<cli-1@example.com>"


async def test_quarantine_list_and_retry(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.eml"
    bad.write_bytes(b"Subject: nobody\n\nno sender\n")
    assert await _in_thread(["--config", str(config_file), "email", "ingest", str(bad)]) == 0
    assert "quarantined" in capsys.readouterr().out
    assert await _in_thread(["--config", str(config_file), "email", "quarantine", "list"]) == 0
    listing = capsys.readouterr().out
    assert "no sender address" in listing
    mail_id = listing.split()[0]
    # Still broken: retrying keeps it in quarantine and says why.
    assert await _in_thread(["--config", str(config_file), "email", "quarantine", "retry", mail_id]) == 1
    assert await _in_thread(["--config", str(config_file), "email", "quarantine", "retry", "0" * 24]) == 1


async def test_set_aside_list_and_retry(
    config_file: Path, tmp_path: Path, smtp: tuple[SmtpRecorder, int], capsys: pytest.CaptureFixture[str]
) -> None:
    """A customer whose mail client marks every mail ``Precedence: bulk`` is set aside, listed,
    and, once an operator retries it, answered like any customer mail."""
    cli = ["--config", str(config_file), "email"]
    real = tmp_path / "customer.eml"
    real.write_bytes(
        make_mail(
            "what are your opening hours?",
            sender="grace@example.com",
            subject="Opening hours",
            message_id="<bulk-1@example.com>",
            headers={"Precedence": "bulk"},
        )
    )
    own = tmp_path / "own.eml"
    own.write_bytes(make_mail("echo", sender="support@acme.example", subject="Our own"))
    assert await _in_thread([*cli, "ingest", str(real), str(own)]) == 0
    out = capsys.readouterr().out
    assert "customer.eml: ignored (mailing-list)" in out and "own.eml: ignored (own-mail)" in out
    assert smtp[0].mails == []

    assert await _in_thread([*cli, "set-aside", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    [bulk] = [line for line in listing if "mailing-list" in line]
    [echo] = [line for line in listing if "own-mail" in line]
    assert "grace@example.com" in bulk and "'Opening hours'" in bulk
    # Our own mail coming back is never processed as a customer's.
    assert await _in_thread([*cli, "set-aside", "retry", echo.split()[0]]) == 1
    assert "never processed" in capsys.readouterr().err

    assert await _in_thread([*cli, "set-aside", "retry", bulk.split()[0]]) == 0
    assert "delivered (was mailing-list)" in capsys.readouterr().out
    [reply] = await smtp[0].wait_for(1)
    assert reply["In-Reply-To"] == "<bulk-1@example.com>" and reply["To"] == "grace@example.com"
    assert await _in_thread([*cli, "set-aside", "list"]) == 0
    remaining = capsys.readouterr().out
    assert "mailing-list" not in remaining and "own-mail" in remaining  # retried: out of the list
    assert await _in_thread([*cli, "set-aside", "retry", bulk.split()[0]]) == 1  # gone
    assert "no set-aside mail" in capsys.readouterr().err
    assert list((tmp_path / "var" / "email" / "set-aside" / "mailing-list" / "done").glob("*.eml"))


async def test_ingest_beside_a_running_server_starts_no_slack_and_no_scheduler(
    config_file: Path,
    tmp_path: Path,
    smtp: tuple[SmtpRecorder, int],
    sqlite_url: str,
    make_client: AppFactory,
) -> None:
    """The server owns Slack (cards, Socket Mode) and the SLA sweeps; a CLI run beside it must not
    touch Slack or sweep, or cards are posted twice and two schedulers race on one SQLite file."""
    async with FakeSlack() as server_slack, FakeSlack() as cli_slack:
        # The running server: Slack over HTTP events; its SLA sweeps off, so that any intake
        # seen below could only come from the CLI's process.
        server_config = server_slack.config() + email_config(smtp[1]) + "tickets:\n  scheduler: false\n"
        server, _client = await make_client(sqlite_url, extra=server_config)

        async def projecting() -> bool:  # it starts at the present: wait until it has begun
            return await count(server.engine, ChannelCursor, ChannelCursor.channel == "slack") == 1

        await eventually(projecting)
        # The CLI's config names another Slack app (Socket Mode) that must hear nothing.
        config = tmp_path / "with-slack.yaml"
        base = await asyncio.to_thread(config_file.read_text)
        config.write_text(base + cli_slack.config(mode="socket", app_token="xapp-1-A0FD-test"))
        for n in (1, 2):
            mail = tmp_path / f"human-{n}.eml"
            mail.write_bytes(make_mail(f"I want to talk to a human about my broken parcel {n}"))
            assert await _in_thread(["--config", str(config), "email", "ingest", str(mail)]) == 0
        assert cli_slack.calls == []  # no auth.test, no Socket Mode, no ticket card
        # The replies leave through the outbox, as the poller's would.
        assert len(await smtp[0].wait_for(2)) == 2
        # The server posts one card per ticket, from the database.
        cards = await server_slack.wait_for("chat.postMessage", 2, where=is_card)
        assert sorted("parcel 1" in card_fields(c) for c in cards) == [False, True]
        assert len(server_slack.calls_to("chat.postMessage", where=is_card)) == 2
        # No SLA sweep ran in the CLI: the second run's would have taken the first ticket in.
        assert [t.intake_at for t in await _tickets(sqlite_url)] == [None, None]


async def _tickets(url: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(select(Ticket.intake_at).order_by(Ticket.id))).all())
    finally:
        await engine.dispose()


async def _in_thread(argv: list[str]) -> int:
    """The CLI runs its own event loop (asyncio.run), as it does in a terminal."""
    return await asyncio.to_thread(run, argv)
