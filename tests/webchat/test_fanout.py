"""Live events reach a visitor's socket whichever process handled the message (PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from aiohttp import WSMsgType

from tests.conftest import AppFactory
from ticketing.database import create_engine
from ticketing.live_fanout import PostgresFanout


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_message_posted_on_one_process_reaches_socket_on_another(
    database_url: str, make_client: AppFactory
) -> None:
    _app_a, client_a = await make_client(database_url)
    _app_b, client_b = await make_client(database_url)
    session = await (await client_a.post("/api/v1/sessions", json={})).json()
    auth = {"Authorization": f"Bearer {session['token']}"}

    ws = await client_a.ws_connect("/api/v1/ws")
    await ws.send_json({"type": "auth", "token": session["token"]})
    assert (await ws.receive_json(timeout=10))["type"] == "ready"

    resp = await client_b.post(
        "/api/v1/messages", json={"client_message_id": "x1", "text": "How much is shipping?"}, headers=auth
    )
    assert resp.status == 200
    reply_id = (await resp.json())["replies"][0]["id"]

    seen: dict[int, str] = {}
    # Both events, in either order: the reply's delivery and the message's own push race from
    # two processes, and the widget places each by its id.
    async with asyncio.timeout(15):
        while reply_id not in seen or "in" not in seen.values():
            frame = await ws.receive()
            assert frame.type == WSMsgType.TEXT
            event = json.loads(frame.data)
            if event["type"] == "message":
                seen[event["message"]["id"]] = event["message"]["direction"]
    assert "in" in seen.values()  # the customer's own message, pushed by process B
    assert seen[reply_id] == "out"  # the bot's reply, delivered by whichever process claimed it
    await ws.close()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_events_published_together_all_arrive_in_order(database_url: str) -> None:
    """Events published while a NOTIFY is on its way go out together in the next one: every
    event arrives at another process's subscribers, in the order it was published."""
    engine = create_engine(database_url)
    sender, listener = PostgresFanout(engine=engine), PostgresFanout(engine=engine)
    heard: list[tuple[str, dict[str, Any]]] = []
    all_heard = asyncio.Event()

    async def hear(topic: str, event: dict[str, Any]) -> None:
        heard.append((topic, event))
        if len(heard) == 60:
            all_heard.set()

    listener.subscribe(hear)
    await listener.start()
    try:
        sent = [(f"c{n % 3}", {"type": "typing", "n": n}) for n in range(60)]
        await asyncio.gather(*(sender.publish(topic, event) for topic, event in sent))
        await asyncio.wait_for(all_heard.wait(), 15)
        assert heard == sent
    finally:
        await sender.stop()
        await listener.stop()
        await engine.dispose()
