"""Sending messages: text is data, retries are safe, a 200 means committed, FAQ vs fallback."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from tests.webchat.helpers import (
    FAQ_HOURS,
    UNHANDLED,
    count,
    history,
    new_id,
    next_frame,
    rows,
    send,
    start_session,
)
from ticketing.models import Conversation, Customer, Interaction, OutboxItem, Ticket, TicketEvent

HOSTILE = [
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)">',
    "</textarea><b>bold</b> &amp; &lt;not an entity&gt; \"quotes\" 'single'",
    "{{ticket}} {ticket} ${HOME} %s %(x)s",  # template syntax must not be interpreted either
    "emoji 🙂 and RTL \u202e text",
]


async def conversation_pk(app: App, public_id: str) -> int:
    found = await rows(app.engine, select(Conversation.id).where(Conversation.public_id == public_id))
    return int(found[0][0])


# -- 2. text is text ---------------------------------------------------------------------------


async def test_markup_is_stored_and_returned_verbatim(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    visitor = await start_session(client)
    ws = await client.ws_connect("/api/v1/ws")
    await ws.send_json({"type": "auth", "token": visitor.token})
    assert (await next_frame(ws))["type"] == "ready"

    for text in HOSTILE:
        body = await send(client, visitor, text)
        assert body["message"]["text"] == text  # POST response
        pushed = await next_frame(ws, lambda f: f["type"] == "message" and f["message"]["direction"] == "in")
        assert pushed["message"]["text"] == text  # WebSocket push
        stored = await rows(
            app.engine, select(Interaction.text).where(Interaction.id == body["message"]["id"])
        )
        assert stored[0][0] == text  # database

    sent = [m["text"] for m in await history(client, visitor) if m["direction"] == "in"]
    assert sent == HOSTILE  # GET history
    await ws.close()


async def test_no_html_the_server_renders_contains_customer_text(app_client: tuple[App, TestClient]) -> None:
    _app, client = app_client
    visitor = await start_session(client)
    marker = "<script>window.pwned=1</script>"
    await send(client, visitor, marker)
    for path in ["/", "/widget.js", f"/{marker}", f"/api/v1/{marker}"]:
        resp = await client.get(path, headers=visitor.auth)
        text = await resp.text()
        # errors are JSON: the account API's (under /api/v1/) problem+json, everything else ours
        json_type = "application/problem+json" if path.startswith("/api/v1/") else "application/json"
        assert marker not in text, path
        assert "window.pwned" not in text or resp.content_type == json_type, path
        if resp.status >= 400:
            assert resp.content_type == json_type, path
    demo = await client.get("/")
    assert demo.status == 200 and demo.content_type == "text/html"


async def test_bot_reply_is_not_interpolated_from_customer_text(client: TestClient) -> None:
    """Template variables in the customer's text stay literal in the stored inbound message."""
    visitor = await start_session(client)
    body = await send(client, visitor, "{ticket} {bot_name} " + UNHANDLED)
    assert body["message"]["text"] == "{ticket} {bot_name} " + UNHANDLED


# -- 3. idempotency ----------------------------------------------------------------------------


async def _counts(app: App) -> dict[str, int]:
    return {
        "interactions": await count(app.engine, Interaction),
        "tickets": await count(app.engine, Ticket),
        "outbox": await count(app.engine, OutboxItem),
        "ticket_events": await count(app.engine, TicketEvent),
    }


async def test_retry_with_same_client_message_id_is_a_duplicate(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    visitor = await start_session(client)
    cmid = new_id("retry")
    first = await send(client, visitor, UNHANDLED, cmid)
    assert first["duplicate"] is False
    assert first["replies"], first
    before = await _counts(app)

    for _ in range(3):
        again = await send(client, visitor, UNHANDLED, cmid)
        assert again["duplicate"] is True
        assert again["message"]["id"] == first["message"]["id"]
        assert again["message"]["client_message_id"] == cmid
        assert again["replies"] == first["replies"]

    assert await _counts(app) == before
    assert [m["id"] for m in await history(client, visitor)] == [
        first["message"]["id"],
        *(r["id"] for r in first["replies"]),
    ]


async def test_same_client_message_id_in_another_conversation_is_not_a_duplicate(client: TestClient) -> None:
    a, b = await start_session(client), await start_session(client)
    first = await send(client, a, FAQ_HOURS, "shared-id")
    second = await send(client, b, FAQ_HOURS, "shared-id")
    assert second["duplicate"] is False
    assert second["message"]["id"] != first["message"]["id"]


async def test_concurrent_identical_posts_record_one_message(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    visitor = await start_session(client)
    pk = await conversation_pk(app, visitor.conversation_id)
    cmid = new_id("burst")

    async def post() -> dict:
        resp = await client.post(
            "/api/v1/messages", json={"client_message_id": cmid, "text": UNHANDLED}, headers=visitor.auth
        )
        assert resp.status == 200, await resp.text()
        return await resp.json()

    results = await asyncio.gather(*(post() for _ in range(10)))

    assert sorted(r["duplicate"] for r in results) == [False] + [True] * 9
    assert len({r["message"]["id"] for r in results}) == 1
    assert all(r["replies"] == results[0]["replies"] for r in results)
    assert len(results[0]["replies"]) == 1
    where = (Interaction.conversation_id == pk,)
    assert await count(app.engine, Interaction, *where, Interaction.direction == "in") == 1
    assert await count(app.engine, Interaction, *where, Interaction.direction == "out") == 1
    assert await count(app.engine, OutboxItem) == 1
    assert await count(app.engine, Ticket, Ticket.conversation_id == pk) == 1
    assert await count(app.engine, TicketEvent) == 1


# -- 4. committed before acknowledged ----------------------------------------------------------


async def test_message_is_committed_before_the_response(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    visitor = await start_session(client)
    body = await send(client, visitor, UNHANDLED, "commit-1")
    found = await rows(
        app.engine,
        select(Interaction.text, Interaction.direction, Interaction.external_message_id).where(
            Interaction.id == body["message"]["id"]
        ),
    )
    assert found == [(UNHANDLED, "in", "commit-1")]
    # the replies are committed too (and queued in the outbox) before the response
    for reply in body["replies"]:
        assert await count(app.engine, Interaction, Interaction.id == reply["id"]) == 1
        assert await count(app.engine, OutboxItem, OutboxItem.interaction_id == reply["id"]) == 1


# -- 5. FAQ answer vs fallback -----------------------------------------------------------------


async def test_faq_question_gets_the_faq_answer(client: TestClient) -> None:
    visitor = await start_session(client)
    for question in [FAQ_HOURS, "wat are yor opning hourz?"]:
        body = await send(client, visitor, question)
        assert len(body["replies"]) == 1, body
        reply = body["replies"][0]
        assert "Monday to Friday 9:00\u201318:00" in reply["text"], (question, reply)
        assert reply["direction"] == "out" and reply["sender"] == "bot"
        assert "T-" not in reply["text"]


async def test_unrelated_message_opens_a_ticket_and_the_next_joins_it(
    app_client: tuple[App, TestClient],
) -> None:
    app, client = app_client
    visitor = await start_session(client)
    pk = await conversation_pk(app, visitor.conversation_id)

    first = await send(client, visitor, UNHANDLED)
    text = first["replies"][0]["text"]
    assert "T-1001" in text, text

    second = await send(client, visitor, "also, can I bring my cat as well")
    text2 = second["replies"][0]["text"]
    assert "T-1001" in text2 and "added" in text2, text2

    tickets = await rows(
        app.engine,
        select(Ticket.id, Ticket.number, Ticket.status, Ticket.customer_id).where(
            Ticket.conversation_id == pk
        ),
    )
    assert len(tickets) == 1
    ticket_id, number, status, ticket_customer = tickets[0]
    assert (number, status) == (1001, "new")
    events = await rows(app.engine, select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id))
    assert events == [("created",)]

    customer_id = (await rows(app.engine, select(Conversation.customer_id).where(Conversation.id == pk)))[0][
        0
    ]
    assert ticket_customer == customer_id
    linked = await rows(
        app.engine,
        select(Interaction.id, Interaction.customer_id, Interaction.ticket_id)
        .where(Interaction.conversation_id == pk)
        .order_by(Interaction.id),
    )
    assert len(linked) == 4  # two messages, two replies
    assert {c for _, c, _ in linked} == {customer_id}
    assert {t for _, _, t in linked} == {ticket_id}
    assert await count(app.engine, Customer, Customer.id == customer_id) == 1


async def test_faq_after_ticket_still_answers_and_opens_nothing(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    visitor = await start_session(client)
    await send(client, visitor, UNHANDLED)
    body = await send(client, visitor, "how much is shipping?")
    assert "4.90 EUR" in body["replies"][0]["text"]
    assert await count(app.engine, Ticket) == 1


async def test_each_conversation_gets_its_own_ticket(client: TestClient) -> None:
    a, b = await start_session(client), await start_session(client)
    ra = await send(client, a, UNHANDLED)
    rb = await send(client, b, UNHANDLED)
    assert "T-1001" in ra["replies"][0]["text"]
    assert "T-1002" in rb["replies"][0]["text"]
