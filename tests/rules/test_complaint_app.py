"""The complaint signal through the running app (web chat API over loopback).

The example rulebook's ``complaint`` rule fires on ``complaint: {min_confidence: 0.7}``: a
complaint with no complaint words gets the complaint reply and a ticket tagged ``complaint``; a
plain question does not. An example added to ``sentiment.yml`` while the app runs retrains the
classifier on reload, and the next message is judged by it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from tests.conftest import ROOT, AppFactory
from tests.webchat.helpers import ask, eventually, health, rows, save
from ticketing.models import Interaction, Ticket

COMPLAINT_REPLY = "I'm really sorry about this"  # responses.yml: complaint
ODD = "the parcel is on the moon"  # no rule, FAQ or classifier takes it for a complaint


async def test_complaint_condition_and_sentiment_examples_hot_reload(
    sqlite_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    directory = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", directory)
    app, client = await make_client(sqlite_url, rulebook=directory)

    assert COMPLAINT_REPLY in await ask(client, "on hold for 30 minutes and then they hung up on me")
    assert COMPLAINT_REPLY not in await ask(client, "how do I reset my password?")
    assert COMPLAINT_REPLY not in await ask(client, ODD)

    engine = app.engine
    tickets = await rows(engine, select(Ticket.tags, Ticket.priority))
    complaints = [(list(t.tags), t.priority) for t in tickets if "complaint" in t.tags]
    assert complaints == [(["complaint"], "high")]  # the odd message got the fallback's ticket
    summaries = await rows(engine, select(Interaction.analysis).where(Interaction.direction == "in"))
    flags = [s.analysis["complaint"]["is"] for s in summaries]
    assert flags == [True, False, False]

    before = (await health(client))["loaded_at"]
    path = directory / "sentiment.yml"
    text = path.read_text(encoding="utf-8")
    assert text.count("  complaint:\n") == 1
    save(path, text.replace("  complaint:\n", f"  complaint:\n    - {ODD}\n"))

    async def reloaded() -> bool:
        now = await health(client)
        return bool(now["errors"] == [] and now["loaded_at"] != before)

    await eventually(reloaded)
    assert COMPLAINT_REPLY in await ask(client, ODD)
