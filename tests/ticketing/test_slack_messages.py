"""``slack_messages``: where the Slack copies of a ticket's customer are, and the erase's pending
deletions (``ticketing/slack_messages.py``), on both engines. Through the Slack connector and the
fake Slack API: ``tests/slack/test_erase.py``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests.ticketing.helpers import world, write_rulebook
from ticketing.customer_admin import CustomerAdmin
from ticketing.slack_messages import SlackMessage, SlackMessages
from ticketing.time import utcnow


async def test_records_once_follow_merges_and_a_late_record_is_deleted_too(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        copies, admin = SlackMessages(engine=w.engine), CustomerAdmin(engine=w.engine)
        first, _ = await w.open_ticket("order late")
        second, _ = await w.open_ticket("wrong size")
        one, two = await w.desk.get(first), await w.desk.get(second)
        shown = utcnow()
        for _retry in range(2):  # a retried projection step records nothing twice
            await copies.posted(one["id"], "C0SUPPORT", "1.000001", kind="card", shows=shown)
            await copies.posted(one["id"], "C0SUPPORT", "1.000002", kind="message", shows=shown)
        await copies.posted(two["id"], "C0SUPPORT", "1.000003", kind="message", shows=shown)
        await copies.posted(two["id"], "C0SUPPORT", "F0FILE", kind="file", shows=shown)
        assert await w.count(SlackMessage) == 4
        # The first record is merged into the second: its ticket's copies go with it when erased.
        await admin.merge(one["customer_id"], two["customer_id"], actor="operator:ops")
        counts = await admin.erase(two["customer_id"], actor="operator:dpo")
        assert counts["slack_messages"] == 4
        assert await copies.pending() == 4
        # A line the projection read before the erase and posted after it: a pending deletion at once.
        await copies.posted(two["id"], "C0SUPPORT", "1.000004", kind="message", shows=shown)
        # One about the erase itself (or later), showing nothing personal: kept.
        await copies.posted(two["id"], "C0SUPPORT", "1.000005", kind="message", shows=utcnow())
        due = await copies.due(limit=10)
        assert sorted((d.ts, d.kind) for d in due) == [
            ("1.000001", "card"), ("1.000002", "message"), ("1.000003", "message"),
            ("1.000004", "message"), ("F0FILE", "file"),
        ]  # fmt: skip
        by_ts = {d.ts: d.id for d in due}
        await copies.deleted(by_ts["1.000001"])
        await copies.retry_later(by_ts["1.000002"], "service_unavailable")
        await copies.refused(by_ts["F0FILE"], "cant_delete_file")
        assert {d.ts for d in await copies.due(limit=10)} == {"1.000003", "1.000004"}
        states = dict(await w.rows(select(SlackMessage.ts, SlackMessage.state)))
        assert states == {"1.000002": "erase", "1.000003": "erase", "1.000004": "erase",
                          "1.000005": "kept", "F0FILE": "failed"}  # fmt: skip
        [(attempts, at, error)] = await w.rows(
            select(SlackMessage.attempts, SlackMessage.next_attempt_at, SlackMessage.last_error).where(
                SlackMessage.ts == "1.000002"
            )
        )
        assert attempts == 1 and error == "service_unavailable"
        assert at.replace(tzinfo=shown.tzinfo) > utcnow() + timedelta(milliseconds=500)  # backed off
