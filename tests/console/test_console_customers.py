"""Customer pages of the console against the real app on SQLite and PostgreSQL: search, the
record, edits, merge and erase with their confirmations and roles, export, the access audit."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.api.helpers import start_api
from tests.conftest import AppFactory
from tests.console.helpers import sign_in
from ticketing.access_audit import AccessEvent


async def test_search_record_edit_merge_erase(database_url: str, make_client: AppFactory) -> None:
    api = await start_api(database_url, make_client)
    first = await api.open_ticket("my parcel is late", user="alice-chat")
    second = await api.open_ticket("same person, other thread", user="alice-other")
    a = (await api.app.ticketing.desk.get(first))["customer_id"]
    b = (await api.app.ticketing.desk.get(second))["customer_id"]
    agent, viewer, admin = [await sign_in(api.client, n) for n in ("agent1", "viewer1", "admin1")]

    listed = await (await viewer.get("/console/customers", q="alice")).text()
    assert f'href="/console/customers/{a}"' in listed and f'href="/console/customers/{b}"' in listed
    record = await (await viewer.get(f"/console/customers/{a}")).text()
    assert "alice-chat" in record and f"T-{first}" in record and ">Merge<" not in record
    assert ">Erase<" not in await (await agent.get(f"/console/customers/{a}")).text()
    refused = await viewer.post(f"/console/customers/{a}/edit", {"add_tags": "vip"})
    assert refused.status == 403 and "customers:write" in await refused.text()

    saved = await agent.post(
        f"/console/customers/{a}/edit", {"add_tags": "vip, b2b", "attributes": "plan=gold\nseats=12"}
    )
    assert saved.status == 303
    page = await (await agent.get(f"/console/customers/{a}")).text()
    assert "b2b, vip" in page or "vip, b2b" in page
    assert "plan: gold" in page and "seats: 12" in page
    removed = await agent.post(f"/console/customers/{a}/edit", {"attributes": "plan=gold"})
    assert removed.status == 303
    assert "seats" not in await (await agent.get(f"/console/customers/{a}")).text()
    bad = await agent.post(f"/console/customers/{a}/edit", {"attributes": "no equals sign"})
    assert bad.status == 422 and "line 1" in await bad.text()

    unconfirmed = await agent.post(f"/console/customers/{b}/merge", {"into": str(a)})
    assert unconfirmed.status == 422 and f"({b})" in await unconfirmed.text()
    itself = await agent.post(f"/console/customers/{b}/merge", {"into": str(b), "confirm": str(b)})
    assert itself.status == 422 and "itself" in await itself.text()
    merged = await agent.post(f"/console/customers/{b}/merge", {"into": str(a), "confirm": str(b)})
    assert merged.status == 303 and merged.headers["Location"] == f"/console/customers/{a}"
    assert "alice-other" in await (await agent.get(f"/console/customers/{a}")).text()
    assert "Merged into" in await (await agent.get(f"/console/customers/{b}")).text()

    exported = await viewer.get(f"/console/customers/{a}/export")
    assert exported.status == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert json.loads(await exported.text())

    no_role = await agent.post(f"/console/customers/{a}/erase", {"confirm": str(a)})
    assert no_role.status == 403 and "customers:erase" in await no_role.text()
    wrong = await admin.post(f"/console/customers/{a}/erase", {"confirm": "1234"})
    assert wrong.status == 422 and "confirm" in await wrong.text()
    erased = await admin.post(f"/console/customers/{a}/erase", {"confirm": str(a)})
    assert erased.status == 303
    page = await (await admin.get(f"/console/customers/{a}")).text()
    assert "Erased on" in page and "alice-chat" not in page and "plan" not in page

    missing = await admin.get("/console/customers/999999")
    assert missing.status == 404
    assert (await admin.get("/console/customers/abc")).status == 404
    async with api.app.engine.connect() as conn:
        actions = {r.action for r in (await conn.execute(select(AccessEvent.action))).all()}
    assert {
        "customer.list",
        "customer.read",
        "customer.update",
        "customer.merge",
        "customer.export",
        "customer.erase",
    } <= actions


async def test_a_conversation_transcript(database_url: str, make_client: AppFactory) -> None:
    api = await start_api(database_url, make_client)
    number = await api.open_ticket("<b>bold</b> question")
    await api.say(number, "a follow-up")
    viewer = await sign_in(api.client, "viewer1")
    customer = (await api.app.ticketing.desk.get(number))["customer_id"]
    record = await (await viewer.get(f"/console/customers/{customer}")).text()
    link = record.split('href="/console/conversations/', 1)[1].split('"', 1)[0]
    page = await viewer.get(f"/console/conversations/{link}")
    text = await page.text()
    assert page.status == 200 and "a follow-up" in text and "&lt;b&gt;bold&lt;/b&gt;" in text
    assert (await viewer.get("/console/conversations/nope")).status == 404


async def test_segments_page_runs_and_links_to_customers(database_url: str, make_client: AppFactory) -> None:
    api = await start_api(database_url, make_client)
    for n in range(3):
        await api.open_ticket(f"question {n}", user=f"person{n}")
    viewer, agent = [await sign_in(api.client, n) for n in ("viewer1", "agent1")]
    first = await (await viewer.get("/console/segments")).text()
    assert "No run yet" in first and "Run now" not in first
    assert (await viewer.post("/console/segments/run", {})).status == 403
    started = await agent.post("/console/segments/run", {})
    assert started.status == 303
    await api.app.console.segments.wait()
    page = await (await agent.get("/console/segments")).text()
    assert "3 customers in" in page
    tag = page.split("/console/customers?tag=", 1)[1].split('"', 1)[0]
    listed = await (await agent.get(f"/console/customers?tag={tag}")).text()
    assert listed.count('href="/console/customers/') >= 1
