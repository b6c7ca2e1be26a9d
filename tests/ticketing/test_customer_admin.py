"""Customer records: merge (nothing lost), export (everything), erase (personal data gone,
statistics kept); each one transaction, on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.ticketing.helpers import world, write_rulebook
from ticketing.customer_admin import CustomerAdmin
from ticketing.errors import CustomerNotFound, InvalidValue
from ticketing.models import ChannelIdentity, Customer, Interaction, OutboxItem, Ticket, TicketEvent


async def test_merge_moves_history_and_tickets(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        admin = CustomerAdmin(engine=w.engine)
        first, a = await w.open_ticket("order late")
        second, b = await w.open_ticket("wrong size")
        source = (await w.desk.get(first))["customer_id"]
        target = (await w.desk.get(second))["customer_id"]
        async with w.engine.begin() as conn:
            values = {"email": "ann@example.com", "tags": ["vip"], "attributes": {"plan": "gold"}}
            await conn.execute(update(Customer).where(Customer.id == source).values(**values))
            await conn.execute(
                update(Customer).where(Customer.id == target).values(attributes={"plan": "basic"})
            )
        before = await w.count(Interaction)
        await admin.merge(source, target, actor="operator:ops")
        assert await w.count(Ticket, Ticket.customer_id == target) == 2
        assert await w.count(Interaction, Interaction.customer_id == target) == before
        assert await w.count(ChannelIdentity, ChannelIdentity.customer_id == target) == 2
        ((merged,),) = await w.rows(select(Customer.merged_into_id).where(Customer.id == source))
        assert merged == target
        ((email, tags, attributes),) = await w.rows(
            select(Customer.email, Customer.tags, Customer.attributes).where(Customer.id == target)
        )
        assert (email, tags, attributes) == ("ann@example.com", ["vip"], {"plan": "basic"})
        moved = [e for e in await w.desk.events(first) if e["kind"] == "customer_merged"]
        assert moved[0]["data"] == {"from_customer": source, "to_customer": target}
        with pytest.raises(CustomerNotFound, match=f"was merged into {target}"):
            await admin.merge(source, target, actor="operator:ops")
        with pytest.raises(InvalidValue, match="into itself"):
            await admin.merge(target, target, actor="operator:ops")
        assert a.id != b.id


async def test_export_has_everything_as_json(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket("my jacket is torn")
        await w.desk.reply(number, "Sorry! A new one is on its way.", agent="alice")
        customer_id = (await w.desk.get(number))["customer_id"]
        data = await CustomerAdmin(engine=w.engine).export(customer_id)
        text = json.dumps(data)
        assert "my jacket is torn" in text and "A new one is on its way" in text
        assert [t["reference"] for t in data["tickets"]] == [f"T-{number}"]
        assert {e["kind"] for e in data["tickets"][0]["events"]} >= {"created", "reply", "status"}
        assert len(data["identities"]) == 1 and len(data["interactions"]) == 2
        with pytest.raises(CustomerNotFound):
            await CustomerAdmin(engine=w.engine).export(987654)


async def test_erase_removes_personal_data_and_keeps_statistics(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, ref = await w.open_ticket(
            "I am Ann Smith, ann@example.com, order 4711", tags=("refund",), complaint=True
        )
        await w.desk.reply(number, "Hello Ann, refund on its way", agent="alice")
        await w.desk.note(number, "Ann called, very upset", actor="agent:alice")
        await w.solve(number)
        ticket = await w.desk.get(number)
        async with w.engine.begin() as conn:
            await conn.execute(update(Customer).where(Customer.id == ticket["customer_id"])
                               .values(display_name="Ann Smith", email="ann@example.com"))  # fmt: skip
            await conn.execute(update(Ticket).where(Ticket.id == ticket["id"]).values(csat_score=5,
                               csat_comment="Ann says thanks"))  # fmt: skip
        events_before = await w.count(TicketEvent, TicketEvent.ticket_id == ticket["id"])
        counts = await CustomerAdmin(engine=w.engine).erase(ticket["customer_id"], actor="operator:dpo")
        assert counts == {
            "customers": 1,
            "identities": 1,
            "conversations": 1,
            "interactions": 3,
            "tickets": 1,
            "files": 0,  # no files given (tests/telegram/test_erase_files.py erases some)
            "slack_messages": 0,  # no Slack here (tests/slack/test_erase.py)
        }
        exported = json.dumps(await CustomerAdmin(engine=w.engine).export(ticket["customer_id"]))
        for personal in ("Ann", "ann@example.com", "4711", ref.external_user_id, ref.external_thread_id):
            assert personal not in exported, personal
        payloads = [r[0] for r in await w.rows(select(OutboxItem.payload))]
        assert payloads and all(p == {} for p in payloads)
        analyses = [
            r[0] for r in await w.rows(select(Interaction.analysis).where(Interaction.analysis.is_not(None)))
        ]
        assert {"is": True} in [a.get("complaint") for a in analyses if a], analyses  # what reports count
        after = await w.desk.get(number)
        kept = ("status", "priority", "tags", "csat_score", "sla_policy")
        assert [after[k] for k in kept] == ["solved", "normal", ["refund"], 5, "standard"]
        assert await w.count(TicketEvent, TicketEvent.ticket_id == ticket["id"]) == events_before + 1
