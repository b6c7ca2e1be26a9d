"""A web chat token's issue time is checked against the clock on both sides.

A token whose ``iat`` lies far in the future (a server with a clock far ahead, or a secret that
leaked and was used to mint one) would never reach its expiry: it is refused with a 401 that says
why. A small skew between the clocks of processes behind one load balancer is allowed.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from connectors.webchat.tokens import MAX_CLOCK_SKEW_SECONDS, InvalidToken, SessionTokens
from tests.conftest import AppFactory
from tests.webchat.helpers import FAQ_HOURS, SECRET, TTL_SECONDS, Visitor, assert_still_serves, start_session

YEAR = 365 * 86400


@pytest.fixture
async def client(sqlite_url: str, make_client: AppFactory) -> TestClient:
    return (await make_client(sqlite_url))[1]


def issued_ahead(visitor: Visitor, seconds: float) -> str:
    """A genuine token (the server's secret) for the visitor's own conversation, issued ``seconds`` ahead."""
    body = visitor.token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    tokens = SessionTokens(secret=SECRET, ttl_seconds=TTL_SECONDS)
    return tokens.issue(claims["u"], visitor.conversation_id, now=time.time() + seconds)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "ahead", [MAX_CLOCK_SKEW_SECONDS + 60, 3600, 10 * YEAR], ids=["6 min", "1 h", "10 y"]
)
async def test_token_from_the_future_is_refused(client: TestClient, ahead: int) -> None:
    visitor = await start_session(client)
    token = issued_ahead(visitor, ahead)

    sent = await client.post(
        "/api/v1/messages", json={"client_message_id": "f-1", "text": FAQ_HOURS}, headers=bearer(token)
    )
    history = await client.get("/api/v1/messages", headers=bearer(token))
    resumed = await client.post("/api/v1/sessions", json={"token": token})
    for resp in (sent, history, resumed):
        body = await resp.json()
        assert resp.status == 401, body
        assert body["error"]["code"] == "invalid_token", body
        assert "issued in the future" in body["error"]["message"], body

    ws = await client.ws_connect("/api/v1/ws")
    await ws.send_json({"type": "auth", "token": token})
    msg = await ws.receive(timeout=10)
    assert msg.type == WSMsgType.CLOSE, msg
    assert ws.close_code == 4401
    assert "issued in the future" in str(msg.extra), msg
    await ws.close()
    await assert_still_serves(client)


@pytest.mark.parametrize("ahead", [5, MAX_CLOCK_SKEW_SECONDS - 30], ids=["5 s", "4.5 min"])
async def test_token_within_the_clock_skew_is_accepted(client: TestClient, ahead: int) -> None:
    """Another process's clock a little ahead of ours must not log its visitors out."""
    visitor = await start_session(client)
    token = issued_ahead(visitor, ahead)
    resp = await client.post(
        "/api/v1/messages", json={"client_message_id": "s-1", "text": FAQ_HOURS}, headers=bearer(token)
    )
    assert resp.status == 200, await resp.text()
    assert "Monday to Friday" in (await resp.json())["replies"][0]["text"]


def test_a_future_token_is_refused_again_on_every_use() -> None:
    """Verified tokens are remembered by their text; the clock check must not be remembered with them."""
    tokens = SessionTokens(secret=SECRET, ttl_seconds=TTL_SECONDS)
    now = time.time()
    token = tokens.issue("v", "c", now=now + 3600)
    assert tokens.verify(token, now=now + 3600).visitor_id == "v"  # its own time: valid, and remembered
    with pytest.raises(InvalidToken, match="issued in the future"):
        tokens.verify(token, now=now)
