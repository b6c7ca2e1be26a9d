"""``frontdesk webhooks list|retry|replay`` against a real app and a real receiver."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from bot.cli_parser import add_webhooks_commands
from bot.cli_webhooks import parse_since
from tests.conftest import AppFactory
from tests.webchat.helpers import UNHANDLED
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import config, message, start, until


def frontdesk(config_file: Path, *argv: str) -> int:
    top = argparse.ArgumentParser(prog="frontdesk")
    top.add_argument("--config")
    add_webhooks_commands(top.add_subparsers(dest="command", required=True))
    args = top.parse_args(["--config", str(config_file), "webhooks", *argv])
    return int(args.func(args))


async def test_list_dead_retry_and_replay(
    database_url: str, make_client: AppFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = True
    receiver = Receiver(answer=lambda _n: 503 if failing else 200)
    try:
        url = await receiver.start()
        extra = config(url, events="[ticket.created, message.created]", attempts=2)
        app = await start(database_url, make_client, extra)
        config_file = tmp_path / "cli.yaml"
        config_file.write_text(f"database:\n  url: {database_url}\n{extra}")
        await app.flow.handle(message(UNHANDLED, user="ana"))
        await until("three dead", lambda: _dead(app, 3))

        assert await asyncio.to_thread(frontdesk, config_file, "list", "--dead") == 0
        shown = capsys.readouterr().out
        assert shown.count(" dead ") == 3 and "HTTP 503" in shown and "crm (config)" in shown
        assert UNHANDLED not in shown  # bodies are never listed

        failing = False
        assert await asyncio.to_thread(frontdesk, config_file, "retry", "--all-dead") == 0
        assert "3 dead deliveries queued again" in capsys.readouterr().out
        await until("all sent", lambda: len(receiver.unique()) == 3 and _counts(app, {"sent": 3}))
        first_ids = set(receiver.unique())

        assert (
            await asyncio.to_thread(
                frontdesk, config_file, "replay", "--since", "1h", "--event", "message.created"
            )
            == 0
        )
        assert "2 deliveries queued again" in capsys.readouterr().out
        await until("replayed", lambda: len(receiver.unique()) == 5)
        replayed = {k: v for k, v in receiver.unique().items() if k not in first_ids}
        assert sorted(d.body["data"]["message"]["direction"] for d in replayed.values()) == ["in", "out"]
        assert all(d.valid for d in receiver.requests)
        assert await asyncio.to_thread(frontdesk, config_file, "retry") == 1  # nothing named
        assert await asyncio.to_thread(frontdesk, config_file, "replay", "--since", "yesterday") == 2
    finally:
        await receiver.close()


def test_since_accepts_a_time_or_an_age() -> None:
    now = parse_since("2026-12-06T10:00")
    assert now.isoformat() == "2026-12-06T10:00:00+00:00"
    assert parse_since("2h", now=now).isoformat() == "2026-12-06T08:00:00+00:00"
    with pytest.raises(ValueError, match="--since"):
        parse_since("soon")


async def _dead(app: object, n: int) -> bool:
    return await _counts(app, {"dead": n})


async def _counts(app: object, expected: dict[str, int]) -> bool:
    return await app.webhook_deliveries.counts() == expected  # type: ignore[attr-defined,no-any-return]
