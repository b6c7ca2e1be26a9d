"""Every operation in the OpenAPI document, for every kind of caller, against one real app.

The operations come from the merged document (``bot/api_spec.py``), so each fragment that lands
is covered without a line here: an operation's ``x-permission`` says who may call it, and this
checks that the server agrees. No credential, an expired, a revoked and a forged token get 401
(with ``WWW-Authenticate``); a role or a token scope without the permission gets 403; a caller
holding it gets neither (a 404 or 422 for the made-up ids and minimal bodies is fine). A
session cookie's write without its CSRF token is a 403, with it the write goes through.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from core.roles import PERMISSIONS, Role
from tests.accounts.helpers import INSECURE, PASSWORD, account_with_token, bearer, expire
from tests.api.spec_requests import SpecRequest, requests_from
from tests.conftest import AppFactory

FAST = INSECURE + "api:\n  requests_per_minute: 1000000\n  burst: 100000\ntickets:\n  scheduler: false\n"
_SAFE = {"GET", "HEAD", "OPTIONS"}


async def _status(client: TestClient[Any, Any], req: SpecRequest, headers: dict[str, str]) -> tuple[int, str]:
    resp = await client.request(req.method, req.path, json=req.json, headers=headers, cookies={})
    text = await resp.text()
    if resp.status == 401 and not req.public:
        assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer"), f"{req.method} {req.path}"
    return resp.status, text[:300]


async def test_every_operation_for_every_kind_of_caller(sqlite_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(sqlite_url, extra=FAST)
    client.session.cookie_jar.clear()
    tokens = {role: await account_with_token(app, f"{role.value}-1", role) for role in Role}
    admin = await app.accounts.get("admin-1")
    expired, row = await app.api_tokens.create(admin, scopes="", expires_in=timedelta(days=1))
    await expire(app.engine, row.id)
    revoked, row = await app.api_tokens.create(admin, scopes="", expires_in=timedelta(days=1))
    await app.api_tokens.revoke(row.id)
    forged = tokens[Role.ADMIN][:-6] + ("A" * 6 if not tokens[Role.ADMIN].endswith("A" * 6) else "B" * 6)
    everything = sorted(PERMISSIONS)
    lacking: dict[str, str] = {}  # permission → an admin token with every scope but that one
    for permission in everything:
        scopes = ",".join(p for p in everything if p != permission)
        lacking[permission], _ = await app.api_tokens.create(admin, scopes=scopes, expires_in=timedelta(1))

    requests = sorted(requests_from(app.openapi), key=lambda r: (r.template == "/api/v1/auth/logout", r.path))
    assert len(requests) >= 11
    wrong: list[str] = []

    def expect(req: SpecRequest, who: str, got: tuple[int, str], ok: bool) -> None:
        status, text = got
        if not ok:
            wrong.append(f"{req.method} {req.path} as {who}: expected {want}, got {status} {text}")

    for req in requests:
        if req.public:
            want = "an answer (a made-up login is a 401, but never a 403 or 5xx)"
            got = await _status(client, req, {})
            expect(req, "nobody (public)", got, got[0] != 403 and got[0] < 500)
            continue
        want = "401"
        for who, headers in (
            ("no credential", {}),
            ("an expired token", bearer(expired)),
            ("a revoked token", bearer(revoked)),
            ("a forged token", bearer(forged)),
        ):
            got = await _status(client, req, headers)
            expect(req, who, got, got[0] == 401)
        if req.permission is not None:
            want = "403"
            got = await _status(client, req, bearer(lacking[req.permission]))
            expect(req, f"a token without {req.permission}", got, got[0] == 403)
        for role in Role:
            holds = req.permission is None or role in PERMISSIONS[req.permission]
            want = "not 401/403" if holds else "403"
            got = await _status(client, req, bearer(tokens[role]))
            expect(req, f"{role.value}'s token", got, got[0] not in (401, 403) if holds else got[0] == 403)

    # The console's session: writes need the CSRF token (reads do not).
    login = await client.post("/api/v1/auth/login", json={"name": "admin-1", "password": PASSWORD})
    assert login.status == 200, await login.text()
    csrf = (await login.json())["csrf_token"]
    session = {"fd_session": login.cookies["fd_session"].value}
    client.session.cookie_jar.clear()
    for req in requests:
        if req.public:
            continue
        if req.method not in _SAFE:
            want = "403 (no CSRF token)"
            resp = await client.request(req.method, req.path, json=req.json, cookies=session)
            got = (resp.status, await resp.text())
            expect(req, "a session without X-CSRF-Token", got, resp.status == 403)
        want = "not 401/403"
        resp = await client.request(req.method, req.path, json=req.json, cookies=session,
                                    headers={"X-CSRF-Token": csrf})  # fmt: skip
        expect(req, "an admin session with its CSRF token", (resp.status, ""), resp.status not in (401, 403))
        client.session.cookie_jar.clear()
    assert not wrong, "\n".join(wrong)
