"""A real ``frontdesk serve`` SIGKILLed twice while web chat visitors talk and its webhooks go
out, on SQLite and PostgreSQL: every event reaches the receiver at least once, and after the
receiver's dedupe by ``webhook-id`` (docs/webhooks.md) exactly once, in order per ticket.

The kills fall at seeded moments while messages are being committed and deliveries queued,
sent and recorded, so they land between a commit and its delivery, between a POST and its
record, and inside the producer's transaction. The dead process's delivery leases are expired
by hand (as the lease's time would), then a new server starts on the same database.
``FRONTDESK_KILL_SEED`` replays a failure's printed seed.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.reliability.test_kill_load import ROOT, Load, Server, _until_acked
from tests.webhooks.receiver import SECRET, Receiver
from ticketing.models import Interaction, Ticket, WebhookDelivery
from ticketing.time import utcnow

pytestmark = pytest.mark.reliability

VISITORS = 6
PER_VISITOR = 6
TIMEOUT = 120.0


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


async def _visitor(http: aiohttp.ClientSession, server: Server, load: Load, number: int) -> None:
    session = await _until_acked(http, server, load, "/api/v1/sessions", {})
    auth = f"Bearer {session['token']}"
    for index in range(PER_VISITOR):
        text = "can I bring my dog to the shop" if index == 0 else f"and my cat, number {index}?"
        body = {"client_message_id": f"v{number}-m{index}", "text": text}
        await _until_acked(http, server, load, "/api/v1/messages", body, Authorization=auth)
        load.acked[body["client_message_id"]] = 1
        load.acked_more.set()
        await asyncio.sleep(0.05)


async def _killer(server: Server, engine: AsyncEngine, receiver: Receiver, rng: random.Random) -> None:
    for kill in (1, 2):
        # Deliveries under way and more being committed (the receiver has no event to wait on).
        while len(receiver.requests) < kill * 12:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await asyncio.sleep(rng.uniform(0.0, 0.2))
        await server.kill()
        async with engine.begin() as conn:  # the dead process's claims, as if their lease ran out
            await conn.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.state == "sending")
                .values(claimed_until=utcnow())
            )
        await server.start()


async def _settled(engine: AsyncEngine, load: Load) -> tuple[int, int]:
    """Wait until every message is acknowledged and every delivery recorded as sent."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        async with engine.connect() as conn:
            waiting = (
                await conn.execute(
                    select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.state != "sent")
                )
            ).scalar_one()
            interactions = (await conn.execute(select(func.count()).select_from(Interaction))).scalar_one()
            tickets = (await conn.execute(select(func.count()).select_from(Ticket))).scalar_one()
            queued = (await conn.execute(select(func.count()).select_from(WebhookDelivery))).scalar_one()
        if waiting == 0 and len(load.acked) == VISITORS * PER_VISITOR and queued == interactions + tickets:
            return int(interactions), int(tickets)
        assert time.monotonic() < deadline, f"not settled: {waiting} unsent, {queued} queued"
        await asyncio.sleep(0.2)


async def test_sigkill_between_commit_and_delivery_loses_nothing(
    tmp_path: Path, database_url: str, engine: AsyncEngine
) -> None:
    seed = int(os.environ.get("FRONTDESK_KILL_SEED", random.randrange(1 << 30)))
    print(f"FRONTDESK_KILL_SEED={seed}")
    rng = random.Random(seed)
    receiver = Receiver(answer=lambda _n: -0.02)  # 20 ms per request: kills land mid-flight
    url = await receiver.start()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: {database_url}\nwebchat:\n  secret_key: test-secret-key-0123456789abcdef\n"
        f"rulebook:\n  path: {ROOT / 'rulebook'}\nnlu:\n  analysis_workers: 0\n"
        "webhooks:\n  poll_interval: 0.05\n  timeout_seconds: 2\n  backoff_seconds: 0.1\n"
        f"  subscriptions:\n    - name: crm\n      url: {url}\n      secret: {SECRET}\n"
        "      events: [ticket.created, message.created]\n"
    )
    server = Server(config=config, log=tmp_path / "server.log")
    load = Load()
    try:
        await server.start()
        async with aiohttp.ClientSession() as http:
            visitors = [_visitor(http, server, load, n) for n in range(VISITORS)]
            await asyncio.gather(_killer(server, engine, receiver, rng), *visitors)
        interactions, tickets = await _settled(engine, load)
    finally:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        await receiver.close()

    assert all(d.valid for d in receiver.requests)
    print(f"{len(receiver.requests)} requests, {len(receiver.unique())} deliveries")
    per_event: dict[tuple[str, int], set[str]] = defaultdict(set)
    bodies: dict[str, dict[str, object]] = {}
    for d in receiver.requests:
        assert bodies.setdefault(d.msg_id, d.body) == d.body  # a repeat is the same delivery
        data = d.body["data"]
        key = data["message"]["id"] if d.body["type"] == "message.created" else data["ticket"]["id"]
        per_event[(d.body["type"], key)].add(d.msg_id)
    # Deduped by webhook-id: exactly one delivery per message and per ticket, none missing.
    assert all(len(ids) == 1 for ids in per_event.values()), per_event
    assert sum(1 for kind, _ in per_event if kind == "message.created") == interactions
    assert sum(1 for kind, _ in per_event if kind == "ticket.created") == tickets
    # In order per ticket: each ticket's messages first arrive in the order they were written.
    order: dict[int, list[int]] = defaultdict(list)
    for body in bodies.values():  # dicts keep first-arrival order
        data = body["data"]
        assert isinstance(data, dict)
        if body["type"] == "message.created" and data["message"]["ticket_id"] is not None:
            order[data["message"]["ticket_id"]].append(data["message"]["id"])
    assert all(seq == sorted(seq) for seq in order.values()), order
    log = await asyncio.to_thread((tmp_path / "server.log").read_text)
    assert "and my cat" not in log  # message bodies stay out of the log
