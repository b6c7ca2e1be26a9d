"""Conversation transcripts through the real app (web chat API over loopback) for the actions the
flow executes today: reply (with buttons), open ticket (queue, priority, tags, subject), hand off.

Each test writes its own small rulebook keyed on text and FAQ conditions, so the transcripts do not
depend on the intent model; the engine, the flow, the storage and the web chat API are the real ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import App, build_app
from bot.config import settings_from_text
from tests.rules.helpers import write_rulebook
from tests.webchat.helpers import rows, send, start_session
from ticketing.models import Ticket

RULES = """
rules:
  - name: greeting
    when: {text: {regex: '^(hi|hello)\\b'}}
    then:
      - reply:
          text: ["Hello {customer.first_name|there}! How can I help?"]
          buttons: ["Where is my order?", {label: Returns, payload: I want to return something}]
  - name: broken_item
    when: {text: {contains: [broken, damaged]}}
    then:
      - open_ticket:
          subject: "Damaged: {message.first_line}"
          queue: returns
          priority: high
          tags: [damaged]
      - reply: "Sorry about that! Our returns team has it as ticket {ticket}."
  - name: human
    when: {text: {contains: [human, person]}}
    then:
      - open_ticket: {tags: [handoff]}
      - reply: "A colleague will take over here (ticket {ticket})."
      - hand_off: {note: asked for a person}
  - name: faq
    when: {faq: {min_score: 0.8}}
    then: [{answer_faq: true}]
  - name: fallback
    then:
      - open_ticket: {tags: [bot-fallback]}
      - reply: {response: fallback_new_ticket}
"""


@pytest.fixture
async def shop(sqlite_url: str, tmp_path: Path) -> AsyncIterator[tuple[App, TestClient]]:
    directory = write_rulebook(tmp_path / "rulebook", RULES)
    settings = settings_from_text(
        f"""
database:
  url: {sqlite_url}
webchat:
  secret_key: test-secret-key-0123456789abcdef
rulebook:
  path: {directory}
""",
        base_dir=tmp_path,
    )
    app = build_app(settings)
    client = TestClient(TestServer(app.web, host="127.0.0.1"))
    await client.start_server()
    yield app, client
    await client.close()


def texts(body: dict[str, Any]) -> list[str]:
    return [r["text"] for r in body["replies"]]


async def test_reply_with_variables_and_quick_replies(shop: tuple[App, TestClient]) -> None:
    _app, client = shop
    visitor = await start_session(client)
    body = await send(client, visitor, "hello there")
    assert texts(body) == ["Hello there! How can I help?"]
    assert body["replies"][0]["quick_replies"] == [
        {"label": "Where is my order?", "payload": "Where is my order?"},
        {"label": "Returns", "payload": "I want to return something"},
    ]


async def test_answer_faq(shop: tuple[App, TestClient]) -> None:
    _app, client = shop
    visitor = await start_session(client)
    body = await send(client, visitor, "How much is shipping?")
    assert texts(body) == ["Shipping is 4.90 EUR."]


async def test_open_ticket_with_queue_priority_tags_and_subject(shop: tuple[App, TestClient]) -> None:
    app, client = shop
    visitor = await start_session(client)
    body = await send(client, visitor, "my parcel arrived broken")
    assert texts(body) == ["Sorry about that! Our returns team has it as ticket T-1001."]
    [ticket] = await rows(app.engine, select(Ticket.subject, Ticket.queue, Ticket.priority, Ticket.tags))
    assert ticket.subject == "Damaged: my parcel arrived broken"
    assert (ticket.queue, ticket.priority, list(ticket.tags)) == ("returns", "high", ["damaged"])


async def test_fallback_then_existing_ticket(shop: tuple[App, TestClient]) -> None:
    app, client = shop
    visitor = await start_session(client)
    first = await send(client, visitor, "qwerty uiop")
    assert "T-1001" in texts(first)[0]
    await send(client, visitor, "asdf ghjk")
    assert len(await rows(app.engine, select(Ticket.id))) == 1  # the second message joins the open ticket


async def test_hand_off_leaves_the_bot_only_acknowledgements(shop: tuple[App, TestClient]) -> None:
    app, client = shop
    visitor = await start_session(client)
    body = await send(client, visitor, "I need a human")
    assert texts(body) == ["A colleague will take over here (ticket T-1001)."]
    after = await send(client, visitor, "hello?")  # the rulebook has no acknowledge response:
    [said] = texts(after)  # the built-in one, with the SLA-less fallback
    assert said == (
        "Thanks, I've added this to your ticket T-1001. A colleague will reply right here, "
        "expected by the next working day."
    )
    again = await send(client, visitor, "hello??")
    assert again["replies"] == []  # within 15 minutes (the default repeat): recorded, not said
    [ticket] = await rows(app.engine, select(Ticket.tags))
    assert list(ticket.tags) == ["handoff"]
