"""Messages in the widget, in real headless Chromium: times, delivery state, a failed send and its
Retry, unsent messages across a reload, keyboard-only use and an axe-core accessibility check.

Failures are made in the network (Playwright's ``page.route`` aborts a request), never by
changing Frontdesk's code; the server is the real app (``live_server``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, Route, expect

from tests.browser import test_widget
from tests.browser.test_widget import (
    CHROMIUM,
    ask,
    assert_no_duplicates,
    browser,  # noqa: F401  (the fixture)
    confirmed,
    open_widget,
    reply_after,
    send,
    snapshot,
    wait_for,
)

pytestmark = pytest.mark.browser

__all__ = ["CHROMIUM"]


widget_page = test_widget.page  # that module's fixture, here under another name


@pytest.fixture
def page(widget_page: Page) -> Page:
    """tests/browser/test_widget.py's page (a fresh profile; JavaScript errors fail the test)."""
    return widget_page


# Every message's <time> and its delivery note, in one round trip.
META_JS = """() => [...document.querySelector('frontdesk-chat').shadowRoot
  .querySelectorAll('[data-fd=message]')].map(n => {
    const time = n.querySelector('time');
    const note = n.querySelector('[data-fd=note]');
    return {id: n.dataset.id ? Number(n.dataset.id) : null, sender: n.dataset.sender,
            datetime: time && time.getAttribute('datetime'), title: time && time.title,
            shown: time && time.textContent, note: note && note.textContent};
  })"""

# The element that has focus, looking into the widget's shadow root.
FOCUSED_JS = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  const style = getComputedStyle(el);
  return {fd: el.dataset ? el.dataset.fd || null : null, tag: el.tagName.toLowerCase(),
          outline: style.outlineStyle + ' ' + style.outlineWidth};
}"""


async def focused(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(FOCUSED_JS)
    return result


async def test_every_message_shows_its_time_and_the_customers_are_sent(page: Page) -> None:
    await open_widget(page)
    mine, reply = await ask(page, "What are your opening hours?")
    history = await page.evaluate(
        "async () => { const k = Object.keys(localStorage).find(k => k.endsWith(':token'));"
        " const r = await fetch('/api/v1/messages', {headers: {Authorization: 'Bearer ' + localStorage[k]}});"
        " return (await r.json()).messages; }"
    )
    created = {m["id"]: m["created_at"] for m in history}
    metas = {m["id"]: m for m in await page.evaluate(META_JS)}
    for message_id in (mine["id"], reply["id"]):
        meta = metas[message_id]
        server_time = datetime.fromisoformat(created[message_id])
        assert datetime.fromisoformat(meta["datetime"].replace("Z", "+00:00")) == server_time.replace(
            microsecond=server_time.microsecond // 1000 * 1000
        ), meta
        assert meta["shown"] and ":" in meta["shown"], meta  # hours and minutes, local time
        assert str(server_time.year) in meta["title"], meta  # the full date on hover
    assert metas[mine["id"]]["note"] == "Sent"
    assert metas[reply["id"]]["note"] is None  # no invented "seen" or "read" on anything


async def test_failed_send_keeps_text_and_place_and_retry_sends_it_once(page: Page) -> None:
    await open_widget(page)
    await ask(page, "What are your opening hours?")
    posted: list[tuple[str, str]] = []  # (client_message_id, outcome) of every POST of the failing text
    failing = {"on": True}

    async def lose_b(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}") if route.request.method == "POST" else {}
        if body.get("text") == "Do you ship abroad?":
            posted.append((body["client_message_id"], "aborted" if failing["on"] else "sent"))
            if failing["on"]:
                await route.abort("connectionreset")  # never reaches the server
                return
        await route.continue_()

    await page.route("**/api/v1/messages", lose_b)
    await send(page, "Do you ship abroad?")
    retry = page.locator("[data-fd=retry]")
    await expect(retry).to_be_visible()
    await expect(retry).to_have_accessible_name("Retry sending: Do you ship abroad?")
    tries = len(posted)
    assert tries >= 2 and len({cid for cid, _ in posted}) == 1, posted  # retried once by itself, same id

    # A later message goes through; the failed one keeps its text and its place before it.
    later, _ = await ask(page, "And what about returns?")

    def order(msgs: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
        return [(m["text"], m["state"]) for m in msgs if m["sender"] == "customer"]

    expected = [
        ("What are your opening hours?", "sent"),
        ("Do you ship abroad?", "failed"),
        ("And what about returns?", "sent"),
    ]
    assert order(await snapshot(page)) == expected

    # A reload (a new page, the history fetched again) keeps it too, in the same place.
    await page.reload()
    await open_widget(page, page.url)
    await wait_for(page, reply_after(later["id"]), "the history")
    await expect(retry).to_be_visible()
    assert order(await snapshot(page)) == expected
    assert len(posted) == tries, "a failed message must wait for Retry, not resend by itself"

    failing["on"] = False
    await retry.click()
    mine = await wait_for(page, confirmed("Do you ship abroad?"), "the retried message")
    await wait_for(page, reply_after(mine["id"]), "its reply")
    assert [outcome for _, outcome in posted] == ["aborted"] * tries + ["sent"], posted
    assert len({cid for cid, _ in posted}) == 1, posted
    await page.wait_for_timeout(300)
    msgs = await snapshot(page)
    assert_no_duplicates(msgs)
    assert sum(m["text"] == "Do you ship abroad?" for m in msgs) == 1
    assert await retry.count() == 0
    # Sent now, so nothing is left to keep for the next page.
    assert await page.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':unsent'))") == []


async def test_unsent_message_survives_a_reload_and_goes_out_once(page: Page) -> None:
    """Written offline, the page reloaded before the network came back: it is sent once, later."""
    await open_widget(page)
    await ask(page, "What are your opening hours?")
    await page.context.set_offline(True)
    await send(page, "Can I change my order?")
    await page.wait_for_timeout(300)
    kept = await page.evaluate(
        "JSON.parse(localStorage[Object.keys(localStorage).find(k => k.endsWith(':unsent'))])"
    )
    assert [(u["text"], u["state"]) for u in kept] == [("Can I change my order?", "sending")]
    await page.context.set_offline(False)
    # Reload at once: the POST may or may not have gone out; either way it must exist once.
    await page.reload()
    await open_widget(page, page.url)
    mine = await wait_for(page, confirmed("Can I change my order?"), "the kept message to be sent")
    await wait_for(page, reply_after(mine["id"]), "its reply")
    await page.wait_for_timeout(500)
    msgs = await snapshot(page)
    assert_no_duplicates(msgs)
    assert sum(m["text"] == "Can I change my order?" for m in msgs) == 1


async def test_keyboard_only_conversation(page: Page) -> None:
    await page.goto("/")
    bubble = page.locator("[data-fd=bubble]")
    await expect(bubble).to_be_visible()
    await bubble.focus()
    await page.keyboard.press("Enter")  # opens the chat; focus moves into it, to the composer
    await expect(page.locator("[data-fd=panel]")).to_be_visible()
    assert (await focused(page))["fd"] == "input"

    # Shift+Enter is a new line, Enter sends.
    await page.keyboard.type("Hello")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("What are your opening hours?")
    await page.keyboard.press("Enter")
    mine = await wait_for(page, confirmed("Hello\nWhat are your opening hours?"), "the two-line message")
    await wait_for(page, reply_after(mine["id"]), "the reply")
    assert (await focused(page))["fd"] == "input"

    # Tab goes on to Send; Shift+Tab back through the composer to the paperclip, the messages and
    # the close button. Each stop shows a visible focus ring.
    await page.keyboard.press("Tab")
    assert (await focused(page))["fd"] == "send"
    stops = []
    for _ in range(12):
        await page.keyboard.press("Shift+Tab")
        now = await focused(page)
        assert not now["outline"].startswith("none"), now
        stops.append(now["fd"])
        if now["fd"] == "close":
            break
    assert stops[:2] == ["input", "attach"] and "messages" in stops and stops[-1] == "close", stops

    # Escape closes the chat and gives the focus back to the launcher; Enter opens it again.
    await page.keyboard.press("Escape")
    await expect(page.locator("[data-fd=panel]")).to_be_hidden()
    assert (await focused(page))["fd"] == "bubble"
    assert not (await focused(page))["outline"].startswith("none")
    await page.keyboard.press("Enter")
    await expect(page.locator("[data-fd=panel]")).to_be_visible()
    assert (await focused(page))["fd"] == "input"
    await page.keyboard.press("Escape")
    assert (await focused(page))["fd"] == "bubble"


async def test_open_widget_has_no_serious_accessibility_violations(page: Page) -> None:
    """axe-core (bundled by axe-playwright-python) over the widget, into its open shadow root."""
    await open_widget(page)
    await ask(page, "What are your opening hours?")
    await page.locator("[data-fd=file-input]").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}]
    )
    await expect(page.locator("[data-fd=attachment]")).to_have_count(1)
    results = await Axe().run(page, context={"include": [["frontdesk-chat"]]})
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert found == [], "\n".join(found)
    # It did look inside the shadow root: a node there is targeted as [host, selector inside].
    inside = [
        n["target"]
        for r in results.response["passes"]
        for n in r["nodes"]
        if isinstance(n["target"][0], list)
    ]
    assert inside, "axe-core did not reach into the widget's shadow root"
    assert {"aria-allowed-role", "button-name", "color-contrast", "label"} <= {
        r["id"] for r in results.response["passes"]
    }
    # The roles a screen reader relies on.
    panel = page.locator("[data-fd=panel]")
    await expect(panel).to_have_attribute("role", "dialog")
    await expect(panel).to_have_accessible_name("Acme support")
    log = page.locator("[data-fd=messages]")
    await expect(log).to_have_attribute("role", "log")
    await expect(log).to_have_attribute("aria-live", "polite")
    for fd, name in [
        ("attach", "Attach files"),
        ("send", "Send"),
        ("input", "Message"),
        ("close", "Close chat"),
    ]:
        await expect(page.locator(f"[data-fd={fd}]")).to_have_accessible_name(name)
    await expect(page.locator("[data-fd=remove-attachment]")).to_have_accessible_name("Remove notes.txt")
