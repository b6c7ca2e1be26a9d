"""Text no database can store is a problem on every API endpoint, never a 500: a NUL (PostgreSQL
refuses it) or an unpaired surrogate, 400 in the query or the path, 422 in a JSON body; and an
audit ``since`` that leaves the calendar once put in UTC is the client's mistake too."""

from __future__ import annotations

from typing import Any

from core.roles import Role
from tests.accounts.helpers import account_with_token, bearer
from tests.accounts.test_http import problem
from tests.conftest import AppFactory

EVENTS = ["ticket.created"]


async def test_unstorable_text_and_dates_are_client_errors(
    database_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(database_url)
    auth = bearer(await account_with_token(app, "ada", Role.ADMIN))
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("GET", "/api/v1/audit?account=a%00b", {}, 400, "NUL"),
        ("GET", "/api/v1/webhooks/deliveries?state=%00", {}, 400, "NUL"),
        ("POST", "/api/v1/auth/login", {"json": {"name": "a\x00b", "password": "x"}}, 422, "NUL"),
        ("POST", "/api/v1/webhooks", {"json": {"name": "a", "url": "h/\x00", "events": EVENTS}}, 422, "NUL"),
        ("POST", "/api/v1/webhooks", {"data": b'{"name": "a", "url": "http://h/\\ud800", "events": []}'},
         422, "invalid Unicode"),
        ("GET", "/api/v1/audit?since=0001-01-01T00:00:00%2B01:00", {}, 400, "since"),
        ("GET", "/api/v1/audit?since=9999-12-31T23:59:59-23:00", {}, 400, "since"),
        ("GET", "/api/v1/audit?limit=0", {}, 400, "limit"),
        ("GET", f"/api/v1/audit?customer={2**64}", {}, 400, "customer"),
    ]  # fmt: skip
    for method, path, kw, status, says in cases:
        body = await problem(await client.request(method, path, headers=auth, **kw), status)
        assert says in body["detail"], (path, body)
    fine = await client.get("/api/v1/audit?since=2026-01-01T00:00:00%2B23:59", headers=auth)
    assert fine.status == 200
    emoji = {"name": "emoji", "url": "http://h/\U0001f600", "events": EVENTS}  # a surrogate *pair* is fine
    assert (await client.post("/api/v1/webhooks", json=emoji, headers=auth)).status == 201
