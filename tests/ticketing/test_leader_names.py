"""Each PostgreSQL advisory lock's log lines name what its holder runs.

The ticket rules feed's lock once announced "this process now runs the SLA scheduler", so an
operator reading the logs of several processes could not tell which one ran which loop.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from tests.conftest import AppFactory
from ticketing import event_feed

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_each_lock_names_what_it_leads(
    database_url: str, make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ticketing.leader")
    await make_client(database_url)
    rules = f"this process now runs the ticket rules feed (advisory lock {event_feed.LOCK})"
    deadline = time.monotonic() + 15
    while True:
        claims = [
            r.getMessage()
            for r in caplog.records
            if r.name == "ticketing.leader" and r.getMessage().startswith("this process now runs")
        ]
        if len(claims) >= 2 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert rules in claims, claims
    assert sum(c.startswith("this process now runs the SLA scheduler (") for c in claims) == 1, claims
    assert len(claims) == len({c.split(" (")[0] for c in claims}), claims  # no name used twice
