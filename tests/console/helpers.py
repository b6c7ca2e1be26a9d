"""Signing in to the console over HTTP like a browser: the login form's token, then the cookie."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from tests.accounts.helpers import PASSWORD

_HIDDEN = re.compile(r'name="(?P<name>login_token|csrf_token)" value="(?P<value>[^"]*)"')


class Browser:
    """One signed-in account: its session cookie and CSRF token (the test client keeps no
    cookies for 127.0.0.1, so they are sent by hand, as a browser would)."""

    def __init__(self, client: TestClient, cookie: str, csrf: str) -> None:
        self.client, self.cookie, self.csrf = client, cookie, csrf

    async def get(self, path: str, **params: Any) -> ClientResponse:
        return await self.client.get(path, params=params, headers=self._headers(), allow_redirects=False)

    async def post(self, path: str, form: dict[str, str], *, csrf: bool = True) -> ClientResponse:
        data = {**form, **({"csrf_token": self.csrf} if csrf else {})}
        return await self.client.post(path, data=data, headers=self._headers(), allow_redirects=False)

    def _headers(self) -> dict[str, str]:
        return {"Cookie": f"fd_session={self.cookie}"}


def hidden(html: str, name: str) -> str:
    for match in _HIDDEN.finditer(html):
        if match["name"] == name:
            return match["value"]
    raise AssertionError(f"no hidden {name} in the page")


async def login_form(client: TestClient) -> tuple[str, str]:
    """The login page's token and the matching cookie."""
    page = await client.get("/console/login")
    assert page.status == 200
    return hidden(await page.text(), "login_token"), page.cookies["fd_login"].value


async def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Browser:
    token, cookie = await login_form(client)
    resp = await client.post(
        "/console/login",
        data={"login_token": token, "name": name, "password": password},
        headers={"Cookie": f"fd_login={cookie}"},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    session = resp.cookies["fd_session"].value
    page = await client.get("/console/tickets", headers={"Cookie": f"fd_session={session}"})
    assert page.status == 200, await page.text()
    return Browser(client, session, hidden(await page.text(), "csrf_token"))
