"""The console in real headless Chromium: each role signs in through the form, opens every page,
reads the dashboard's numbers for data this test created, filters tickets and (agents) acts on
one; the pages pass an axe-core check with no serious or critical violations, and a screenshot
of each page is kept as a test artifact (``var/test-artifacts/console/``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from bot.segments import run_segments
from core.roles import Role
from tests.accounts.helpers import PASSWORD
from tests.api.helpers import Api, start_api
from tests.browser.test_widget import (
    CHROMIUM,
    browser,  # noqa: F401  (the fixture)
)
from tests.conftest import AppFactory
from tests.webchat.helpers import ask
from ticketing.segments import Segments

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("FRONTDESK_ARTIFACTS", ROOT / "var" / "test-artifacts")) / "console"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
MISSED = ("do you sell bicycles in canada", "can I buy a bicycle in canada", "what is the capital of peru",
          "capital city of peru?")  # fmt: skip


@pytest.fixture
async def desk(sqlite_url: str, make_client: AppFactory) -> Api:
    api = await start_api(sqlite_url, make_client)
    first = await api.open_ticket("My parcel arrived broken", priority="high", tags=("damaged",))
    await api.say(first, "It is the second time this happens")
    await api.open_ticket("Where is my refund?")
    await api.app.ticketing.desk.set_status(first, "solved", actor="account:agent1")
    for text in MISSED:  # through the web chat and the example model: the bot misses these
        await ask(api.client, text)
    await api.app.report_rollups.catch_up()
    await run_segments(Segments(engine=api.app.engine))
    return api


async def signed_in(browser: Browser, api: Api, role: Role, **context: Any) -> Page:  # noqa: F811
    # bypass_csp: axe-core is injected as an inline script, which the console's policy forbids
    ctx = await browser.new_context(
        base_url=str(api.client.make_url("")).rstrip("/"), bypass_csp=True, **context
    )
    page = await ctx.new_page()
    await page.goto("/console/tickets")
    assert "/console/login" in page.url
    await page.get_by_label("Account").fill(f"{role.value}1")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    return page


async def accessible(page: Page) -> None:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"
    )
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not serious, serious


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_works_the_console(browser: Browser, desk: Api, role: Role) -> None:  # noqa: F811
    page = await signed_in(browser, desk, role)
    await page.get_by_role("link", name="Dashboard").click()
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    await expect(page.locator("#total-opened")).to_have_text("2")
    await expect(page.locator("#total-solved")).to_have_text("1")
    await expect(page.locator("#total-messages")).to_have_text("7")
    await expect(page.locator("#total-conversations")).to_have_text("6")
    await expect(page.locator("body")).to_have_attribute("data-charts-drawn", "1")
    await accessible(page)
    await shot(page, f"dashboard-{role.value}")

    await page.get_by_label("Range").select_option("7d")
    await page.get_by_role("button", name="Show").click()
    await expect(page.locator("#total-opened")).to_have_text("2")

    await page.get_by_role("link", name="Tickets").click()
    rows = page.locator("table.tickets tbody tr")
    await expect(rows).to_have_count(2)
    await expect(page.locator("body")).to_have_attribute("data-settled", "1")  # htmx bound the search
    await page.get_by_label("Search").fill("refund")  # typing filters in place (htmx), no button
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Where is my refund?")
    await page.get_by_label("Search").fill("")
    await page.get_by_label("Status").select_option("solved")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    assert "status=solved" in page.url
    await expect(rows.first).to_contain_text("My parcel arrived broken")
    await accessible(page)
    await shot(page, f"tickets-{role.value}")

    await rows.first.get_by_role("link").click()
    await expect(page.locator(".transcript")).to_contain_text("It is the second time this happens")
    await accessible(page)
    await shot(page, f"ticket-{role.value}")
    ticket_url = page.url
    await page.locator("dl.facts a[href^='/console/customers/']").click()
    await expect(page.get_by_role("heading", name="Tickets (1)")).to_be_visible()
    await accessible(page)
    await shot(page, f"customer-{role.value}")
    await page.locator("a[href^='/console/tickets/T-']").first.click()
    await expect(page.locator(".transcript")).to_contain_text("It is the second time this happens")
    await page.get_by_role("link", name="Customers").click()
    await expect(page.locator("table.customers tbody tr")).to_have_count(6)
    await accessible(page)
    await shot(page, f"customers-{role.value}")
    await page.get_by_role("link", name="Segments").click()
    await expect(page.locator("#segments-summary")).to_contain_text("6 customers in")
    await accessible(page)
    await shot(page, f"segments-{role.value}")
    await page.get_by_role("link", name="Improve the bot").click()
    await expect(page.locator("section.topic")).not_to_have_count(0)
    await expect(page.locator("#missed-summary")).to_contain_text("of the 7 newest customer messages")
    await accessible(page)
    await shot(page, f"improve-{role.value}")
    await page.get_by_role("button", name="Replay").click()
    await expect(page.locator("#replay-summary")).to_contain_text("0 of 7 messages")
    await page.goto(ticket_url)
    if role is Role.VIEWER:
        await expect(page.get_by_role("button", name="Send reply")).to_have_count(0)
        return
    await page.get_by_label("Status").select_option("open")
    await page.get_by_label("Add tags (comma-separated)").fill("followup")
    await page.get_by_role("button", name="Apply changes").click()
    await expect(page.locator("#ticket-status")).to_have_text("open")
    await expect(page.locator("#ticket-tags")).to_contain_text("followup")
    await page.get_by_label("Reply to the customer (on their channel)").fill("We are sending a new one.")
    await page.get_by_role("button", name="Send reply").click()
    await expect(page.locator(".transcript")).to_contain_text("We are sending a new one.")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_phone_width(browser: Browser, desk: Api) -> None:  # noqa: F811
    page = await signed_in(browser, desk, Role.AGENT, viewport={"width": 390, "height": 844})
    await page.goto("/console/")
    await expect(page.locator("#total-opened")).to_have_text("2")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone: {width} px"
    await shot(page, "dashboard-phone")


async def test_keyboard_only(browser: Browser, desk: Api) -> None:  # noqa: F811
    """Sign in and reach a ticket with the keyboard alone: the skip link first, then the forms."""
    ctx = await browser.new_context(base_url=str(desk.client.make_url("")).rstrip("/"))
    page = await ctx.new_page()
    await page.goto("/console/login")
    assert await page.evaluate("document.activeElement.id") == "name"  # autofocus
    await page.keyboard.type("agent1")
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for _ in range(40):  # tab to the Tickets link in the navigation
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.textContent") == "Tickets":
            break
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    await page.goto("/console/tickets")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await page.keyboard.press("Enter")  # focus moves to the page's content
    assert await page.evaluate("document.activeElement.id") == "main"
    for _ in range(40):  # on to the first ticket's link, and open it
        await page.keyboard.press("Tab")
        if (await page.evaluate("document.activeElement.textContent")).startswith("T-"):
            break
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Transcript")).to_be_visible()
