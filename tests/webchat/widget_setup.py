"""A Frontdesk app with a ``webchat.widget`` section and a rulebook whose team is in or away now.

Shared by the widget configuration's API tests and its browser tests. The rulebook is the
example one with its calendar replaced: open around the clock, or closed today and tomorrow
(UTC) so the team is away now and back the day after tomorrow at 00:00 UTC.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App, build_app
from bot.config import settings_from_text
from tests.conftest import ROOT

SLA = """
policies:
  - name: chat
    calendar: team
    targets:
      normal: {first_reply: 2h, next_reply: 4h}
"""


def widget_rulebook(directory: Path, *, team_in: bool) -> Path:
    """The example rulebook under ``directory`` with the team in (24/7) or away today and tomorrow."""
    rulebook = directory / "rulebook"
    shutil.copytree(ROOT / "rulebook", rulebook, ignore=shutil.ignore_patterns("tests"))
    today = datetime.now(UTC).date()
    closed = "" if team_in else f"    closed: [{today}, {today + timedelta(days=1)}]\n"
    team = f'  team:\n    timezone: UTC\n    hours:\n      mon-sun: "00:00-24:00"\n{closed}'
    calendars = (rulebook / "calendars.yml").read_text().replace("calendars:\n", "calendars:\n" + team, 1)
    (rulebook / "calendars.yml").write_text(calendars)
    (rulebook / "sla.yml").write_text(SLA)
    (rulebook / "escalations.yml").unlink(missing_ok=True)
    return rulebook


def back_at() -> datetime:
    """When the away team of :func:`widget_rulebook` is back: the day after tomorrow, 00:00 UTC."""
    return datetime.combine(datetime.now(UTC).date() + timedelta(days=2), datetime.min.time(), tzinfo=UTC)


WidgetApp = Callable[..., Awaitable[tuple[App, TestClient]]]


@pytest.fixture
async def widget_app(tmp_path: Path, sqlite_url: str) -> AsyncIterator[WidgetApp]:
    """``await widget_app(widget="color: '#aa3300'", team_in=True)``: the real app on a loopback
    port, with these lines as ``webchat.widget`` in config.yaml (and ``extra``'s sections)."""
    clients: list[TestClient] = []

    async def factory(*, widget: str = "", team_in: bool = True, extra: str = "") -> tuple[App, TestClient]:
        rulebook = widget_rulebook(tmp_path / f"app{len(clients)}", team_in=team_in)
        section = "".join(f"    {line}\n" for line in widget.splitlines() if line.strip()) or "    {}\n"
        text = f"""
database:
  url: {sqlite_url}
webchat:
  secret_key: test-secret-key-0123456789abcdef
  widget:
{section}
rulebook:
  path: {rulebook}
nlu:
  analysis_workers: 0
{extra}"""
        app = build_app(settings_from_text(text, base_dir=tmp_path))
        client = TestClient(TestServer(app.web, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return app, client

    yield factory
    for client in clients:
        await client.close()
