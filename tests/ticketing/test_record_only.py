"""A record-only turn (an email over its sender's rate limit) shares the app's one Turns writer,
which has the ticket config, yet only records the message: it answers no satisfaction question
and reopens no solved ticket, as when it had a writer of its own without a ticket config."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.ticketing.helpers import world, write_rulebook
from ticketing.customers import ConversationRef
from ticketing.turns import InboundRecord, Plan, Turn, Turns


def _turn(ref: ConversationRef, key: str, text: str, *, record_only: bool) -> Turn:
    def plan(_state: Any, _take: Any) -> Plan:
        return Plan(analysis={"not_answered": "test"})

    record = InboundRecord(ref, "webchat", key, text, datetime.now(UTC))
    return Turn(record=record, plan=plan, record_only=record_only)


async def test_a_record_only_turn_leaves_a_solved_ticket_and_its_question(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, ref = await w.open_ticket()
        await w.solve(number)
        turns = Turns(engine=w.engine, ticket_config=lambda: w.config)
        try:
            result = await turns.record(_turn(ref, "rate-limited", "5", record_only=True))
            assert not result.duplicate
            ticket = await w.desk.get(number)
            assert ticket["status"] == "solved" and ticket["csat_score"] is None
            # The same writer answers the question with a turn that is not record-only.
            await turns.record(_turn(ref, "answer", "5", record_only=False))
            assert (await w.desk.get(number))["csat_score"] == 5
        finally:
            await turns.close()
