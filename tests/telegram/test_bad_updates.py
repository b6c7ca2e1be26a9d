"""A webhook body that is not a Telegram update Frontdesk can handle is a 400 that names the
problem, nothing is stored, and no traceback reaches the log (hardening issue, bug 3)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from connectors.telegram.connector import SECRET_HEADER
from tests.conftest import AppFactory
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.test_webhook import HOURS, SECRET, post
from tests.telegram.updates import button, message
from tests.webchat.helpers import count
from ticketing.models import Interaction, OutboxItem


def _with(update: dict[str, Any], path: tuple[str, ...], value: object) -> dict[str, Any]:
    update = copy.deepcopy(update)  # the factories share their user dict
    node = update
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return update


BAD_BODIES: dict[str, tuple[object, str]] = {
    "a JSON list": ([1, 2], "JSON object"),
    "a JSON string": ("x", "JSON object"),
    "a number": (5, "JSON object"),
    "no update_id": ({"message": message(HOURS)["message"]}, "update_id"),
    "chat.id a string": (_with(message(HOURS), ("message", "chat", "id"), "abc"), "message.chat.id"),
    "from.id a string": (_with(message(HOURS), ("message", "from", "id"), "1"), "message.from.id"),
    "message not an object": ({"update_id": 9, "message": 5}, "message"),
    "message_id missing": (
        {"update_id": 9, "message": {"chat": {"id": 1}, "from": {"id": 2}, "text": "hi"}},
        "message.message_id",
    ),
    "text a list": (_with(message(HOURS), ("message", "text"), ["hi"]), "message.text"),
    # Found by tests/reliability/test_fuzz.py: past time_t, once a 500 with a traceback.
    "edit_date out of range": (
        _with(message(HOURS, edit_date=10**20), ("message", "message_id"), 5),
        "OverflowError",
    ),
    "photo width an object": (
        message(None, photo=[{"file_id": "p", "file_unique_id": "u", "width": {}, "height": 1}]),
        "message.photo.0.width",
    ),
    "document without a file_id": (
        message(None, document={"file_unique_id": "u"}),
        "message.document.file_id",
    ),
    "button without an id": (
        {"update_id": 9, "callback_query": {"from": {"id": 2}, "data": "x"}},
        "callback_query.id",
    ),
    "button in a chat with a string id": (
        button("x", bot_message=_with(message("menu"), ("message", "chat", "id"), "abc")["message"]),
        "callback_query.message.chat.id",
    ),
}


@pytest.mark.parametrize("body,names", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_a_malformed_update_is_refused_with_what_is_wrong(
    database_url: str,
    make_client: AppFactory,
    api: FakeBotApi,
    caplog: pytest.LogCaptureFixture,
    body: object,
    names: str,
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    with caplog.at_level(logging.WARNING):
        resp = await client.post("/telegram/webhook", json=body, headers={SECRET_HEADER: SECRET})
    assert resp.status == 400, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_update"
    assert names in error["message"], error
    assert await count(app.engine, Interaction) == 0
    assert await count(app.engine, OutboxItem) == 0
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]
    assert (await post(client, message(HOURS))).status == 200  # still serving real updates


@pytest.mark.parametrize(
    "raw", [b"{bad", b"[" * 20000, b"\xff\xfe", b""], ids=["syntax", "nested", "bytes", "empty"]
)
async def test_a_body_that_is_not_json_is_refused(
    database_url: str, make_client: AppFactory, api: FakeBotApi, raw: bytes
) -> None:
    _app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    resp = await client.post(
        "/telegram/webhook", data=raw, headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    )
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["error"]["code"] == "invalid_update"
