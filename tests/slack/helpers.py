"""Posting signed Slack requests to the real app, and waiting for what Slack receives."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from core.roles import Role
from tests.conftest import AppFactory
from tests.slack.fake_api import Call, FakeSlack, action_body, event_body, form_body
from tests.webchat.helpers import eventually
from ticketing.slack_threads import SlackTicket

PATH = "/slack/events"
PASSWORD = "correct horse battery"


async def start(
    database_url: str, make_client: AppFactory, slack: FakeSlack, **config: str
) -> tuple[App, TestClient]:
    app, client = await make_client(database_url, extra=slack.config(**config))
    await app.ticketing.roster.add_agent("alice", queues=["support"], display_name="Alice Agent")
    # Agents act with their account's permissions: alice's account is named like her handle.
    await app.accounts.add("alice", role=Role.AGENT, password=PASSWORD)
    return app, client


async def post_event(client: TestClient, payload: dict[str, Any], **headers: str) -> ClientResponse:
    body, signed = event_body(payload)
    return await client.post(PATH, data=body, headers={**signed, **headers})


async def post_action(client: TestClient, payload: dict[str, Any]) -> ClientResponse:
    body, signed = action_body(payload)
    return await client.post(PATH, data=body, headers=signed)


async def post_command(client: TestClient, fields: dict[str, str]) -> ClientResponse:
    body, signed = form_body(fields)
    return await client.post(PATH, data=body, headers=signed)


def is_card(call: Call) -> bool:
    return "blocks" in call.params and "thread_ts" not in call.params


def in_thread(ts: str, contains: str = "") -> Any:
    return lambda c: c.params.get("thread_ts") == ts and contains in str(c.params.get("text", ""))


def card_fields(call: Call) -> str:
    """All the text of a card's blocks, for assertions."""
    return json.dumps(call.params["blocks"])


async def card_ts(app: App) -> str:
    """The ``ts`` of the (only) ticket card, once Frontdesk has recorded it."""

    async def known() -> bool:
        async with app.engine.connect() as conn:
            return (await conn.execute(select(SlackTicket.ts))).first() is not None

    await eventually(known)
    async with app.engine.connect() as conn:
        return str((await conn.execute(select(SlackTicket.ts))).scalar_one())
