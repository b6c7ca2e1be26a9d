"""``frontdesk email ingest FILE.eml`` and the quarantine commands, end to end."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from bot.cli_email import add_email_commands
from tests.email.conftest import email_config
from tests.email.mails import make_mail
from tests.email.servers import SmtpRecorder


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


async def _in_thread(argv: list[str]) -> int:
    """The CLI runs its own event loop (asyncio.run), as it does in a terminal."""
    return await asyncio.to_thread(run, argv)
