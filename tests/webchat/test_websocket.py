"""The live WebSocket: authentication first, then pushes of messages and outbox-delivered replies."""

from __future__ import annotations

import json

from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from tests.webchat.helpers import (
    FAQ_HOURS,
    TIMEOUT,
    Visitor,
    eventually,
    next_frame,
    rows,
    send,
    start_session,
)
from ticketing.models import OutboxItem


async def _closed_with(client: TestClient, first_frame: str | bytes) -> int | None:
    ws = await client.ws_connect("/api/v1/ws")
    if isinstance(first_frame, bytes):
        await ws.send_bytes(first_frame)
    else:
        await ws.send_str(first_frame)
    msg = await ws.receive(timeout=TIMEOUT)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED), (msg.type, msg.data)
    await ws.close()
    return ws.close_code


async def _ready(client: TestClient, visitor: Visitor):  # type: ignore[no-untyped-def]
    ws = await client.ws_connect("/api/v1/ws")
    await ws.send_json({"type": "auth", "token": visitor.token})
    assert await next_frame(ws) == {"type": "ready"}
    return ws


async def test_first_frame_must_be_auth(client: TestClient) -> None:
    assert await _closed_with(client, '{"type": "ping"}') == 4400
    assert await _closed_with(client, "not json") == 4400
    assert await _closed_with(client, b"\x00\x01binary") == 4400
    assert await _closed_with(client, '{"type": "auth"}') == 4400  # no token
    assert await _closed_with(client, '{"type": "auth", "token": 5}') == 4400


async def test_bad_token_closes_4401(client: TestClient) -> None:
    visitor = await start_session(client)
    assert await _closed_with(client, '{"type": "auth", "token": "v1.abc.def"}') == 4401
    assert await _closed_with(client, '{"type": "auth", "token": "garbage"}') == 4401
    tampered = visitor.token[:-2] + ("xx" if not visitor.token.endswith("xx") else "yy")
    assert await _closed_with(client, json.dumps({"type": "auth", "token": tampered})) == 4401
    # a lone surrogate smuggled in as a JSON escape is just a bad token, not a server fault
    assert await _closed_with(client, '{"type": "auth", "token": "v1.a.\\ud800"}') == 4401
    # and the server still serves
    ws = await _ready(client, visitor)
    await ws.close()


async def test_ping_pong_and_unknown_frames(client: TestClient) -> None:
    visitor = await start_session(client)
    ws = await _ready(client, visitor)
    await ws.send_json({"type": "ping"})
    assert await next_frame(ws) == {"type": "pong"}
    await ws.send_json({"type": "shout"})
    error = await next_frame(ws)
    assert error["type"] == "error" and error["message"]
    await ws.send_json({"type": "ping"})  # still alive after an unknown frame
    assert await next_frame(ws) == {"type": "pong"}
    await ws.close()


async def test_posting_pushes_own_message_and_bot_reply(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    visitor = await start_session(client)
    other_tab = await _ready(client, visitor)
    stranger = await _ready(client, await start_session(client))

    body = await send(client, visitor, FAQ_HOURS)
    reply_id = body["replies"][0]["id"]

    # Both arrive; the order is not promised (the API doc: clients order by id).
    frames = [await next_frame(other_tab, lambda f: f["type"] == "message") for _ in range(2)]
    by_direction = {f["message"]["direction"]: f["message"] for f in frames}
    assert by_direction["in"] == body["message"]
    reply = by_direction["out"]
    assert reply["id"] == reply_id
    assert "Monday to Friday" in reply["text"]
    assert reply["text"] == body["replies"][0]["text"]

    # the reply went through the outbox and is marked sent, exactly once
    async def sent() -> bool:
        found = await rows(app.engine, select(OutboxItem.state).where(OutboxItem.interaction_id == reply_id))
        return found == [("sent",)]

    await eventually(sent)

    # the other visitor's socket heard nothing of it
    await stranger.send_json({"type": "ping"})
    assert await next_frame(stranger) == {"type": "pong"}
    await other_tab.close()
    await stranger.close()


async def test_typing_indicator_brackets_the_reply(client: TestClient) -> None:
    visitor = await start_session(client)
    ws = await _ready(client, visitor)
    await send(client, visitor, FAQ_HOURS)
    frames = [await next_frame(ws) for _ in range(3)]
    assert frames[0] == {"type": "typing", "active": True}
    assert {"type": "typing", "active": False} in frames[1:]
    await ws.close()
