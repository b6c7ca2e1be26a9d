"""An agent's file in the ticket's Slack thread reaches the widget in real headless Chromium: the
message shows a file button, and pressing it downloads the bytes with the session token."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright, expect

from tests.browser.test_widget import CHROMIUM, CHROMIUM_ARGS, TIMEOUT, confirmed, open_widget, send, wait_for
from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import card_ts, is_card, post_event, start
from tests.slack.payloads import thread_message

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]

HUMAN = "I want to talk to a human about my broken parcel"
PDF = b"%PDF-1.4 the return label"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


async def test_agents_file_is_a_button_that_downloads_it(
    sqlite_url: str, make_client: AppFactory, slack: FakeSlack, browser: Browser
) -> None:
    app, client = await start(sqlite_url, make_client, slack)
    context = await browser.new_context(base_url=str(client.make_url("")), accept_downloads=True)
    context.set_default_timeout(TIMEOUT * 1000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await open_widget(page)
        await send(page, HUMAN)
        await wait_for(page, confirmed(HUMAN), "the customer's message to be sent")
        await slack.wait_for("chat.postMessage", where=is_card)
        ts = await card_ts(app)

        event = thread_message("Here is your label", thread_ts=ts)
        event["event"].update(
            subtype="file_share", files=[slack.add_file("label.pdf", PDF, mimetype="application/pdf")]
        )
        assert (await post_event(client, event)).status == 200
        button = page.locator("[data-fd=file]")
        await expect(button).to_have_text("\N{PAPERCLIP} label.pdf")
        async with page.expect_download() as waiting:
            await button.click()
        download = await waiting.value
        assert download.suggested_filename == "label.pdf"
        path = await download.path()
        assert await asyncio.to_thread(path.read_bytes) == PDF
    finally:
        await context.close()
    assert errors == [], f"uncaught JavaScript errors in the page: {errors}"
