"""A reply pushed twice over the WebSocket is shown once.

After a crash the outbox reclaims a row whose reply may already have been pushed, and pushes it
again (at-least-once delivery, docs/architecture.md). The widget deduplicates pushed messages by
their interaction id (``message.id``). Here the real app's fanout publishes the same frame twice
to a real headless Chromium, as the reclaimed row would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, WebSocket, expect

from bot.app import App
from tests.browser.test_widget import (
    CHROMIUM,
    TIMEOUT,
    ask,
    browser,  # noqa: F401  (the fixture)
    open_widget,
    snapshot,
    wait_for,
)
from tests.conftest import AppFactory

pytestmark = pytest.mark.browser

__all__ = ["CHROMIUM"]


class Served:
    def __init__(self, app: App, page: Page) -> None:
        self.app = app
        self.page = page
        self.frames: list[dict[str, Any]] = []  # every frame the widget's socket received

    def watch(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.frames.append(json.loads(payload)))

    async def until(self, what: str, predicate: Any) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; frames: {self.frames}")
            await asyncio.sleep(0.05)

    def pushed(self, message_id: int) -> int:
        return sum(1 for f in self.frames if f.get("type") == "message" and f["message"]["id"] == message_id)

    async def conversation(self) -> str:
        token: str = await self.page.evaluate(
            "() => Object.keys(localStorage).filter(k => k.endsWith(':token')).map(k => localStorage[k])[0]"
        )
        body = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return str(claims["c"])

    async def push_twice(self, message: dict[str, Any]) -> None:
        conversation = await self.conversation()
        before = self.pushed(message["id"])
        for _ in range(2):
            await self.app.fanout.publish(conversation, {"type": "message", "message": message})
        await self.until("both pushes to reach the browser", lambda: self.pushed(message["id"]) == before + 2)


@pytest.fixture
async def served(
    browser: Browser,  # noqa: F811
    sqlite_url: str,
    make_client: AppFactory,
) -> AsyncIterator[Served]:
    app, client = await make_client(sqlite_url)
    context = await browser.new_context(base_url=str(client.make_url("")).rstrip("/"))
    context.set_default_timeout(TIMEOUT * 1000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    result = Served(app, page)
    page.on("websocket", result.watch)
    yield result
    await context.close()
    assert errors == [], f"uncaught JavaScript errors in the page: {errors}"


async def test_a_reply_pushed_twice_is_shown_once(served: Served) -> None:
    page = served.page
    await open_widget(page)
    _mine, reply = await ask(page, "What are your opening hours?")
    await served.until("the socket to be ready", lambda: any(f.get("type") == "ready" for f in served.frames))

    # The reply already on screen, pushed again twice (a reclaimed outbox row).
    history = await page.evaluate(
        """async () => {
          const key = Object.keys(localStorage).find(k => k.endsWith(':token'));
          const auth = {Authorization: 'Bearer ' + localStorage[key]};
          const r = await fetch('/api/v1/messages', {headers: auth});
          return (await r.json()).messages;
        }"""
    )
    stored = next(m for m in history if m["id"] == reply["id"])
    await served.push_twice(stored)
    await page.wait_for_timeout(300)  # rendering is synchronous on receipt; leave room for a late copy
    shown = [m for m in await snapshot(page) if m["id"] == reply["id"]]
    assert len(shown) == 1, await snapshot(page)

    # A new reply pushed twice while the panel is closed: one bubble, and one unread, not two.
    await page.locator("[data-fd=close]").click()
    fresh = {**stored, "id": stored["id"] + 1000, "text": "An agent will be with you shortly."}
    await served.push_twice(fresh)
    await expect(page.locator("[data-fd=badge]")).to_have_text("1")
    await page.locator("[data-fd=bubble]").click()
    found = await wait_for(page, lambda ms: [m for m in ms if m["id"] == fresh["id"]], "the new reply")
    assert len(found) == 1, await snapshot(page)
    ids = [m["id"] for m in await snapshot(page)]
    assert len(ids) == len(set(ids)), await snapshot(page)
