"""``frontdesk chat``: a sandbox by default, so trying phrases opens no real tickets (issue 22,
finding 8), and with ``--live`` a process that serves only the console, whose rows no other
process fails for want of a console (each dispatcher claims only the channels it has)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from tests.conftest import ROOT
from tests.webchat.helpers import UNHANDLED
from ticketing.database import create_engine, upgrade
from ticketing.models import OutboxItem, Ticket
from ticketing.outbox import OutboxStore
from ticketing.time import utcnow


def chat(config: Path, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), "chat", *argv],
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


def configured(tmp_path: Path) -> tuple[Path, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.db'}"
    asyncio.run(upgrade(url))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: '{url}'}}\nrulebook: {{path: {ROOT / 'rulebook'}}}\n"
        "webchat: {secret_key: chat-test-secret-0123456789abcdef}\n"
    )
    return config, url


async def tickets(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(Ticket))).scalar_one())
    finally:
        await engine.dispose()


def test_chat_is_a_sandbox_by_default(tmp_path: Path) -> None:
    config, url = configured(tmp_path)
    out = chat(config, UNHANDLED)
    assert "sandbox" in out and "T-" in out, out  # a ticket was opened, in the sandbox
    assert asyncio.run(tickets(url)) == 0


def test_live_chat_writes_to_the_configured_database_and_claims_only_console_rows(tmp_path: Path) -> None:
    config, url = configured(tmp_path)
    out = chat(config, "--live", UNHANDLED)
    assert "sandbox" not in out and "T-" in out, out
    assert asyncio.run(tickets(url)) == 1

    async def claims() -> tuple[int, int, int]:
        engine = create_engine(url)
        store = OutboxStore(engine=engine)
        try:
            async with engine.begin() as conn:
                sent = (
                    await conn.execute(select(func.count()).where(OutboxItem.state == "sent"))
                ).scalar_one()
                past = utcnow() - timedelta(seconds=1)
                await conn.execute(update(OutboxItem).values(state="pending", next_attempt_at=past))
            webchat_only = await store.exchange([], channels=frozenset({"webchat"}))
            console = await store.exchange([], channels=frozenset({"console", "webchat"}))
            return int(sent), len(webchat_only), len(console)
        finally:
            await engine.dispose()

    sent, by_a_server, by_a_chat = asyncio.run(claims())
    assert sent >= 1  # the chat process delivered its own replies
    assert by_a_server == 0  # a server without a console leaves them alone (it used to fail them)
    assert by_a_chat == sent
