"""Ticket statuses with Zendesk's semantics, field changes and their audit trail, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.delivery import outbound_from_payload
from tests.ticketing.helpers import world, write_rulebook
from ticketing.errors import InvalidTransition, InvalidValue, TicketNotFound, UnknownAgent, UnknownQueue
from ticketing.models import Conversation, Interaction, OutboxItem, Ticket, TicketEvent


async def test_status_walk_writes_an_event_per_change(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        await w.desk.set_status(number, "open", actor="agent:alice")
        await w.desk.set_status(number, "pending", actor="agent:alice")
        await w.desk.set_status(number, "on-hold", actor="agent:alice")
        ticket = await w.desk.solve(f"T-{number}", actor="agent:alice")
        assert ticket["status"] == "solved" and ticket["solved_at"] is not None
        events = [(e["actor"], e["kind"], e["data"]) for e in await w.desk.events(number)]
        moves = [(a, d["from"], d["to"]) for a, k, d in events if k == "status"]
        assert moves == [
            ("agent:alice", "new", "open"),
            ("agent:alice", "open", "pending"),
            ("agent:alice", "pending", "on-hold"),
            ("agent:alice", "on-hold", "solved"),
        ]
        assert events[0][1] == "created"


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (["solved"], "new"),
        (["open"], "new"),
        (["solved", "closed"], "open"),
        (["solved", "closed"], "solved"),
    ],
)
async def test_invalid_transitions_write_nothing(
    database_url: str, tmp_path: Path, path: list[str], bad: str
) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        for status in path:
            await w.desk.set_status(number, status, actor="agent:bob")
        before = await w.count(TicketEvent)
        with pytest.raises(InvalidTransition, match=f"cannot go from {path[-1]} to {bad}"):
            await w.desk.set_status(number, bad, actor="agent:bob")
        assert await w.count(TicketEvent) == before
        assert (await w.desk.get(number))["status"] == path[-1]


async def test_unknown_things_are_clear_errors_and_write_nothing(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        before = await w.count(TicketEvent)
        with pytest.raises(UnknownQueue, match="unknown queue 'nope'; configured queues: support"):
            await w.desk.set_queue(number, "nope", actor="agent:bob")
        with pytest.raises(UnknownAgent, match="unknown agent 'ghost'"):
            await w.desk.assign(number, "ghost", actor="agent:bob")
        with pytest.raises(InvalidValue, match="unknown priority 'asap'"):
            await w.desk.set_priority(number, "asap", actor="agent:bob")
        with pytest.raises(TicketNotFound, match="no ticket T-999999"):
            await w.desk.solve("T-999999", actor="agent:bob")
        assert await w.count(TicketEvent) == before


async def test_priority_queue_tags_assignee_are_audited(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        await w.roster.add_queue("tier2")
        await w.roster.add_agent("carol", queues=["tier2"])
        number, _ = await w.open_ticket()
        await w.desk.set_priority(number, "high", actor="agent:bob")
        await w.desk.tag(number, add=["refund", "vip"], actor="agent:bob")
        await w.desk.tag(number, remove=["vip"], actor="agent:bob")
        await w.desk.set_queue(number, "tier2", actor="agent:bob")
        ticket = await w.desk.assign(number, "carol", actor="agent:bob")
        fields = ("priority", "queue", "tags", "assignee", "status")
        assert [ticket[f] for f in fields] == ["high", "tier2", ["refund"], "carol", "open"]
        kinds = [(e["kind"], e["actor"]) for e in await w.desk.events(number)]
        assert ("priority", "agent:bob") in kinds and ("queue", "agent:bob") in kinds
        assert [k for k, _ in kinds].count("tags") == 2 and ("assignee", "agent:bob") in kinds


async def test_agent_reply_is_an_interaction_and_an_outbox_row(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, ref = await w.open_ticket()
        ticket = await w.desk.reply(number, "We are sending a new one.", agent="alice", status="pending")
        assert ticket["status"] == "pending" and ticket["first_reply_at"] is not None
        (interaction,) = await w.rows(
            select(Interaction).where(Interaction.ticket_id == ticket["id"], Interaction.direction == "out")
        )
        assert (interaction.sender_role, interaction.sender_name, interaction.customer_id) == (
            "agent", "alice", ticket["customer_id"],
        )  # fmt: skip
        (payload,) = [r[0] for r in await w.rows(select(OutboxItem.payload))]
        message = outbound_from_payload(payload)
        assert (message.channel, message.external_user_id, message.external_thread_id) == (
            "webchat", ref.external_user_id, ref.external_thread_id,
        )  # fmt: skip
        assert message.text == "We are sending a new one." and message.interaction_id == interaction.id
        assert message.metadata["conversation_public_id"] == ref.public_id
        await w.roster.add_agent("bea", queues=["support"], display_name="Bea Berg")
        await w.desk.reply(number, "Tracking number follows.", agent="bea")
        names = [r[0] for r in await w.rows(select(Interaction.sender_name).where(
            Interaction.ticket_id == ticket["id"], Interaction.direction == "out"))]  # fmt: skip
        assert names == ["alice", "Bea Berg"]  # the display name when the agent has one


async def test_closed_ticket_is_final_and_the_next_ticket_is_its_follow_up(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        first, ref = await w.open_ticket()
        await w.desk.solve(first, actor="agent:alice")
        closed = await w.desk.set_status(first, "closed", actor="agent:alice")
        with pytest.raises(InvalidTransition, match="closed ticket is final"):
            await w.desk.set_status(first, "open", actor="agent:alice")
        (conversation,) = await w.rows(select(Conversation).where(Conversation.id == ref.id))
        assert conversation.open_ticket_id is None and conversation.previous_ticket_id == closed["id"]
        assert not conversation.handed_off  # the bot answers again on this conversation
        second, _ = await w.open_ticket("it broke again", conversation=ref)
        assert second != first
        follow_up = await w.desk.solve(second, actor="agent:alice")  # any operation takes it in
        assert follow_up["previous_ticket_id"] == closed["id"]
        assert any(e["kind"] == "follow_up" and e["data"] == {"of": f"T-{first}"}
                   for e in await w.desk.events(second))  # fmt: skip
        assert await w.count(Ticket) == 2
