"""CSAT: solving asks the customer on their own channel; the answer lands on the ticket."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.delivery import outbound_from_payload
from tests.ticketing.helpers import world, write_rulebook
from ticketing import csat
from ticketing.models import Conversation, Interaction, OutboxItem
from ticketing.time import utcnow


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5", (5, None)), ("4 stars - quick and kind", (4, "quick and kind")), ("2: slow", (2, "slow")),
     ("1/5", (1, None)), ("6", None), ("where is my order 12345?", None), ("10 out of 10", None),
     ("⭐⭐⭐⭐", (4, None)), ("★★★★★ great", (5, "great")), ("4 ⭐", (4, None)), ("⭐️⭐️⭐️", (3, None)),
     ("⭐⭐⭐⭐⭐⭐", None), ("five stars", (5, None)), ("Two stars: slow", (2, "slow")), ("five", None)],
)  # fmt: skip
def test_parse_rating(text: str, expected: tuple[int, str | None] | None) -> None:
    assert csat.parse_rating(text) == expected


async def test_solve_asks_and_the_answer_is_stored(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, ref = await w.open_ticket()
        ticket = await w.solve(number)
        ((payload,),) = await w.rows(select(OutboxItem.payload))
        question = outbound_from_payload(payload)
        assert question.external_thread_id == ref.external_thread_id and f"T-{number}" in question.text
        assert [q.payload for q in question.quick_replies] == ["1", "2", "3", "4", "5"]
        ((pending,),) = await w.rows(select(Conversation.csat_ticket_id).where(Conversation.id == ref.id))
        assert pending == ticket["id"]
        async with w.engine.begin() as conn:
            answer = await csat.record_answer(conn, w.config, ref.id, "4 - thanks, all good", utcnow())
        assert answer is not None and (answer.score, answer.comment) == (4, "thanks, all good")
        stored = await w.desk.get(number)
        assert (stored["csat_score"], stored["csat_comment"]) == (4, "thanks, all good")
        assert [e["data"] for e in await w.desk.events(number) if e["kind"] == "csat"] == [
            {"score": 4, "comment": "thanks, all good"}
        ]
        async with w.engine.begin() as conn:  # answered: the next message is an ordinary one
            assert await csat.record_answer(conn, w.config, ref.id, "5", utcnow()) is None
        assert await w.count(Interaction, Interaction.sender_role == "system") == 1


async def test_a_message_that_is_not_a_rating_drops_the_question(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, ref = await w.open_ticket()
        await w.solve(number)
        async with w.engine.begin() as conn:
            assert (
                await csat.record_answer(conn, w.config, ref.id, "actually it broke again", utcnow()) is None
            )
            assert await csat.pending_ticket(conn, ref.id) is None
        assert (await w.desk.get(number))["csat_score"] is None


async def test_a_pending_question_is_not_asked_twice(database_url: str, tmp_path: Path) -> None:
    """Solved, reopened and solved again within one round of the ticket rules: one question."""
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ref = await w.open_ticket()
        ticket = await w.solve(number)
        async with w.engine.begin() as conn:
            assert not await csat.ask(conn, w.config, ticket, utcnow())
        assert await w.count(Interaction, Interaction.sender_role == "system") == 1
