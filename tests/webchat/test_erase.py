"""``frontdesk tickets customer-erase``, run in its own process beside the server, ends the
customer's web chat sessions: the old token stores nothing, reads nothing, resumes nothing and
opens no socket, whether the server had the conversation cached or not (another process, a
restart). A new session works as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import AppFactory
from tests.webchat.helpers import (
    FAQ_HOURS,
    TIMEOUT,
    Visitor,
    assert_still_serves,
    count,
    erase_customer,
    rows,
    send,
    start_session,
)
from ticketing.models import ChannelIdentity, Conversation, Customer, InboundDedup, Interaction

GONE = "this session no longer exists; start a new one"


async def _customer_of(engine: AsyncEngine, visitor: Visitor) -> int:
    [(customer_id,)] = await rows(
        engine, select(Conversation.customer_id).where(Conversation.public_id == visitor.conversation_id)
    )
    return int(customer_id)


async def _stored(engine: AsyncEngine, customer_id: int) -> dict[str, int]:
    """What a message with the old token could add: rows under the erased customer, or anywhere."""
    return {
        "erased customer's interactions": await count(
            engine, Interaction, Interaction.customer_id == customer_id
        ),
        "interactions": await count(engine, Interaction),
        "customers": await count(engine, Customer),
        "identities": await count(engine, ChannelIdentity),
        "conversations": await count(engine, Conversation),
        "dedup keys": await count(engine, InboundDedup),
    }


async def _refused(client: TestClient, visitor: Visitor) -> None:
    """Every use of the old token is answered 401 unknown_session, saying what to do."""
    post = await client.post(
        "/api/v1/messages", json={"client_message_id": "after-erase", "text": FAQ_HOURS}, headers=visitor.auth
    )
    get = await client.get("/api/v1/messages", headers=visitor.auth)
    resume = await client.post("/api/v1/sessions", json={"token": visitor.token})
    for resp in (post, get, resume):
        assert resp.status == 401, (resp.method, resp.url, await resp.text())
        error: dict[str, Any] = (await resp.json())["error"]
        assert error["code"] == "unknown_session" and GONE in error["message"], error
    ws = await client.ws_connect("/api/v1/ws")
    await ws.send_json({"type": "auth", "token": visitor.token})
    msg = await ws.receive(timeout=TIMEOUT)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED), (msg.type, msg.data)
    await ws.close()
    assert ws.close_code == 4401


async def test_erase_in_another_process_ends_the_cached_session(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    app, client = await make_client(database_url)
    visitor = await start_session(client)
    await send(client, visitor, FAQ_HOURS)  # the server now has the conversation cached
    customer_id = await _customer_of(app.engine, visitor)
    output = await erase_customer(database_url, tmp_path, customer_id)
    assert "revoked: 1 channel identities and 1 conversations" in output, output
    before = await _stored(app.engine, customer_id)
    await _refused(client, visitor)
    await _refused(client, visitor)  # a retry of the refused message is refused too, not "duplicate"
    assert await _stored(app.engine, customer_id) == before
    await assert_still_serves(client)


async def test_erased_session_is_refused_by_a_process_without_the_cache(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    app, client = await make_client(database_url)
    visitor = await start_session(client)
    await send(client, visitor, FAQ_HOURS)
    customer_id = await _customer_of(app.engine, visitor)
    await erase_customer(database_url, tmp_path, customer_id)
    before = await _stored(app.engine, customer_id)
    _other, restarted = await make_client(database_url)  # another process, or this one restarted
    await _refused(restarted, visitor)
    assert await _stored(app.engine, customer_id) == before  # no identity, no conversation re-created
    await assert_still_serves(restarted)
