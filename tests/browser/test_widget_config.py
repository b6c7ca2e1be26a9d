"""The widget's configuration in real headless Chromium: greeting, availability, branding,
pre-chat form, email capture and language, against the real server (tests/webchat/widget_setup.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, expect
from sqlalchemy import select

from tests.browser.test_widget import (
    TIMEOUT,
    assert_no_duplicates,
    browser,
    confirmed,
    open_widget,
    reply_after,
    send,
    snapshot,
    wait_for,
)
from tests.webchat.helpers import rows
from tests.webchat.widget_setup import WidgetApp, widget_app
from ticketing.models import Customer, Ticket
from ticketing.reply_copies import ReplyCopy

__all__ = ["browser", "widget_app"]  # fixtures, imported for pytest

pytestmark = pytest.mark.browser

NewPage = Callable[..., Awaitable[Page]]
GREETING = "Hi! I'm the Acme Outfitters assistant. Ask me anything, or pick a topic below."


@pytest.fixture
async def new_page(browser: Browser) -> AsyncIterator[NewPage]:
    """``await new_page(base_url, locale="de-DE")``: a fresh profile; fails on any uncaught JS error."""
    contexts: list[Any] = []
    errors: list[str] = []

    async def make(base_url: str, **options: Any) -> Page:
        context = await browser.new_context(base_url=base_url, **options)
        context.set_default_timeout(TIMEOUT * 1000)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        await context.close()
    assert errors == [], f"uncaught JavaScript errors in the page: {errors}"


def base_of(client: Any) -> str:
    return str(client.make_url("")).rstrip("/")


async def embed(page: Page, base: str, attributes: str) -> None:
    """Serve a page of the site at /shop.html that embeds the widget with these attributes."""
    script = f'<script src="/widget.js" {attributes} async></script>'
    html = f"<!doctype html><title>Shop</title><h1>Shop</h1>{script}"

    async def fulfill(route: Route) -> None:
        await route.fulfill(body=html, content_type="text/html")

    await page.route(f"{base}/shop.html", fulfill)


async def test_welcome_and_quick_replies_on_open_never_twice(
    widget_app: WidgetApp, new_page: NewPage
) -> None:
    _app, client = await widget_app(team_in=True)
    page = await new_page(base_of(client))
    await open_widget(page)
    welcome = page.locator("[data-fd=welcome]")
    await expect(welcome).to_contain_text(GREETING)
    buttons = page.locator("[data-fd=quick-reply]")
    await expect(buttons).to_have_text(
        ["Where is my order?", "What are your opening hours?", "Talk to a person"]
    )
    assert await snapshot(page) == []  # shown, not stored: no message yet

    await buttons.nth(1).click()
    mine = await wait_for(page, confirmed("What are your opening hours?"), "the quick reply to be sent")
    reply = await wait_for(page, reply_after(mine["id"]), "the bot's answer")
    assert "Monday to Friday" in reply["text"]
    await expect(buttons).to_have_count(0)

    await page.reload()
    await open_widget(page)
    await wait_for(page, reply_after(mine["id"]), "the history after the reload")
    await expect(page.locator("[data-fd=welcome]")).to_have_count(0)  # the conversation has begun
    assert_no_duplicates(await snapshot(page))


async def test_the_team_in_shows_how_soon_it_aims_to_reply(widget_app: WidgetApp, new_page: NewPage) -> None:
    _app, client = await widget_app(team_in=True)
    page = await new_page(base_of(client), locale="en-US")
    await open_widget(page)
    await expect(page.locator("[data-fd=availability]")).to_have_text("We aim to reply within 2 hours.")
    await expect(page.locator("[data-fd=email-capture]")).to_be_hidden()


async def test_away_banner_and_email_capture(widget_app: WidgetApp, new_page: NewPage) -> None:
    app, client = await widget_app(team_in=False)
    page = await new_page(base_of(client), locale="en-US", timezone_id="UTC")
    await open_widget(page)
    expected = await page.evaluate(
        """() => {
          const d = new Date(); d.setUTCHours(0, 0, 0, 0); d.setUTCDate(d.getUTCDate() + 2);
          const format = {weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'};
          return d.toLocaleString('en', format);
        }"""
    )
    banner = page.locator("[data-fd=availability]")
    await expect(banner).to_have_text(f"We\u2019re away right now \u2014 we\u2019ll reply from {expected}.")
    assert expected.endswith("00:00")

    capture = page.locator("[data-fd=email-capture]")
    await expect(capture).to_contain_text("Leave your email so our team can contact you.")
    await capture.locator("[data-fd=email-capture-input]").fill("not an address")
    await capture.locator("[data-fd=email-capture-submit]").click()
    await expect(page.locator("[data-fd=error]")).to_have_text("Please enter a valid email address.")
    await capture.locator("[data-fd=email-capture-input]").fill("ada@example.com")
    await capture.locator("[data-fd=email-capture-submit]").click()
    await expect(page.locator("[data-fd=email-capture-done]")).to_contain_text("ada@example.com")
    await expect(capture).to_be_hidden()
    found = await rows(app.engine, select(Customer.email, Customer.claimed_email))
    assert [(r.email, r.claimed_email) for r in found] == [(None, "ada@example.com")]  # unverified

    await page.reload()
    await open_widget(page)
    await expect(banner).to_be_visible()
    await expect(capture).to_be_hidden()  # the visitor's email is known now


async def test_branding_from_config(widget_app: WidgetApp, new_page: NewPage) -> None:
    widget = """
color: "#aa3300"
position: left
title: Talk to Acme
avatar_url: /avatar.png
launcher_text: Questions? Ask us
"""
    _app, client = await widget_app(widget=widget)
    page = await new_page(base_of(client))
    await embed(page, base_of(client), "")  # the demo page at / sets a data-title of its own
    await page.goto("/shop.html")
    launcher = page.locator("[data-fd=launcher-text]")
    await expect(launcher).to_have_text("Questions? Ask us")
    await expect(page.locator("[data-fd=bubble]")).to_have_css("background-color", "rgb(170, 51, 0)")
    host = page.locator("frontdesk-chat")
    await expect(host).to_have_attribute("data-position", "left")
    await expect(host).to_have_css("left", "20px")
    await launcher.click()  # opens the chat like the bubble
    await expect(page.locator("[data-fd=title]")).to_have_text("Talk to Acme")
    await expect(page.locator("[data-fd=avatar]")).to_have_attribute("src", base_of(client) + "/avatar.png")
    await expect(page.locator("[data-fd=panel] header")).to_have_css("background-color", "rgb(170, 51, 0)")
    await expect(launcher).to_be_hidden()


async def test_data_attributes_override_the_config(widget_app: WidgetApp, new_page: NewPage) -> None:
    _app, client = await widget_app(
        widget='color: "#aa3300"\ntitle: Talk to Acme\nlauncher_text: From config'
    )
    base = base_of(client)
    page = await new_page(base)
    await embed(
        page,
        base,
        'data-color="#118833" data-position="left" data-title="Hello from the shop" '
        'data-avatar="https://cdn.example.com/bot.png" data-launcher-text="Need help?"',
    )
    await page.goto("/shop.html")
    await expect(page.locator("[data-fd=launcher-text]")).to_have_text("Need help?")
    await expect(page.locator("[data-fd=bubble]")).to_have_css("background-color", "rgb(17, 136, 51)")
    await expect(page.locator("frontdesk-chat")).to_have_css("left", "20px")
    await page.locator("[data-fd=bubble]").click()
    await expect(page.locator("[data-fd=title]")).to_have_text("Hello from the shop")
    await expect(page.locator("[data-fd=avatar]")).to_have_attribute("src", "https://cdn.example.com/bot.png")


async def test_required_pre_chat_form_identifies_the_visitor(
    widget_app: WidgetApp, new_page: NewPage
) -> None:
    app, client = await widget_app(widget="pre_chat_form: required", team_in=True)
    page = await new_page(base_of(client), locale="en-US")
    identify: list[str] = []
    page.on("request", lambda r: identify.append(r.method) if r.url.endswith("/api/v1/identify") else None)
    await open_widget(page)
    form = page.locator("[data-fd=prechat]")
    await expect(form).to_be_visible()
    await expect(page.locator("[data-fd=form]")).to_be_hidden()  # no message before the form
    await expect(page.locator("[data-fd=prechat-skip]")).to_be_hidden()
    await page.locator("[data-fd=prechat-submit]").click()
    await expect(page.locator("[data-fd=error]")).to_have_text("Please enter your name.")
    assert identify == []

    await page.locator("[data-fd=prechat-name]").fill("Ada Lovelace")
    await page.locator("[data-fd=prechat-email]").fill("ada@example.com")
    await page.locator("[data-fd=prechat-submit]").click()
    await expect(form).to_be_hidden()
    await expect(page.locator("[data-fd=input]")).to_be_visible()
    assert identify == ["POST"]
    found = await rows(app.engine, select(Customer.display_name, Customer.email, Customer.claimed_email))
    assert [tuple(r) for r in found] == [("Ada Lovelace", None, "ada@example.com")]

    await page.locator("[data-fd=input]").fill("hello")
    await page.locator("[data-fd=input]").press("Enter")
    await wait_for(page, confirmed("hello"), "the first message after the form")
    await page.reload()
    await open_widget(page)
    await expect(form).to_be_hidden()  # answered once, never asked again


async def test_a_german_browser_gets_german_strings(widget_app: WidgetApp, new_page: NewPage) -> None:
    _app, client = await widget_app(widget="pre_chat_form: optional", team_in=True)
    page = await new_page(base_of(client), locale="de-DE")
    await embed(page, base_of(client), "")  # the demo page at / sets a data-title of its own
    await open_widget(page, "/shop.html")
    await expect(page.locator("[data-fd=title]")).to_have_text("Schreiben Sie uns")
    await expect(page.locator("[data-fd=welcome]")).to_contain_text("Hallo! Ich bin der Assistent")
    await expect(page.locator("[data-fd=availability]")).to_have_text("Angestrebte Antwortzeit: 2 Stunden.")
    await expect(page.locator("[data-fd=prechat-submit]")).to_have_text("Chat starten")
    await page.locator("[data-fd=prechat-skip]").click()
    await expect(page.locator("[data-fd=input]")).to_have_attribute(
        "placeholder", "Nachricht schreiben\u2026"
    )
    await expect(page.locator("[data-fd=send]")).to_have_text("Senden")
    await expect(page.locator("[data-fd=bubble]")).to_have_attribute("aria-label", "Chat schlie\u00dfen")
    # A German conversation: the text is detected as German, and the bot answers in German.
    text = "Wo ist meine Bestellung? Ich warte schon seit zwei Wochen darauf."
    await send(page, text)
    mine = await wait_for(page, confirmed(text), "the German message to be sent")
    answer = await wait_for(page, reply_after(mine["id"]), "the bot's answer")
    assert answer["text"].startswith("Das kann ich gern f\u00fcr Sie pr\u00fcfen"), answer["text"]


# The email channel (a port nothing listens on: nothing is mailed in this test, the copies are
# tests/email/test_reply_copies.py), so agents' replies the visitor misses are mailed.
EMAIL = "email:\n  address: support@acme.example\n  smtp:\n    host: 127.0.0.1\n    port: 9\n"


async def test_with_email_replies_the_capture_says_so_and_a_reply_shown_is_seen(
    widget_app: WidgetApp, new_page: NewPage
) -> None:
    app, client = await widget_app(team_in=False, extra=EMAIL)
    page = await new_page(base_of(client), locale="en-US", timezone_id="UTC")
    await open_widget(page)
    capture = page.locator("[data-fd=email-capture]")
    await expect(capture).to_contain_text("we'll send our reply there too if you're no longer here")
    await capture.locator("[data-fd=email-capture-input]").fill("ada@example.com")
    await capture.locator("[data-fd=email-capture-submit]").click()
    await expect(page.locator("[data-fd=email-capture-done]")).to_have_text(
        "Thanks! If you've left when we reply, we'll send it to ada@example.com."
    )
    await send(page, "I want to talk to a person")
    await wait_for(page, confirmed("I want to talk to a person"), "the hand-off request")
    [(number,)] = await rows(app.engine, select(Ticket.number))

    async def states() -> list[str]:
        return [
            s for (s,) in await rows(app.engine, select(ReplyCopy.state).order_by(ReplyCopy.interaction_id))
        ]

    await app.ticketing.desk.reply(int(number), "Hi, Alice here. Let me check.", agent="alice")
    await wait_for(
        page, lambda msgs: any(m["text"] == "Hi, Alice here. Let me check." for m in msgs), "reply"
    )
    await _until(lambda: states(), ["seen"])  # shown in the open chat: no copy by mail
    await page.locator("[data-fd=close]").click()
    await app.ticketing.desk.reply(int(number), "Found it: the parcel left today.", agent="alice")
    await expect(page.locator("[data-fd=badge]")).to_have_text("1")
    assert await states() == ["seen", "pending"]  # not seen while the chat is closed: mailed later
    await page.locator("[data-fd=bubble]").click()  # opening the chat shows it
    await _until(lambda: states(), ["seen", "seen"])


async def _until(read: Callable[[], Awaitable[list[str]]], want: list[str]) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while (got := await read()) != want:
        assert asyncio.get_running_loop().time() < deadline, got
        await asyncio.sleep(0.05)
