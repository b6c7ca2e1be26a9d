"""The turn write path's shortcuts, on SQLite and PostgreSQL: ``CompiledStatement`` stores what
``conn.execute`` stores, reserved ids are the ids the database would have given, and statements
sent on the driver connection roll back with the batch's transaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.customers import ConversationRef, Customers
from ticketing.database import create_engine
from ticketing.driver import CompiledStatement
from ticketing.models import InboundDedup, Interaction, OutboxItem
from ticketing.row_ids import reserve_ids
from ticketing.scheduler import SlaScheduler, SweepReport
from ticketing.sla_config import SlaConfig
from ticketing.turns import ConversationState, InboundRecord, Plan, ReplyRecord, TicketDraft, Turn, Turns

COLUMNS = (
    "id", "conversation_id", "customer_id", "ticket_id", "channel", "direction", "sender_role",
    "sender_name", "text", "subject", "attachments", "quick_replies", "external_message_id",
    "in_reply_to_id", "analysis", "rule", "processed_at", "created_at",
)  # fmt: skip


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def stored(engine: AsyncEngine, ids: list[int]) -> list[list[Any]]:
    """The interactions' columns as the database holds them (text on PostgreSQL)."""
    cast = "::text" if engine.dialect.name == "postgresql" else ""
    columns = ", ".join(f"{c}{cast}" for c in COLUMNS[1:])
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(
            f"SELECT {columns} FROM interactions WHERE id IN ({', '.join(map(str, ids))}) ORDER BY id"
        )
        return [list(row) for row in result.all()]


def row(ref: ConversationRef, customer_id: int, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "conversation_id": ref.id, "customer_id": customer_id, "ticket_id": None, "channel": "webchat",
        "direction": "in", "sender_role": "customer", "sender_name": None, "text": "hi", "subject": None,
        "attachments": [], "quick_replies": [{"label": "ok", "payload": "ok"}],
        "external_message_id": None, "in_reply_to_id": None, "analysis": None, "rule": None,
        "processed_at": None, "created_at": datetime(2026, 3, 2, 11, 0, tzinfo=timezone(timedelta(hours=2))),
    }  # fmt: skip
    return {**values, **changes}


async def test_prepared_stores_what_execute_stores(engine: AsyncEngine) -> None:
    customers = Customers(engine=engine)
    ref = await customers.start_session("webchat")
    customer_id = (await customers.customer_of(ref.id)).id
    shared = [{"filename": "a.png"}]  # the same object in two rows is encoded for each
    variants = [
        row(ref, customer_id),
        row(ref, customer_id, analysis={"intent": "hours", "sentiment": {"label": "neutral"}}, text="é ✓"),
        row(ref, customer_id, attachments=shared, processed_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        row(ref, customer_id, attachments=shared, sender_name="Ann", direction="out", rule="faq"),
    ]
    prepared = CompiledStatement(insert(Interaction), COLUMNS)
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(Interaction).returning(Interaction.id, sort_by_parameter_order=True), variants
        )
        by_execute = [int(i) for i in result.scalars().all()]
        (ids,) = await reserve_ids(conn, [(Interaction, len(variants))])
        await prepared.executemany(
            conn, [(i, *(v[c] for c in COLUMNS[1:])) for i, v in zip(ids, variants, strict=True)]
        )
    assert ids[0] == by_execute[-1] + 1
    assert await stored(engine, ids) == await stored(engine, by_execute)


async def test_reserved_ids_are_the_next_ids(engine: AsyncEngine) -> None:
    customers = Customers(engine=engine)
    ref = await customers.start_session("webchat")
    customer_id = (await customers.customer_of(ref.id)).id
    prepared = CompiledStatement(insert(Interaction), COLUMNS)
    async with engine.begin() as conn:
        await conn.execute(
            insert(InboundDedup), {"channel": "t", "key": "k", "created_at": datetime.now(UTC)}
        )
        (ids,) = await reserve_ids(conn, [(Interaction, 3)])
        values = row(ref, customer_id)
        await prepared.executemany(conn, [(i, *(values[c] for c in COLUMNS[1:])) for i in ids])
        after = (await conn.execute(insert(Interaction).returning(Interaction.id), values)).scalar_one()
    assert ids == sorted(ids) and len(set(ids)) == 3
    assert after == ids[-1] + 1


def planner(delivery: dict[str, Any]) -> Any:
    def plan(state: ConversationState, take_number: Any) -> Plan:
        return Plan(analysis={"intent": "x"}, replies=(ReplyRecord(text="ok", delivery=delivery, rule="r"),))

    return plan


async def test_failed_batch_leaves_no_rows_written_through_the_driver(engine: AsyncEngine) -> None:
    """A reply whose payload cannot be stored fails after the batch's messages were inserted on
    the driver connection: the whole batch rolls back, and retried one by one only that turn fails."""
    customers = Customers(engine=engine)
    refs = [await customers.start_session("webchat") for _ in range(3)]
    turns = Turns(engine=engine)
    now = datetime.now(UTC)
    records = [
        Turn(
            InboundRecord(ref, "webchat", f"key-{i}", "hello", now),
            planner({"bad": {1, 2}} if i == 1 else {}),
        )
        for i, ref in enumerate(refs)
    ]
    results = await asyncio.gather(*(turns.record(t) for t in records), return_exceptions=True)
    await turns.close()
    assert isinstance(results[1], TypeError)
    assert not any(isinstance(r, BaseException) for r in (results[0], results[2]))
    async with engine.connect() as conn:
        keys = (await conn.execute(select(InboundDedup.key, InboundDedup.interaction_id))).all()
        per_conversation = dict(
            (
                await conn.execute(
                    select(Interaction.conversation_id, func.count()).group_by(Interaction.conversation_id)
                )
            ).all()
        )
        outbox = (await conn.execute(select(func.count()).select_from(OutboxItem))).scalar_one()
    assert sorted(k for k, _i in keys) == ["key-0", "key-2"] and all(i is not None for _k, i in keys)
    assert per_conversation == {refs[0].id: 2, refs[2].id: 2}
    assert outbox == 2


async def test_idle_sweep_finds_nothing_and_then_takes_in_a_new_ticket(engine: AsyncEngine) -> None:
    config = SlaConfig()
    scheduler = SlaScheduler(engine=engine, config=lambda: config)
    try:
        assert await scheduler.sweep() == SweepReport(True)
        ref = await Customers(engine=engine).start_session("webchat")
        turns = Turns(engine=engine)

        def opening(state: ConversationState, take_number: Any) -> Plan:
            return Plan(open_ticket=TicketDraft(number=take_number(), subject="help", actor="rule:test"))

        await turns.record(Turn(InboundRecord(ref, "webchat", "k1", "help", datetime.now(UTC)), opening))
        await turns.close()
        assert await scheduler.sweep() == SweepReport(True, taken_in=1)
        assert await scheduler.sweep() == SweepReport(True)
    finally:
        await scheduler.stop()  # returns the PostgreSQL leader's lock connection
