"""``/api/v1/customers`` against the real app over loopback, on SQLite and PostgreSQL: search and
keyset pages, the full record, edits, merge, export and erase, each answer checked against its
schema in ``bot/openapi/customers.yaml``, every read of personal data in the access audit, and a
client's mistakes answered with a problem that says what to fix (never a 500 or a logged error).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from tests.api.customer_helpers import FAST, Callers, audit_actions, callers, conforms, ok, problem
from tests.conftest import AppFactory
from tests.webchat.helpers import UNHANDLED, Visitor, rows, send, start_session
from ticketing.access_audit import AccessEvent
from ticketing.models import Conversation, Ticket, TicketEvent

C = "/api/v1/customers"


async def _customer_of(app: App, visitor: Visitor) -> int:
    [(customer_id,)] = await rows(
        app.engine, select(Conversation.customer_id).where(Conversation.public_id == visitor.conversation_id)
    )
    return int(customer_id)


async def _owner(app: App, conversation_id: int) -> int:
    stmt = select(Conversation.customer_id).where(Conversation.id == conversation_id)
    [(customer_id,)] = await rows(app.engine, stmt)
    return int(customer_id)


async def _email_customer(app: App, address: str, name: str) -> int:
    ref = await app.customers.resolve("email", address, f"<{address}>", display_name=name, email=address)
    return await _owner(app, ref.id)


async def _telegram_customer(app: App, user_id: str, name: str) -> int:
    ref = await app.customers.resolve("telegram", user_id, user_id, display_name=name)
    return await _owner(app, ref.id)


async def _ids(client: TestClient, who: Callers, query: str) -> list[int]:
    body = await ok(await client.get(f"{C}?{query}", headers=who.viewer), "listCustomers")
    return [c["id"] for c in body["items"]]


async def test_search_by_name_email_and_channel_id_and_keyset_pages(
    database_url: str, make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = await make_client(database_url, extra=FAST)
    who = await callers(app)
    bob = await _email_customer(app, "bob@example.com", "Bob Builder")
    anna = await _telegram_customer(app, "777001", "Anna Karenina")
    others = [await _telegram_customer(app, f"5000{i}", f"Other {i}") for i in range(5)]
    everyone = sorted([bob, anna, *others], reverse=True)

    assert await _ids(client, who, "") == everyone  # newest first
    assert await _ids(client, who, "q=bob") == [bob]  # name
    assert await _ids(client, who, "q=BOB%40EXAMPLE") == [bob]  # email, any case
    assert await _ids(client, who, "q=anna") == [anna]  # the identity's name
    assert await _ids(client, who, "q=777") == [anna]  # the identity's external id
    assert await _ids(client, who, "q=other") == sorted(others, reverse=True)
    assert await _ids(client, who, "q=nobody") == []
    assert await _ids(client, who, "q=%25") == []  # LIKE wildcards are plain text here
    assert await _ids(client, who, "q=ob") == []  # a prefix, not a substring

    # Keyset pages: every customer once, in order; one created meanwhile never shifts a page.
    seen: list[int] = []
    cursor = ""
    while True:
        body = await ok(await client.get(f"{C}?limit=2{cursor}", headers=who.viewer), "listCustomers")
        seen += [c["id"] for c in body["items"]]
        if len(seen) == 2:
            await _telegram_customer(app, "600001", "Late Comer")
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert seen == everyone

    # Tags: a PATCH, then the filter.
    patch = await client.patch(f"{C}/{anna}", json={"tags": {"add": ["vip"]}}, headers=who.agent)
    assert (await ok(patch, "updateCustomer"))["tags"] == ["vip"]
    assert await _ids(client, who, "tag=vip") == [anna]
    assert await _ids(client, who, "tag=vip&q=bob") == []

    # A client's mistakes: 400 problems saying what to send, nothing logged as an error.
    caplog.set_level(logging.WARNING)
    forged = base64.urlsafe_b64encode(json.dumps({"before": "x"}).encode()).decode()
    for query, says in (
        ("cursor=not-a-cursor", "next_cursor"), (f"cursor={forged}", "next_cursor"),
        ("cursor=%FF%FE", "next_cursor"), ("limit=0", "1 to 200"), ("limit=201", "1 to 200"),
        ("limit=ten", "1 to 200"), ("q=a%00b", "NUL"), ("q=" + "x" * 201, "200 characters"),
        ("q=a&q=b", "once"), ("tag=%00", "NUL"),
    ):  # fmt: skip
        await problem(await client.get(f"{C}?{query}", headers=who.viewer), 400, says=says)
    for path in (f"{C}/abc", f"{C}/0", f"{C}/-1", f"{C}/99999999999999999999", f"{C}/1.5"):
        await problem(await client.get(path, headers=who.viewer), 400, says="positive whole number")
    await problem(await client.get(f"{C}/987654", headers=who.viewer), 404, says="no customer 987654")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_record_edits_merge_export_and_erase(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url, extra=FAST)
    who = await callers(app)
    visitor = await start_session(client)
    await send(client, visitor, UNHANDLED)  # the fallback rule opens a ticket
    ann = await _customer_of(app, visitor)
    stmt = select(Ticket.id, Ticket.number).where(Ticket.customer_id == ann)
    [(ticket_id, number)] = await rows(app.engine, stmt)
    await app.ticketing.desk.solve(number, actor="agent:alice")  # asks for a rating
    await send(client, visitor, "5 - great help")

    record = await ok(await client.get(f"{C}/{ann}", headers=who.viewer), "getCustomer")
    assert record["id"] == ann and record["merged_into"] is None and record["erased"] is False
    assert [(i["channel"]) for i in record["identities"]] == ["webchat"]
    assert [c["public_id"] for c in record["conversations"]] == [visitor.conversation_id]
    assert [(t["reference"], t["status"]) for t in record["tickets"]] == [(f"T-{number}", "solved")]
    assert record["tickets"][0]["csat_score"] == 5 and record["tickets_total"] == 1
    answers = [(a["ticket"], a["score"], a["comment"]) for a in record["csat"]]
    assert answers == [(f"T-{number}", 5, "great help")]
    assert await audit_actions(app, ann) == [("customer.read", "account:viewer-1")]

    # Edits: tags added and removed, attributes merged, null deletes a key.
    edit = {"tags": {"add": ["vip", "b2b"]}, "attributes": {"plan": "gold", "seats": 12, "trial": True}}
    await ok(await client.patch(f"{C}/{ann}", json=edit, headers=who.agent), "updateCustomer")
    edit = {"tags": {"add": ["vip"], "remove": ["b2b"]}, "attributes": {"trial": None, "region": "EU"}}
    body = await ok(await client.patch(f"{C}/{ann}", json=edit, headers=who.agent), "updateCustomer")
    kept = {k: v for k, v in body["attributes"].items() if k != "first_channel"}  # set by a rule
    assert body["tags"] == ["vip"] and kept == {"plan": "gold", "seats": 12, "region": "EU"}
    for bad, status, says in (
        ({"attributes": {"x": {"nested": 1}}}, 422, "an object or array"),
        ({"attributes": {"x": "v" * 1001}}, 422, "1000 characters"),
        ({"attributes": {"x": 2**60}}, 422, "as a string"),
        ({"attributes": {"k" * 65: 1}}, 422, "64 characters"),
        ({"attributes": {"x": "a\x00b"}}, 422, "NUL"),
        ({"tags": {"add": ["t" * 65]}}, 422, "64 characters"),
        ({"tags": {"add": [""]}}, 422, "non-empty"),
        ({"tags": {"add": [7]}}, 422, "non-empty string"),
        ({"attributes": {f"k{i}": i for i in range(60)}}, 422, "at most 50 attributes"),
        ({"tags": ["vip"]}, 400, '{"add"'), ({"tags": {"add": "vip"}}, 400, "lists"),
        ({"attributes": ["plan"]}, 400, "object of names"), ({"name": "x"}, 400, "unknown field"),
        ({}, 400, "nothing to change"), ([1], 400, "JSON object"),
    ):  # fmt: skip
        await problem(await client.patch(f"{C}/{ann}", json=bad, headers=who.agent), status, says=says)
    for raw in (b"{not json", b"\xff\xfe", b'{"attributes": {"x": NaN}}', b"[" * 60_000):
        resp = await client.patch(f"{C}/{ann}", data=raw, headers=who.agent)
        assert resp.status in (400, 422), await resp.text()
        await problem(resp, resp.status)

    # Merge: Bob (mail) into Ann; the old id answers with where it went and takes no changes.
    bob = await _email_customer(app, "bob@example.com", "Bob Builder")
    merged = await client.post(f"{C}/{bob}/merge", json={"into": ann}, headers=who.agent)
    assert (await ok(merged, "mergeCustomer"))["customer"]["email"] == "bob@example.com"
    old = await ok(await client.get(f"{C}/{bob}", headers=who.viewer), "getCustomer")
    assert old["merged_into"] == ann and old["identities"] == [] and old["tickets"] == []
    await problem(await client.patch(f"{C}/{bob}", json={"tags": {"add": ["x"]}}, headers=who.agent), 409,
                  says=f"merged into {ann}")  # fmt: skip
    await problem(await client.post(f"{C}/{bob}/merge", json={"into": ann}, headers=who.agent), 409)
    await problem(await client.post(f"{C}/{ann}/merge", json={"into": bob}, headers=who.agent), 409,
                  says="merge into that one")  # fmt: skip
    await problem(await client.post(f"{C}/{ann}/merge", json={"into": ann}, headers=who.agent), 422)
    await problem(await client.post(f"{C}/{ann}/merge", json={"into": 987654}, headers=who.agent), 422)
    for into in ("1", True, None, -3, 2**64):
        await problem(await client.post(f"{C}/{ann}/merge", json={"into": into}, headers=who.agent), 400)
    record = await ok(await client.get(f"{C}/{ann}", headers=who.viewer), "getCustomer")
    assert sorted(i["channel"] for i in record["identities"]) == ["email", "webchat"]
    assert record["merged_from"] == [bob] and record["email"] == "bob@example.com"
    assert ("customer.merge", "account:agent-1") in await audit_actions(app, bob)
    assert ("customer.merge", "account:agent-1") in await audit_actions(app, ann)

    # Export: everything, audited.
    export = await ok(await client.get(f"{C}/{ann}/export", headers=who.viewer), "exportCustomer")
    assert UNHANDLED in json.dumps(export) and [t["reference"] for t in export["tickets"]] == [f"T-{number}"]
    assert ("customer.export", "account:viewer-1") in await audit_actions(app, ann)

    # Erase: admins only; afterwards no personal data, and the web chat session is over.
    await problem(await client.delete(f"{C}/{ann}", headers=who.agent), 403, says="customers:erase")
    erased = await ok(await client.delete(f"{C}/{ann}", headers=who.admin), "eraseCustomer")
    assert erased["removed"]["customers"] == 2 and erased["removed"]["tickets"] == 1
    record = await ok(await client.get(f"{C}/{ann}", headers=who.viewer), "getCustomer")
    assert record["erased"] is True and record["erased_at"] is not None
    assert (record["display_name"], record["email"], record["phone"]) == (None, None, None)
    assert (record["tags"], record["attributes"]) == ([], {})
    text = json.dumps(record)
    for personal in ("bob@example.com", "Bob Builder", UNHANDLED, "great help", visitor.conversation_id):
        assert personal not in text
    assert ("customer.erase", "account:admin-1") in await audit_actions(app, ann)
    [(actor,)] = await rows(app.engine, select(TicketEvent.actor).where(
        TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "customer_erased"))  # fmt: skip
    assert actor == "account:admin-1"
    late = {"client_message_id": "late", "text": "hi"}
    gone = await client.post("/api/v1/messages", json=late, headers=visitor.auth)
    assert gone.status == 401 and (await gone.json())["error"]["code"] == "unknown_session"
    await problem(await client.delete(f"{C}/{ann}", headers=who.admin), 409, says="erased")
    await problem(await client.patch(f"{C}/{ann}", json={"tags": {"add": ["x"]}}, headers=who.agent), 409)
    assert ann not in await _ids(client, who, "q=erased")  # an erased record matches no search


async def test_roles_and_credentials(sqlite_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(sqlite_url, extra=FAST)
    who = await callers(app)
    anna = await _telegram_customer(app, "777001", "Anna Karenina")
    reads = [("GET", C), ("GET", f"{C}/{anna}"), ("GET", f"{C}/{anna}/export")]
    writes = [
        ("PATCH", f"{C}/{anna}", {"tags": {"add": ["x"]}}),
        ("POST", f"{C}/{anna}/merge", {"into": anna}),
    ]
    for method, path in reads:
        resp = await client.request(method, path)
        await problem(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        await problem(await client.request(method, path, headers={"Authorization": "Bearer fd_forged"}), 401)
        for headers in (who.viewer, who.agent, who.admin):
            assert (await client.request(method, path, headers=headers)).status == 200
    for method, path, body in writes:
        await problem(await client.request(method, path, json=body), 401)
        refused = await client.request(method, path, json=body, headers=who.viewer)
        await problem(refused, 403, says="customers:write")
        assert (await client.request(method, path, json=body, headers=who.agent)).status in (200, 422)
    await problem(await client.delete(f"{C}/{anna}"), 401)
    for headers in (who.viewer, who.agent):
        await problem(await client.delete(f"{C}/{anna}", headers=headers), 403, says="customers:erase")
    conforms(await (await client.delete(f"{C}/{anna}", headers=who.admin)).json(), "eraseCustomer")
    # Viewers read; the audit has one row per read of personal data (lists are not personal reads).
    actions = [a for a, _ in await audit_actions(app, anna)]
    assert actions.count("customer.read") == 3 and actions.count("customer.export") == 3
    listed = await rows(app.engine, select(AccessEvent.actor).where(AccessEvent.action == "customer.list"))
    assert sorted(a for (a,) in listed) == ["account:admin-1", "account:agent-1", "account:viewer-1"]


async def test_concurrent_edits_each_keep_their_change(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url, extra=FAST)
    who = await callers(app)
    anna = await _telegram_customer(app, "777001", "Anna Karenina")

    async def edit(n: int) -> int:
        body = {"tags": {"add": [f"t{n}"]}, "attributes": {f"a{n}": n}}
        return (await client.patch(f"{C}/{anna}", json=body, headers=who.agent)).status

    assert await asyncio.gather(*(edit(n) for n in range(8))) == [200] * 8
    record = await ok(await client.get(f"{C}/{anna}", headers=who.viewer), "getCustomer")
    assert sorted(record["tags"]) == sorted(f"t{n}" for n in range(8))
    mine = {k: v for k, v in record["attributes"].items() if k.startswith("a")}
    assert mine == {f"a{n}": n for n in range(8)}
