"""The web chat widget in real headless Chromium against the real Frontdesk server.

``live_server`` (tests/conftest.py) yields the base URL of the app on a temp SQLite database with
the example rulebook; the server serves the demo page at ``/`` and the widget at ``/widget.js``.
The widget lives in an open shadow root; Playwright's CSS locators pierce it, and every element a
test touches carries a ``data-fd`` attribute so the tests do not depend on styling classes.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, Route, async_playwright, expect

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT = 15.0  # seconds; generous for a loaded CI machine, a healthy run needs well under 1 s per step
expect.set_options(timeout=TIMEOUT * 1000)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]

Msg = dict[str, Any]

# Reads the rendered conversation out of the shadow root in one round trip.
SNAPSHOT_JS = """() => {
  const host = document.querySelector('frontdesk-chat');
  if (!host || !host.shadowRoot) return [];
  return [...host.shadowRoot.querySelectorAll('[data-fd=message]')].map(n => ({
    id: n.dataset.id ? Number(n.dataset.id) : null,
    sender: n.dataset.sender,
    state: n.dataset.state || null,
    name: n.querySelector('[data-fd=sender]').textContent,
    text: n.querySelector('[data-fd=text]').textContent,
  }));
}"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def page(browser: Browser, live_server: str) -> AsyncIterator[Page]:
    """A fresh browser profile (empty localStorage) per test; fails the test on any uncaught JS error."""
    context = await browser.new_context(base_url=live_server)
    context.set_default_timeout(TIMEOUT * 1000)
    pg = await context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    await context.close()
    assert errors == [], f"uncaught JavaScript errors in the page: {errors}"


async def snapshot(page: Page) -> list[Msg]:
    result: list[Msg] = await page.evaluate(SNAPSHOT_JS)
    return result


async def wait_for(page: Page, predicate: Callable[[list[Msg]], Any], what: str) -> Any:
    """Polls the rendered messages until ``predicate`` returns something truthy, and returns it."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        msgs = await snapshot(page)
        found = predicate(msgs)
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; messages on screen: {msgs}")
        await asyncio.sleep(0.1)


async def open_widget(page: Page, url: str = "/") -> None:
    await page.goto(url)
    bubble = page.locator("[data-fd=bubble]")
    await expect(bubble).to_be_visible()
    panel = page.locator("[data-fd=panel]")
    if not await panel.is_visible():  # the widget keeps the panel open across reloads in one tab
        await bubble.click()
    await expect(panel).to_be_visible()


async def send(page: Page, text: str) -> None:
    box = page.locator("[data-fd=input]")
    await box.fill(text)
    await box.press("Enter")


def confirmed(text: str) -> Callable[[list[Msg]], Msg | None]:
    """The customer's message with exactly this text, once the server has given it an id."""

    def find(msgs: list[Msg]) -> Msg | None:
        return next((m for m in msgs if m["sender"] == "customer" and m["text"] == text and m["id"]), None)

    return find


def reply_after(message_id: int) -> Callable[[list[Msg]], Msg | None]:
    def find(msgs: list[Msg]) -> Msg | None:
        return next((m for m in msgs if m["sender"] != "customer" and (m["id"] or 0) > message_id), None)

    return find


async def ask(page: Page, text: str) -> tuple[Msg, Msg]:
    """Sends ``text`` and returns (the customer's confirmed message, the first reply after it)."""
    await send(page, text)
    mine: Msg = await wait_for(page, confirmed(text), f"{text!r} to be sent")
    reply: Msg = await wait_for(page, reply_after(mine["id"]), f"a reply to {text!r}")
    return mine, reply


def assert_no_duplicates(msgs: list[Msg]) -> None:
    ids = [m["id"] for m in msgs]
    assert None not in ids, f"unconfirmed messages left: {msgs}"
    assert len(ids) == len(set(ids)), f"a message is shown twice: {msgs}"
    assert ids == sorted(ids), f"messages out of order: {msgs}"


# ------------------------------------------------------------------------------------------ scenarios


async def test_bot_answers_opening_hours(page: Page) -> None:
    await open_widget(page)
    await expect(page.locator("[data-fd=title]")).to_have_text("Acme support")

    # Hold the POST back for a moment so the "someone is typing" indicator is observable.
    async def slow(route: Route) -> None:
        await asyncio.sleep(0.8)
        await route.continue_()

    await page.route("**/api/v1/messages", slow)
    typing = page.locator("[data-fd=typing]")
    await send(page, "What are your opening hours?")
    await expect(typing).to_be_visible()

    mine = await wait_for(page, confirmed("What are your opening hours?"), "the question to be sent")
    reply = await wait_for(page, reply_after(mine["id"]), "the bot's answer")
    assert reply["sender"] in {"bot", "agent", "system"}
    assert "open" in reply["text"].lower(), reply
    await expect(typing).to_be_hidden()
    await expect(page.locator("[data-fd=status]")).to_be_hidden()
    assert mine["name"] == "You"
    assert_no_duplicates(await snapshot(page))


async def test_markup_in_messages_is_shown_as_text(page: Page) -> None:
    payloads = ['<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=1</script>"]
    await open_widget(page)
    for text in payloads:
        await send(page, text)
        await wait_for(page, confirmed(text), f"{text!r} to be sent")

    async def check() -> None:
        texts = [m["text"] for m in await snapshot(page)]
        for text in payloads:
            assert text in texts
        messages = page.locator("[data-fd=messages]")
        assert await messages.locator("img").count() == 0
        assert await messages.locator("script").count() == 0
        await expect(messages).to_contain_text(payloads[0])
        await page.wait_for_timeout(500)  # give a failed <img> time to fire onerror, had one been created
        assert await page.evaluate("typeof window.__pwned") == "undefined"

    await check()
    await page.reload()  # and again when the same text comes back from the stored history
    await open_widget(page, page.url)
    await wait_for(page, confirmed(payloads[1]), "the history to be restored")
    await check()


async def test_history_is_restored_after_reload(page: Page) -> None:
    await open_widget(page)
    await ask(page, "What are your opening hours?")
    await ask(page, "Thanks, and do you ship abroad?")
    before = await snapshot(page)
    assert_no_duplicates(before)
    token_key = await page.evaluate("Object.keys(localStorage).find(k => k.startsWith('frontdesk:'))")
    assert token_key, "the session token is not kept in localStorage"

    await page.reload()
    await open_widget(page, page.url)
    after = await wait_for(page, lambda msgs: msgs if len(msgs) >= len(before) else None, "the history")
    await page.wait_for_timeout(300)  # late duplicates would show up here
    after = await snapshot(page)
    assert [(m["id"], m["sender"], m["text"]) for m in after] == [
        (m["id"], m["sender"], m["text"]) for m in before
    ]

    # A second, fresh visitor (new profile) must not see any of it.
    other = await page.context.browser.new_context(base_url=page.url)  # type: ignore[union-attr]
    try:
        stranger = await other.new_page()
        await open_widget(stranger, page.url)
        await stranger.wait_for_timeout(500)
        assert await snapshot(stranger) == []
    finally:
        await other.close()


async def test_identify_keeps_the_conversation(page: Page) -> None:
    await open_widget(page)
    await ask(page, "What are your opening hours?")
    key = "Object.keys(localStorage).find(k => k.startsWith('frontdesk:'))"
    customer = await page.evaluate("Frontdesk.identify({name: 'Ada Lovelace', email: 'ada@example.com'})")
    assert customer == {"name": "Ada Lovelace", "email": "ada@example.com"}
    # The widget stores the token identify returns (the server may issue the same one again).
    assert (await page.evaluate(f"localStorage.getItem({key})")).startswith("v1.")

    before = await snapshot(page)
    await page.reload()
    await open_widget(page, page.url)
    await wait_for(page, lambda msgs: len(msgs) == len(before), "the history under the new token")
    assert [m["id"] for m in await snapshot(page)] == [m["id"] for m in before]


async def test_reconnects_after_network_loss(page: Page) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await open_widget(page)
    await ask(page, "Hello there")
    status = page.locator("[data-fd=status]")
    await expect(status).to_be_hidden()

    await page.context.set_offline(True)
    await expect(status).to_contain_text("Reconnecting")
    # A message typed while offline waits in the list instead of being lost.
    await send(page, "What are your opening hours?")
    await page.wait_for_timeout(1000)
    queued = [m for m in await snapshot(page) if m["text"] == "What are your opening hours?"]
    assert len(queued) == 1 and queued[0]["state"] == "sending" and queued[0]["id"] is None, queued

    await page.context.set_offline(False)
    await expect(status).to_be_hidden()
    mine = await wait_for(page, confirmed("What are your opening hours?"), "the queued message to be sent")
    await wait_for(page, reply_after(mine["id"]), "a reply to the queued message")

    assert len(sockets) >= 2, f"the widget did not open a new WebSocket: {sockets}"
    assert all(url.endswith("/api/v1/ws") and url.startswith("ws://") for url in sockets), sockets

    # Live again: a new message gets its reply (over the new socket or the POST response).
    await ask(page, "Do you ship abroad?")
    msgs = await snapshot(page)
    assert_no_duplicates(msgs)
    assert sum(m["text"] == "What are your opening hours?" for m in msgs) == 1


async def test_lost_response_is_retried_with_same_client_message_id(page: Page) -> None:
    """The server stores the message but the answer never arrives: the retry must not duplicate it."""
    # A socket that never says "ready": the widget cannot learn about the message from a push and
    # has to retry the POST (the socket's own message push is tested by the other scenarios).
    await page.route_web_socket("**/api/v1/ws", lambda ws: None)
    await open_widget(page)
    sent_ids: list[str] = []

    async def lose_first_response(route: Route) -> None:
        if route.request.method == "POST":
            sent_ids.append(json.loads(route.request.post_data or "{}")["client_message_id"])
            if len(sent_ids) == 1:
                await route.fetch()  # reaches the server, which commits the message...
                await route.abort("connectionreset")  # ...but the widget sees a network error
                return
        await route.continue_()

    await page.route("**/api/v1/messages", lose_first_response)
    _, reply = await ask(page, "What are your opening hours?")
    assert "open" in reply["text"].lower()  # the replies came back with the duplicate's answer
    assert len(sent_ids) >= 2 and len(set(sent_ids)) == 1, sent_ids
    await page.wait_for_timeout(300)
    msgs = await snapshot(page)
    assert_no_duplicates(msgs)
    assert [m["text"] for m in msgs if m["sender"] == "customer"] == ["What are your opening hours?"]


async def test_quick_replies_send_their_payload(page: Page) -> None:
    """The example rulebook offers no buttons yet, so they are added to the server's real reply."""
    await page.route_web_socket("**/api/v1/ws", lambda ws: None)  # the reply must come from the POST
    buttons = [
        {"label": "Yes, thanks", "payload": "yes"},
        {"label": "Talk to a person", "payload": "human please"},
    ]

    decorated: list[int] = []  # only the first answer gets buttons

    async def add_buttons(route: Route) -> None:
        response = await route.fetch()
        body = await response.json()
        if route.request.method == "POST" and body.get("replies") and not decorated:
            body["replies"][-1]["quick_replies"] = buttons
            decorated.append(body["replies"][-1]["id"])
        await route.fulfill(response=response, json=body)

    await page.route("**/api/v1/messages*", add_buttons)
    await open_widget(page)
    await ask(page, "What are your opening hours?")
    quick = page.locator("[data-fd=quick-reply]")
    await expect(quick).to_have_text(["Yes, thanks", "Talk to a person"])
    await quick.nth(1).click()
    mine = await wait_for(page, confirmed("human please"), "the payload to be sent as a message")
    await wait_for(page, reply_after(mine["id"]), "a reply to the payload")
    await expect(quick).to_have_count(0)  # the newer answer carries no buttons


async def test_rejected_message_shows_server_error(page: Page) -> None:
    await open_widget(page)
    too_long = "a" * 10_000  # over the default webchat.max_message_chars (4000), under the 64 KiB body limit
    async with page.expect_response(lambda r: r.url.endswith("/api/v1/messages")) as info:
        await send(page, too_long)
    response = await info.value
    assert 400 <= response.status < 500
    server_message = (await response.json())["error"]["message"]
    error = page.locator("[data-fd=error]")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text(server_message)
    assert "Traceback" not in await error.inner_text()
    failed = [m for m in await snapshot(page) if m["text"] == too_long]
    assert len(failed) == 1 and failed[0]["state"] == "failed"

    # The next, valid message clears the error and goes through.
    await ask(page, "What are your opening hours?")
    await expect(error).to_be_hidden()


async def test_embeds_cross_origin_on_hostile_page(page: Page, live_server: str) -> None:
    """A third-party shop page with aggressive CSS, on another origin, loading the widget from Frontdesk.

    Without ``data-frontdesk-url`` the widget talks to the origin it was loaded from, which exercises
    CORS and the WebSocket from a foreign origin. Plain-http sites have no crypto.randomUUID, so it
    is removed here to exercise the fallback.
    """
    html = f"""<!doctype html><html><head><title>Some shop</title><style>
      * {{ font-size: 40px !important; color: red !important; }}
      button {{ display: none; }}  div {{ visibility: hidden; }}
    </style></head><body><h1>Some shop</h1>
    <script>window.__globalsBefore = Object.keys(window);</script>
    <script src="{live_server}/widget.js"></script></body></html>"""

    async def shop_page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    # A real server rather than page.route(): Chromium's local-network protection blocks a page of
    # unknown address space from loading scripts off 127.0.0.1.
    app = web.Application()
    app.router.add_get("/", shop_page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        await page.add_init_script("delete Crypto.prototype.randomUUID")
        await open_widget(page, f"http://127.0.0.1:{port}/")
        assert await page.evaluate("typeof crypto.randomUUID") == "undefined"
        await expect(page.locator("[data-fd=title]")).to_have_text("Chat with us")
        await expect(page.locator("[data-fd=send]")).to_be_visible()
        leaked = await page.evaluate(
            "Object.keys(window).filter(k => !window.__globalsBefore.includes(k) && k !== '__globalsBefore')"
        )
        assert leaked == ["Frontdesk"]
        _, reply = await ask(page, "What are your opening hours?")
        assert "open" in reply["text"].lower()
        await expect(page.locator("[data-fd=status]")).to_be_hidden()
    finally:
        await page.close()  # before the shop server goes away
        await runner.cleanup()
