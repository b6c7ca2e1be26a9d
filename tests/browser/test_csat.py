"""Issue 22 finding 5 in real headless Chromium: an agent solves the ticket, the widget shows the
solve message and then the rating question with 1-5 buttons, and a click on one is recorded."""

from __future__ import annotations

import os

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from tests.browser.test_widget import (
    CHROMIUM,
    TIMEOUT,
    Msg,
    ask,
    browser,  # noqa: F401  (the fixture)
    confirmed,
    open_widget,
    reply_after,
    wait_for,
)
from tests.conftest import AppFactory
from tests.webchat.helpers import rows
from ticketing.models import Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]


def _solve_then_question(msgs: list[Msg]) -> tuple[int, int] | None:
    solve = next((i for i, m in enumerate(msgs) if "marked as solved" in m["text"]), None)
    question = next((i for i, m in enumerate(msgs) if "How did we do with T-1001" in m["text"]), None)
    return (solve, question) if solve is not None and question is not None else None


async def test_solve_message_then_a_rating_button_that_is_recorded(
    browser: Browser,  # noqa: F811
    sqlite_url: str,
    make_client: AppFactory,
) -> None:
    app, client = await make_client(sqlite_url)
    context = await browser.new_context(base_url=str(client.make_url("")).rstrip("/"))
    context.set_default_timeout(TIMEOUT * 1000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        await open_widget(page)
        _mine, opened = await ask(page, "I need to change my delivery address")
        assert "T-1001" in opened["text"], opened
        await app.ticketing.desk.solve("T-1001", actor="agent:ana")
        solve, question = await wait_for(page, _solve_then_question, "the solve message and the question")
        assert solve < question  # the customer reads that it is solved, then is asked
        quick = page.locator("[data-fd=quick-reply]")
        await expect(quick).to_have_text(["1", "2", "3", "4", "5"])
        await quick.nth(4).click()
        mine = await wait_for(page, confirmed("5"), "the rating to be sent")
        thanks = await wait_for(page, reply_after(mine["id"]), "the thanks for the rating")
        assert thanks["text"] == app.ticketing.config().settings.csat.thanks
        await expect(quick).to_have_count(0)
        [ticket] = await rows(app.engine, select(Ticket.status, Ticket.csat_score))
        assert (ticket.status, ticket.csat_score) == ("solved", 5)
    finally:
        await context.close()
    assert errors == [], f"uncaught JavaScript errors in the page: {errors}"
