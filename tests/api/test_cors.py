"""CORS stays off for the accounts' REST API even with the widget's default ``allowed_origins:
["*"]``: another site's script gets no CORS header and no preflight from it, while the widget's
endpoints keep theirs."""

from __future__ import annotations

from bot.api_spec import SPEC_PATH
from core.roles import Role
from tests.accounts.helpers import account_with_token, bearer
from tests.conftest import AppFactory

ORIGIN = {"Origin": "https://elsewhere.example"}


async def test_no_cors_on_the_rest_api_but_the_widget_keeps_it(
    sqlite_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(sqlite_url)
    token = await account_with_token(app, "ada", Role.ADMIN)
    for path in ("/api/v1/auth/me", "/api/v1/webhooks", "/api/v1/audit", SPEC_PATH):
        resp = await client.get(path, headers={**ORIGIN, **bearer(token)})
        assert resp.status == 200 and "Access-Control-Allow-Origin" not in resp.headers, path
        preflight = await client.options(
            path, headers={**ORIGIN, "Access-Control-Request-Method": "POST",
                           "Access-Control-Request-Headers": "authorization"},
        )  # fmt: skip
        assert preflight.status != 204 and "Access-Control-Allow-Origin" not in preflight.headers, path
    widget = await client.post("/api/v1/sessions", json={}, headers=ORIGIN)
    assert widget.status == 201 and widget.headers["Access-Control-Allow-Origin"] == "*"
