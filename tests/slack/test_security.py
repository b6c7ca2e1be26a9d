"""Every request's signature is verified: forged or stale requests get 401 and change nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from urllib.parse import quote

import pytest
from sqlalchemy import select

from tests.conftest import AppFactory
from tests.slack.fake_api import SIGNING_SECRET, FakeSlack, signed
from tests.slack.helpers import PATH, is_card, start
from tests.slack.payloads import button, thread_message
from tests.webchat.helpers import count, send, start_session
from ticketing.models import InboundDedup, Interaction, TicketEvent


async def test_forged_stale_or_unsigned_requests_are_refused(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    visitor = await start_session(client)
    await send(client, visitor, "I want to talk to a human")
    await slack.wait_for("chat.postMessage", where=is_card)
    events_before = await count(app.engine, TicketEvent)
    body = json.dumps(thread_message("forged reply", thread_ts="1700000000.000001"))
    now = int(time.time())
    attempts = [
        {},  # unsigned
        signed(body, secret="not-the-signing-secret"),  # forged
        signed(body, timestamp=now - 6 * 60),  # stale: outside the 5-minute window
        signed(body, timestamp=now + 6 * 60),  # from the future
        {**signed(body), "X-Slack-Signature": "v0=" + "0" * 64},
    ]
    for headers in attempts:
        resp = await client.post(PATH, data=body, headers={"Content-Type": "application/json", **headers})
        assert resp.status == 401
        assert SIGNING_SECRET not in await resp.text()
    form = "payload=" + json.dumps(button("ticket_resolve", 1))
    resp = await client.post(PATH, data=form, headers={"Content-Type": "application/x-www-form-urlencoded",
                                                        **signed(form, secret="wrong")})  # fmt: skip
    assert resp.status == 401
    assert await count(app.engine, TicketEvent) == events_before
    assert await count(app.engine, Interaction, Interaction.text == "forged reply") == 0
    assert await count(app.engine, InboundDedup, InboundDedup.channel == "slack") == 0
    async with app.engine.connect() as conn:
        statuses = (await conn.execute(select(TicketEvent.kind))).scalars().all()
    assert "status" not in statuses


async def test_url_verification_answers_the_challenge(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    _app, client = await start(database_url, make_client, slack)
    body = json.dumps({"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})  # fmt: skip
    resp = await client.post(PATH, data=body, headers={"Content-Type": "application/json", **signed(body)})
    assert resp.status == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in await resp.text()


GARBAGE: dict[str, tuple[bytes, dict[str, str]]] = {
    "broken JSON": (b"{bad", {"Content-Type": "application/json"}),
    "form payload not JSON": (b"payload=5", {"Content-Type": "application/x-www-form-urlencoded"}),
    "form payload a list": (b"payload=%5B1%5D", {"Content-Type": "application/x-www-form-urlencoded"}),
    "invalid UTF-8": (b'{"type": "event_callback", "x": "\xff\xfe"}', {"Content-Type": "application/json"}),
    "deep nesting": (b"[" * 20000, {"Content-Type": "application/json"}),
}
STAMPS = {
    "no timestamp": None,
    "timestamp abc": "abc",
    "timestamp non-ASCII digits": "١٢٣",
    "huge": "9" * 400,
}


@pytest.mark.parametrize("body,headers", GARBAGE.values(), ids=GARBAGE.keys())
@pytest.mark.parametrize("stamp", STAMPS.values(), ids=STAMPS.keys())
async def test_unsigned_garbage_is_refused_before_it_is_parsed(
    database_url: str,
    make_client: AppFactory,
    slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    headers: dict[str, str],
    stamp: str | None,
) -> None:
    """The signature is checked on the raw bytes before anything reads them (hardening issue,
    bug 2): garbage gets a 401, never a 500 or a traceback in the log."""
    _app, client = await start(database_url, make_client, slack)
    sent = {**headers, "X-Slack-Signature": "v0=" + "ab" * 32}
    if stamp is not None:
        sent["X-Slack-Request-Timestamp"] = stamp
    with caplog.at_level(logging.WARNING):
        resp = await client.post(PATH, data=body, headers=sent)
    assert resp.status == 401, await resp.text()
    assert (await resp.json())["error"]["code"] == "invalid_signature"
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


async def test_signed_garbage_is_a_client_error(
    database_url: str, make_client: AppFactory, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """Correctly signed but unreadable (only the holder of the secret can send it): a 400."""
    _app, client = await start(database_url, make_client, slack)
    for body, headers in GARBAGE.values():
        with caplog.at_level(logging.WARNING):
            resp = await client.post(PATH, data=body, headers={**headers, **_signed_bytes(body)})
        assert resp.status in (400, 401), (body[:40], resp.status, await resp.text())
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


def _signed_bytes(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
WRONG_TYPES: dict[str, tuple[bytes, dict[str, str], str]] = {
    "event a string": (
        b'{"type": "event_callback", "event": "x"}',
        {"Content-Type": "application/json"},
        "event",
    ),
    "event.text a list": (
        b'{"type": "event_callback", "event": {"type": "message", "text": [1]}}',
        {"Content-Type": "application/json"},
        "event.text",
    ),
    "action a string": (
        b"payload="
        + quote(b'{"type": "block_actions", "user": {"id": "U0ALICE"}, "actions": ["x"]}').encode(),
        _FORM,
        "actions[0]",
    ),
    "action_id a list": (
        b"payload="
        + quote(b'{"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": []}]}').encode(),
        _FORM,
        "actions[0].action_id",
    ),
}


async def test_signed_bodies_of_the_wrong_shape_are_a_400_that_names_the_field(
    database_url: str, make_client: AppFactory, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by tests/reliability/test_fuzz.py: bolt indexed these unchecked inside its
    middleware, a 500 with a traceback."""
    _app, client = await start(database_url, make_client, slack)
    for body, headers, field in WRONG_TYPES.values():
        with caplog.at_level(logging.WARNING):
            resp = await client.post(PATH, data=body, headers={**headers, **_signed_bytes(body)})
        assert resp.status == 400, (body[:60], await resp.text())
        assert field in (await resp.json())["error"]["message"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]
