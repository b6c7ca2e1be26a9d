"""``/api/v1/identify`` with someone else's email: the visitor's word links to nobody.

Bob is a customer the way incoming mail makes one (``Customers.resolve`` with his verified
address, as ``bot.flow.resolve_sender`` calls it for every mail). Session A then claims Bob's
address in web chat. Before the fix, A's identity, conversation and messages moved onto Bob's
record and the answer carried Bob's name.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from tests.webchat.helpers import FAQ_HOURS, UNHANDLED, count, rows, send, start_session
from ticketing.models import ChannelIdentity, Conversation, Customer, Interaction

BOB = "bob@example.com"


async def _bob(app: App) -> int:
    ref = await app.customers.resolve("email", BOB, "<b1@example.com>", display_name="Bob Builder", email=BOB)
    found = await rows(app.engine, select(Conversation.customer_id).where(Conversation.id == ref.id))
    return int(found[0][0])


async def _snapshot(app: App, customer_id: int) -> dict[str, Any]:
    customer = await rows(app.engine, select(Customer.__table__).where(Customer.id == customer_id))
    identities = await rows(
        app.engine, select(ChannelIdentity.__table__).where(ChannelIdentity.customer_id == customer_id)
    )
    conversations = await rows(
        app.engine,
        select(Conversation.id, Conversation.public_id).where(Conversation.customer_id == customer_id),
    )
    return {"customer": customer, "identities": identities, "conversations": conversations}


async def test_identify_with_someone_elses_email_keeps_the_visitor_apart(
    app_client: tuple[App, TestClient],
) -> None:
    app, client = app_client
    bob = await _bob(app)
    before = await _snapshot(app, bob)

    a = await start_session(client)
    await send(client, a, "before identify: " + UNHANDLED)
    own = int((await rows(app.engine, select(Conversation.customer_id).where(
        Conversation.public_id == a.conversation_id)))[0][0])  # fmt: skip
    resp = await client.post("/api/v1/identify", json={"email": " Bob@Example.com "}, headers=a.auth)
    assert resp.status == 200, await resp.text()
    raw = await resp.text()
    assert "Bob Builder" not in raw and "Builder" not in raw
    body = await resp.json()
    assert body["customer"] == {"name": None, "email": BOB}  # what A typed, nothing of Bob's

    # A stays on A's own record, with the address kept as an unverified claim.
    assert own != bob
    stored = await rows(
        app.engine,
        select(Customer.email, Customer.claimed_email, Customer.merged_into_id).where(Customer.id == own),
    )
    assert stored == [(None, BOB, None)]
    # Bob's record, identities and conversations are exactly as they were.
    assert await _snapshot(app, bob) == before
    assert await count(app.engine, Interaction, Interaction.customer_id == bob) == 0

    # A's later messages and conversation are A's, not Bob's.
    a_after = type(a)(body["token"], a.conversation_id)
    reply = await send(client, a_after, FAQ_HOURS)
    found = await rows(
        app.engine, select(Interaction.customer_id).where(Interaction.id == reply["message"]["id"])
    )
    assert found == [(own,)]
    owner = await rows(
        app.engine, select(Conversation.customer_id).where(Conversation.public_id == a.conversation_id)
    )
    assert owner == [(own,)]

    # Resuming shows A what A typed, still nothing of Bob.
    resp = await client.post("/api/v1/sessions", json={"token": body["token"]})
    assert (await resp.json())["customer"] == {"name": None, "email": BOB}


async def test_identify_with_a_name_and_someone_elses_email_returns_the_name_given(
    app_client: tuple[App, TestClient],
) -> None:
    app, client = app_client
    bob = await _bob(app)
    a = await start_session(client)
    resp = await client.post("/api/v1/identify", json={"name": "Mallory", "email": BOB}, headers=a.auth)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["customer"] == {"name": "Mallory", "email": BOB}
    names = await rows(app.engine, select(Customer.display_name).where(Customer.id == bob))
    assert names == [("Bob Builder",)]  # A's name never lands on Bob's record either
