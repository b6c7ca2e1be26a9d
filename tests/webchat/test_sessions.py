"""Session scoping, resuming, history paging and identify (a claimed email, never a link)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from tests.webchat.helpers import FAQ_HOURS, UNHANDLED, count, history, rows, send, start_session
from ticketing.models import ChannelIdentity, Conversation, Customer, Interaction


async def _customer_of(app: App, public_id: str) -> int:
    found = await rows(
        app.engine, select(Conversation.customer_id).where(Conversation.public_id == public_id)
    )
    return int(found[0][0])


# -- 6. scoping, resume, paging ----------------------------------------------------------------


async def test_a_token_only_reads_its_own_conversation(client: TestClient) -> None:
    a, b = await start_session(client), await start_session(client)
    assert a.conversation_id != b.conversation_id
    await send(client, a, "secret of A: order 4711")
    await send(client, b, "secret of B: order 0815")

    a_texts = [m["text"] for m in await history(client, a)]
    b_texts = [m["text"] for m in await history(client, b)]
    assert "secret of A: order 4711" in a_texts and not any("secret of B" in t for t in a_texts)
    assert "secret of B: order 0815" in b_texts and not any("secret of A" in t for t in b_texts)

    # Paging parameters cannot reach into another conversation either.
    assert all("secret of B" not in m["text"] for m in await history(client, a, "?after=0&limit=500"))
    # A's token names A's conversation; asking to resume it cannot yield B's.
    resp = await client.post("/api/v1/sessions", json={"token": a.token})
    assert (await resp.json())["conversation_id"] == a.conversation_id


async def test_resume_with_valid_token_returns_the_same_conversation(client: TestClient) -> None:
    visitor = await start_session(client)
    sent = await send(client, visitor, FAQ_HOURS)
    resp = await client.post("/api/v1/sessions", json={"token": visitor.token})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["conversation_id"] == visitor.conversation_id
    assert body["customer"] == {"name": None, "email": None}
    resumed = type(visitor)(body["token"], body["conversation_id"])
    ids = [m["id"] for m in await history(client, resumed)]
    assert ids[0] == sent["message"]["id"]


async def test_resume_with_bad_token_is_401(client: TestClient) -> None:
    visitor = await start_session(client)
    bad = visitor.token[:-4] + ("AAAA" if not visitor.token.endswith("AAAA") else "BBBB")
    resp = await client.post("/api/v1/sessions", json={"token": bad})
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "invalid_token"


async def test_history_paging_with_after_and_limit(client: TestClient) -> None:
    visitor = await start_session(client)
    for i in range(4):
        await send(client, visitor, f"{FAQ_HOURS} #{i}")  # 4 questions + 4 answers
    everything = await history(client, visitor)
    ids = [m["id"] for m in everything]
    assert len(ids) == 8 and ids == sorted(ids) and len(set(ids)) == 8
    assert [m["direction"] for m in everything] == ["in", "out"] * 4

    assert [m["id"] for m in await history(client, visitor, "?limit=3")] == ids[:3]
    assert [m["id"] for m in await history(client, visitor, f"?after={ids[2]}&limit=3")] == ids[3:6]
    assert [m["id"] for m in await history(client, visitor, f"?after={ids[5]}")] == ids[6:]
    assert await history(client, visitor, f"?after={ids[-1]}") == []

    paged, after = [], 0
    while page := await history(client, visitor, f"?after={after}&limit=2"):
        paged += page
        after = page[-1]["id"]
    assert paged == everything


async def test_history_message_shape(client: TestClient) -> None:
    visitor = await start_session(client)
    await send(client, visitor, FAQ_HOURS, "shape-1")
    inbound, outbound = await history(client, visitor)
    assert inbound["direction"] == "in" and inbound["sender"] == "customer"
    assert inbound["client_message_id"] == "shape-1" and inbound["text"] == FAQ_HOURS
    assert outbound["direction"] == "out" and outbound["sender"] == "bot"
    assert outbound["client_message_id"] is None
    for m in (inbound, outbound):
        assert set(m) == {
            "id",
            "direction",
            "sender",
            "sender_name",
            "text",
            "created_at",
            "client_message_id",
            "quick_replies",
            "attachments",  # files of the message (an agent's, docs/webchat-api.md)
        }
        assert m["attachments"] == []
        assert m["created_at"].endswith("+00:00")


# -- 7. identify -------------------------------------------------------------------------------


async def test_identify_with_new_email_sets_name_and_email(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    visitor = await start_session(client)
    resp = await client.post(
        "/api/v1/identify", json={"name": "Ada Lovelace", "email": " Ada@Example.COM "}, headers=visitor.auth
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["customer"] == {"name": "Ada Lovelace", "email": "ada@example.com"}
    customer_id = await _customer_of(app, visitor.conversation_id)
    stored = await rows(
        app.engine,
        select(Customer.display_name, Customer.email, Customer.claimed_email).where(
            Customer.id == customer_id
        ),
    )
    # Unverified: kept as a claim, not as the email incoming mail links on.
    assert stored == [("Ada Lovelace", None, "ada@example.com")]

    # The returned token works and resuming shows the customer.
    resp = await client.post("/api/v1/sessions", json={"token": body["token"]})
    assert (await resp.json())["customer"] == {"name": "Ada Lovelace", "email": "ada@example.com"}


async def test_identify_with_an_email_another_visitor_claimed_keeps_them_apart(
    app_client: tuple[App, TestClient],
) -> None:
    app, client = app_client
    first = await start_session(client)
    await send(client, first, "first visit: " + UNHANDLED)
    resp = await client.post(
        "/api/v1/identify", json={"name": "Ada", "email": "ada@example.com"}, headers=first.auth
    )
    assert resp.status == 200
    known = await _customer_of(app, first.conversation_id)

    second = await start_session(client)
    await send(client, second, "second visit, anonymous so far")
    anonymous = await _customer_of(app, second.conversation_id)
    assert anonymous != known
    resp = await client.post("/api/v1/identify", json={"email": "ADA@example.com"}, headers=second.auth)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    # Only what the second visitor typed: the first one's name is not theirs to learn.
    assert body["customer"] == {"name": None, "email": "ada@example.com"}

    # Two records, each with its own conversation, identity and messages; nobody merged.
    assert await _customer_of(app, second.conversation_id) == anonymous
    assert await _customer_of(app, first.conversation_id) == known
    merged = await rows(
        app.engine, select(Customer.merged_into_id).where(Customer.id.in_([known, anonymous]))
    )
    assert merged == [(None,), (None,)]
    identities = await rows(app.engine, select(ChannelIdentity.customer_id))
    assert sorted(c for (c,) in identities) == sorted([known, anonymous])
    assert await count(app.engine, Interaction, Interaction.customer_id == anonymous) >= 1
    # The same claim twice is no conflict: claims are not unique, and neither became the email.
    assert await count(app.engine, Customer, Customer.claimed_email == "ada@example.com") == 2
    assert await count(app.engine, Customer, Customer.email == "ada@example.com") == 0

    second_after = type(second)(body["token"], second.conversation_id)
    texts = [m["text"] for m in await history(client, second_after)]
    assert "second visit, anonymous so far" in texts
    assert not any(t.startswith("first visit") for t in texts)
    first_texts = [m["text"] for m in await history(client, first)]
    assert not any("second visit" in t for t in first_texts)

    # New messages of the second session stay on its own record.
    reply = await send(client, second_after, FAQ_HOURS)
    found = await rows(
        app.engine, select(Interaction.customer_id).where(Interaction.id == reply["message"]["id"])
    )
    assert found == [(anonymous,)]


async def test_identify_name_only_keeps_email_empty(client: TestClient) -> None:
    visitor = await start_session(client)
    resp = await client.post("/api/v1/identify", json={"name": "  Grace  "}, headers=visitor.auth)
    assert resp.status == 200
    assert (await resp.json())["customer"] == {"name": "Grace", "email": None}
