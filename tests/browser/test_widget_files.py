"""Files from the widget in real headless Chromium: the paperclip picker, drag and drop, paste.

The server is the real app with small ``webchat.uploads`` limits (tests/webchat/uploads.py); a
file is stored, shown in the visitor's message with its download button and downloads back byte
for byte. A file over the limit is refused with the server's own message, and the text stays.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser import test_widget
from tests.browser.test_widget import (
    CHROMIUM,
    browser,  # noqa: F401  (the fixture)
    confirmed,
    open_widget,
    snapshot,
    wait_for,
)
from tests.webchat.uploads import MAX_BYTES, png, stored_files, upload_app

pytestmark = pytest.mark.browser

__all__ = ["CHROMIUM"]


widget_page = test_widget.page  # that module's fixture, here under another name


@pytest.fixture
def page(widget_page: Page) -> Page:
    """tests/browser/test_widget.py's page (a fresh profile; JavaScript errors fail the test)."""
    return widget_page


@pytest.fixture
async def live_server(sqlite_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """The real app with small upload limits, for the ``page`` fixture."""
    async for _app, client in upload_app(sqlite_url, tmp_path):
        yield str(client.make_url("")).rstrip("/")


# Builds File objects in the page from base64, then hands them over as a drop or a paste.
DROP_JS = """([name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, {type}));
  const panel = document.querySelector('frontdesk-chat').shadowRoot.querySelector('[data-fd=panel]');
  const init = {dataTransfer: dt, bubbles: true, cancelable: true, composed: true};
  panel.dispatchEvent(new DragEvent('dragenter', init));
  panel.dispatchEvent(new DragEvent('dragover', init));
  const shown = !panel.querySelector('[data-fd=drop-zone]').hidden;
  panel.dispatchEvent(new DragEvent('drop', init));
  return shown;
}"""

PASTE_JS = """([name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const dt = new DataTransfer();
  dt.items.add(new File([bytes], name, {type}));
  const box = document.querySelector('frontdesk-chat').shadowRoot.querySelector('[data-fd=input]');
  box.focus();
  return box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
}"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def send_staged(page: Page, text: str, filename: str) -> dict[str, Any]:
    """Types ``text``, sends it with the staged file, and returns the confirmed message."""
    await expect(page.locator("[data-fd=attachment]")).to_contain_text(filename)
    box = page.locator("[data-fd=input]")
    await box.fill(text)
    await box.press("Enter")
    mine: dict[str, Any] = await wait_for(page, confirmed(text), f"{text!r} with {filename} to be sent")
    await expect(page.locator("[data-fd=attachment]")).to_have_count(0)  # the chips are cleared
    return mine


async def file_button(page: Page, message_id: int, filename: str) -> Any:
    message = page.locator(f"[data-fd=message][data-id='{message_id}']")
    button = message.locator("[data-fd=file]")
    await expect(button).to_have_text(f"\U0001f4ce {filename}")
    await expect(button).to_have_attribute("aria-label", f"Download {filename}")
    return button


async def test_upload_by_picker_is_stored_shown_and_downloadable(page: Page, tmp_path: Path) -> None:
    await open_widget(page)
    image = png(seed=3)
    # The paperclip opens the system's file picker; Playwright answers it like a person would.
    async with page.expect_file_chooser() as chooser_info:
        await page.locator("[data-fd=attach]").click()
    chooser = await chooser_info.value
    assert chooser.is_multiple()
    await chooser.set_files([{"name": "label.png", "mimeType": "image/png", "buffer": image}])
    mine = await send_staged(page, "Here is the shipping label", "label.png")

    button = await file_button(page, mine["id"], "label.png")
    async with page.expect_download() as download_info:
        await button.click()
    download = await download_info.value
    assert download.suggested_filename == "label.png"
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == image
    assert len(stored_files(tmp_path)) == 1

    # After a reload the history shows the file again.
    await page.reload()
    await open_widget(page, page.url)
    await wait_for(page, confirmed("Here is the shipping label"), "the history")
    await file_button(page, mine["id"], "label.png")


async def test_upload_by_drag_and_drop(page: Page, tmp_path: Path) -> None:
    await open_widget(page)
    dropped = png(seed=5)
    assert await page.evaluate(DROP_JS, ["dropped.png", "image/png", b64(dropped)]), "no drop zone shown"
    await expect(page.locator("[data-fd=drop-zone]")).to_be_hidden()
    mine = await send_staged(page, "Dropped a photo", "dropped.png")
    await file_button(page, mine["id"], "dropped.png")
    assert len(stored_files(tmp_path)) == 1


async def test_upload_by_paste(page: Page, tmp_path: Path) -> None:
    await open_widget(page)
    pasted = png(seed=7)
    handled = await page.evaluate(PASTE_JS, ["screenshot.png", "image/png", b64(pasted)])
    assert handled is False, "the widget must take the pasted file (preventDefault)"
    mine = await send_staged(page, "A screenshot of the error", "screenshot.png")
    await file_button(page, mine["id"], "screenshot.png")
    assert len(stored_files(tmp_path)) == 1


async def test_too_large_file_is_refused_with_the_servers_message(page: Page, tmp_path: Path) -> None:
    await open_widget(page)
    too_big = png() + b"\0" * MAX_BYTES
    await page.locator("[data-fd=file-input]").set_input_files(
        files=[{"name": "huge.png", "mimeType": "image/png", "buffer": too_big}]
    )
    await expect(page.locator("[data-fd=attachment]")).to_contain_text("huge.png")
    box = page.locator("[data-fd=input]")
    await box.fill("Please look at this")
    async with page.expect_response(
        lambda r: r.url.endswith("/api/v1/messages") and r.request.method == "POST"
    ) as info:
        await box.press("Enter")
    response = await info.value
    assert response.status == 413
    server_message = (await response.json())["error"]["message"]
    assert "huge.png" in server_message and "limit" in server_message
    error = page.locator("[data-fd=error]")
    await expect(error).to_have_text(server_message)
    # The message is marked as not sent, and its text is back in the composer to send again.
    failed = [m for m in await snapshot(page) if m["text"] == "Please look at this"]
    assert len(failed) == 1 and failed[0]["state"] == "failed" and failed[0]["id"] is None, failed
    await expect(box).to_have_value("Please look at this")
    assert stored_files(tmp_path) == []

    # Without the file it goes through.
    await box.press("Enter")
    await wait_for(page, confirmed("Please look at this"), "the text without the file")
    await expect(error).to_be_hidden()
