"""The console over HTTP against the real app on SQLite and PostgreSQL: sign-in, roles, CSRF,
the agent's actions through the ticket desk, validation messages, and escaping of customer text."""

from __future__ import annotations

import csv
import io

import pytest
from markupsafe import escape
from sqlalchemy import select
from yarl import URL

from core.roles import Role
from tests.api.helpers import start_api
from tests.conftest import AppFactory
from tests.console.helpers import login_form, sign_in
from tests.webchat.helpers import rows, send, start_session
from ticketing.access_audit import AccessEvent
from ticketing.models import OutboxItem

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def test_sign_in_roles_and_redirects(database_url: str, make_client: AppFactory) -> None:
    api = await start_api(database_url, make_client)
    client = api.client
    resp = await client.get("/console/tickets?status=open", allow_redirects=False)
    assert resp.status == 303
    to = URL(resp.headers["Location"])
    assert to.path == "/console/login" and to.query["next"] == "/console/tickets?status=open"

    page = await client.get("/console/login")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    token, cookie = await login_form(client)
    wrong = await client.post(
        "/console/login",
        data={"login_token": token, "name": "agent1", "password": "nope"},
        headers={"Cookie": f"fd_login={cookie}"},
    )
    assert wrong.status == 401 and "name or password" in await wrong.text()
    stale = await client.post(
        "/console/login",
        data={"login_token": "forged", "name": "agent1", "password": "x"},
        headers={"Cookie": f"fd_login={cookie}"},
    )
    assert stale.status == 400 and "expired" in await stale.text()
    for target, landing in (
        ("/console/tickets", "/console/tickets"),
        ("//evil.example/x", "/console/"),
        ("https://evil.example/", "/console/"),
    ):
        token, cookie = await login_form(client)
        ok = await client.post(
            f"/console/login?next={target}",
            data={"login_token": token, "name": "viewer1", "password": "correct horse battery"},
            headers={"Cookie": f"fd_login={cookie}"},
            allow_redirects=False,
        )
        assert ok.status == 303 and ok.headers["Location"] == landing
        assert ok.cookies["fd_session"]["path"] == "/" and ok.cookies["fd_session"]["httponly"]

    viewer = await sign_in(client, "viewer1")
    number = await api.open_ticket("parcel broken")
    assert (await viewer.get("/console/")).status == 200
    detail = await viewer.get(f"/console/tickets/T-{number}")
    assert detail.status == 200
    text = await detail.text()
    assert "parcel broken" in text and "Send reply" not in text  # a viewer sees no actions
    refused = await viewer.post(f"/console/tickets/T-{number}/update", {"status": "pending"})
    assert refused.status == 403 and "tickets:write" in await refused.text()
    assert (await api.app.ticketing.desk.get(number))["status"] == "new"
    logout = await viewer.post("/console/logout", {})
    assert logout.status == 303
    assert (await viewer.get("/console/")).status == 303  # the session is gone


async def test_agent_actions_csrf_and_messages(database_url: str, make_client: AppFactory) -> None:
    api = await start_api(database_url, make_client)
    agent = await sign_in(api.client, "agent1")
    number = await api.open_ticket("where is my order")
    ticket = f"/console/tickets/T-{number}"

    no_csrf = await agent.post(f"{ticket}/update", {"status": "pending"}, csrf=False)
    assert no_csrf.status == 403 and "CSRF" in await no_csrf.text()
    changed = await agent.post(
        f"{ticket}/update", {"status": "pending", "priority": "high", "add_tags": "vip, late"}
    )
    assert changed.status == 303 and changed.headers["Location"] == ticket
    row = await api.app.ticketing.desk.get(number)
    assert (row["status"], row["priority"], sorted(row["tags"])) == ("pending", "high", ["late", "vip"])

    bad = await agent.post(f"{ticket}/update", {"status": "sleeping"})
    assert bad.status == 422 and "sleeping" in await bad.text()
    empty = await agent.post(f"{ticket}/update", {})
    assert empty.status == 422 and "nothing to change" in await empty.text()
    blank = await agent.post(f"{ticket}/reply", {"text": "   "})
    assert blank.status == 422 and "empty" in await blank.text()
    assert (await agent.post(f"{ticket}/note", {"text": "called the courier"})).status == 303
    assert (await agent.post(f"{ticket}/reply", {"text": "It ships today."})).status == 303
    assert [o.payload["text"] for o in await rows(api.app.engine, select(OutboxItem))] == ["It ships today."]

    page = await (await agent.get(ticket)).text()
    assert "called the courier" in page and "It ships today." in page
    missing = await agent.get("/console/tickets/T-999999")
    assert missing.status == 404 and "T-999999" in await missing.text()
    wrong_filter = await agent.get("/console/tickets", status="sleeping")
    assert wrong_filter.status == 400 and "sleeping" in await wrong_filter.text()
    listed = await (await agent.get("/console/tickets", status="pending", tag="vip")).text()
    assert f"T-{number}" in listed
    async with api.app.engine.connect() as conn:
        reads = (
            await conn.execute(select(AccessEvent.action).where(AccessEvent.ticket_id.is_not(None)))
        ).all()
    assert ("ticket.read",) in reads  # reading a ticket in the console is audited like the API's


async def test_customer_text_is_escaped_everywhere(database_url: str, make_client: AppFactory) -> None:
    api = await start_api(database_url, make_client)
    admin = await sign_in(api.client, "admin1")
    number = await api.open_ticket(HOSTILE, user=HOSTILE)
    await api.say(number, HOSTILE)
    visitor = await start_session(api.client)  # through the web chat: analysed, missed, on the dashboard
    await send(api.client, visitor, HOSTILE + " =cmd|' /C calc'!A0")
    await send(api.client, visitor, '=HYPERLINK("http://evil.example")')
    await api.app.report_rollups.catch_up()
    ticket = f"/console/tickets/T-{number}"
    customer = (await api.app.ticketing.desk.get(number))["customer_id"]
    assert (await admin.post(f"{ticket}/update", {"add_tags": "<b>x</b>", "queue": ""})).status == 303
    edited = await admin.post(
        f"/console/customers/{customer}/edit", {"add_tags": HOSTILE[:60], "attributes": f"note={HOSTILE}"}
    )
    assert edited.status == 303
    record = await (await admin.get(f"/console/customers/{customer}")).text()
    conversation = record.split('href="/console/conversations/', 1)[1].split('"', 1)[0]
    pages = (
        "/console/tickets",
        ticket,
        "/console/",
        "/console/customers",
        f"/console/customers/{customer}",
        f"/console/conversations/{conversation}",
        "/console/improve",
    )
    for path in pages:
        resp = await admin.get(path)
        page = await resp.text()
        assert resp.status == 200, path
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>x</b>" not in page, path
    assert str(escape(HOSTILE)) in await (await admin.get(ticket)).text()  # shown, as text
    assert str(escape(HOSTILE)) in await (await admin.get("/console/improve")).text()
    exported = await (await admin.get("/console/reports/unanswered_texts.csv")).text()
    cells = [cell for row in csv.reader(io.StringIO(exported)) for cell in row]
    assert cells[:2] == ["text", "count"] and '\'=HYPERLINK("http://evil.example")' in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]  # formulas defused


async def test_roles_see_their_pages(database_url: str, make_client: AppFactory) -> None:
    api = await start_api(database_url, make_client)
    for role in Role:
        browser = await sign_in(api.client, f"{role.value}1")
        for path in ("/console/", "/console/tickets", "/console/reports/conversations.csv"):
            resp = await browser.get(path)
            assert resp.status == 200, (role, path, await resp.text())
        bad = await browser.get("/console/", range="fortnight")
        assert bad.status == 400 and "24h, 7d, 30d or custom" in await bad.text()
        custom = await browser.get("/console/", range="custom", since="2026-12-01", until="2026-11-01")
        assert custom.status == 400 and "before the first" in await custom.text()


async def test_a_body_that_is_not_a_form_is_a_400_on_every_post(
    database_url: str, make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by the fuzzer: a multipart body without its boundary made request.post() raise."""
    api = await start_api(database_url, make_client)
    admin = await sign_in(api.client, "admin1")
    ticket = f"T-{await api.open_ticket('where is my order')}"
    bodies = (
        ("multipart/form-data; boundary=x", b'{"text": 1}'),
        ("application/x-www-form-urlencoded; charset=no-such-charset", b"csrf_token=x"),
        ("multipart/form-data", b"--x\r\n"),
    )
    paths = (
        "/console/login",
        "/console/logout",
        "/console/improve/replay",
        "/console/segments/run",
        f"/console/tickets/{ticket}/update",
        "/console/customers/1/edit",
    )
    for path in paths:
        for content_type, body in bodies:
            resp = await api.client.post(
                path,
                data=body,
                headers={"Content-Type": content_type, "Cookie": f"fd_session={admin.cookie}"},
                allow_redirects=False,
            )
            assert resp.status in (400, 404), (path, content_type, resp.status, await resp.text())
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
