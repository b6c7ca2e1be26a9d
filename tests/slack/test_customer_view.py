"""The customer at a glance: on the ticket card, in the "Customer" modal (``views.open`` with the
button's ``trigger_id``) and as ``/ticket customer T-1042``; customer text escaped for mrkdwn."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from connectors.slack.customer_blocks import customer_modal, glance_elements
from connectors.slack.glance import CustomerFacts, IdentityLine, PastTicket
from core.roles import Role
from tests.conftest import AppFactory
from tests.slack.fake_api import Call, FakeSlack
from tests.slack.helpers import card_fields, is_card, post_action, start
from tests.slack.payloads import button
from tests.slack.test_flow import HUMAN
from tests.slack.test_ticket_actions_all import _ask
from tests.webchat.helpers import Visitor, eventually, history, send, start_session
from ticketing.customer_edits import CustomerEdits
from ticketing.models import Interaction, Ticket

CONSOLE = "https://support.example.com"
NAME = "Ada <@channel> & Co"


async def _numbers(app: App) -> list[int]:
    async with app.engine.connect() as conn:
        return [int(n) for n in (await conn.execute(select(Ticket.number).order_by(Ticket.id))).scalars()]


async def _trend(app: App) -> str:
    """What the view must say of the customer's newest 20 messages, read from the stored analyses."""
    async with app.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Interaction.analysis)
                .where(Interaction.direction == "in")
                .order_by(Interaction.id.desc())
                .limit(20)
            )
        ).scalars()
        analyses = [a or {} for a in rows]
    negative = sum((a.get("sentiment") or {}).get("label") == "negative" for a in analyses)
    complaints = sum((a.get("complaint") or {}).get("is") is True for a in analyses)
    share = round(100 * negative / len(analyses))
    plural = "s" if complaints != 1 else ""
    return f"last {len(analyses)} messages: {share}% negative, {complaints} complaint{plural}"


async def _returning_customer(app: App, client: TestClient, slack: FakeSlack) -> tuple[int, int, Visitor]:
    """A customer whose first ticket was rated 4/5 and closed, writing again: (old, new) numbers."""
    visitor = await start_session(client)
    resp = await client.post("/api/v1/identify", json={"name": NAME}, headers=visitor.auth)
    assert resp.status == 200, await resp.text()
    await send(client, visitor, HUMAN)
    [first] = await _numbers(app)
    async with app.engine.connect() as conn:
        customer_id = (await conn.execute(select(Ticket.customer_id))).scalar_one()
    await CustomerEdits(engine=app.engine).edit(
        customer_id, add_tags=["segment:at-risk", "vip<1>"], attributes={"plan": "<gold> & more"}
    )
    assert "solved" in await _ask(client, f"solve T-{first}")

    async def asked() -> bool:
        return any(
            f"T-{first}" in m["text"] and m["direction"] == "out" for m in await history(client, visitor)
        )

    await eventually(asked)
    await send(client, visitor, "4 - quick, thanks")
    assert "status closed" in await _ask(client, f"status T-{first} closed")
    await send(client, visitor, HUMAN + " again, it broke")
    numbers = await _numbers(app)
    assert len(numbers) == 2
    return first, numbers[1], visitor


def _within_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        assert len(block.get("text", {}).get("text", "")) <= 3000
        assert len(block.get("elements", [])) <= 25
        if block["type"] == "context":
            assert len(block["elements"]) <= 10


async def test_card_and_customer_view_show_the_customer_at_a_glance(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack, console_url=CONSOLE + "/")
    first, second, _visitor = await _returning_customer(app, client, slack)
    trend = await _trend(app)

    [card] = await slack.wait_for(
        "chat.postMessage", where=lambda c: is_card(c) and f"T-{second}" in c.params["text"]
    )
    shown = card_fields(card)
    _within_limits(card.params["blocks"])
    for part in (
        ":bust_in_silhouette: on webchat", f"1 earlier ticket: T-{first} closed", f"CSAT 4/5 (T-{first})",
        "`segment:at-risk`", "`vip&lt;1&gt;`", "plan: &lt;gold&gt; &amp; more",
        f"<{CONSOLE}/console/tickets/T-{second}|Open in console>", "Ada &lt;@channel&gt; &amp; Co",
    ):  # fmt: skip
        assert json.dumps(part)[1:-1] in shown, part
    assert "<@channel>" not in shown and "<gold>" not in shown
    assert "ticket_customer" in shown and "ticket_status" in shown

    # The Customer button opens the modal with the press's trigger_id.
    press = button("ticket_customer", second)
    press["trigger_id"] = "6100000000001.1.customer"
    assert (await post_action(client, press)).status == 200
    [opened] = await slack.wait_for("views.open")
    assert opened.params["trigger_id"] == "6100000000001.1.customer"
    view = _view(opened)
    assert view["type"] == "modal" and view["title"]["text"] == "Customer"
    _within_limits(view["blocks"])
    text = json.dumps(view["blocks"][1:])  # after the header, whose plain text Slack never parses
    for part in (
        "Ada &lt;@channel&gt; &amp; Co", "webchat:", f"T-{first} [closed]", "CSAT 4/5", f"4/5 (T-{first})",
        trend, "`segment:at-risk`", "`vip&lt;1&gt;`", "plan: &lt;gold&gt; &amp; more",
        f"<{CONSOLE}/console/tickets/T-{second}|T-{second} in the console>",
    ):  # fmt: skip
        assert json.dumps(part)[1:-1] in text, part
    assert "<@channel>" not in text and "<gold>" not in text
    assert view["blocks"][0]["text"]["text"] == f"{NAME} · T-{second}"  # plain text: shown, never parsed

    # The same as an ephemeral answer to /ticket customer.
    answer = await _ask(client, f"customer T-{second}")
    for part in ("Ada &lt;@channel&gt; &amp; Co", f"T-{first} [closed]", trend, "`segment:at-risk`"):
        assert part in answer, part
    assert "<@channel>" not in answer

    # Both reads are on the access audit, like the console's and the API's (``frontdesk audit``).
    reads = [r for r in await app.access_audit.list() if r.action == "customer.read"]
    assert [(r.actor, r.source, r.detail) for r in reads] == [
        ("agent:alice", "slack", {"ticket": f"T-{second}"})
    ] * 2


async def test_who_may_see_the_customer(database_url: str, make_client: AppFactory, slack: FakeSlack) -> None:
    """Reading a customer needs ``customers:read``: a viewer may, a stranger or an agent without an
    account may not. A trigger Slack no longer accepts falls back to an ephemeral answer."""
    app, client = await start(database_url, make_client, slack, agents="{U0ALICE: alice, U0CARL: carl}")
    await app.ticketing.roster.add_agent("carl", queues=["support"])
    visitor = await start_session(client)
    await send(client, visitor, HUMAN)
    await slack.wait_for("chat.postMessage", where=is_card)
    [number] = await _numbers(app)

    assert "not allowed" in await _ask(client, f"customer T-{number}", user="U0MALLORY")
    assert "link-slack" in await _ask(client, f"customer T-{number}", user="U0CARL")
    assert (await post_action(client, button("ticket_customer", number, user="U0CARL"))).status == 200
    await slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == "U0CARL")
    assert not slack.calls_to("views.open")
    assert "no ticket T-999999" in await _ask(client, "customer T-999999")

    await app.accounts.set_role("alice", Role.VIEWER)
    assert "*Past tickets (0)*" in await _ask(client, f"customer T-{number}")
    late = button("ticket_customer", number)
    late["trigger_id"] = "expired.1"
    assert (await post_action(client, late)).status == 200
    [fallback] = await slack.wait_for("chat.postEphemeral", where=lambda c: c.params["user"] == "U0ALICE")
    assert "*Past tickets (0)*" in fallback.params["text"] and "console" not in fallback.params["text"]


def test_every_customer_supplied_text_is_escaped() -> None:
    evil = "<!channel> & <https://evil.example|click>"
    facts = CustomerFacts(
        number=7, name=evil, email="a&b@example.com", claimed_email="<x>@example.com", phone="<1>",
        identities=(IdentityLine("telegram", "<tg>", evil),),
        past_tickets=(PastTicket(5, evil, "solved", 2),), past_total=3, last_csat=(5, 2),
        messages=4, negative=3, complaints=1, tags=("segment:<vip>",), attributes={evil: evil},
    )  # fmt: skip
    for blocks in (
        glance_elements(facts, console_url=None),
        customer_modal(facts, console_url=None)["blocks"][1:],
    ):
        text = json.dumps(blocks)
        assert "<!channel>" not in text and "<https://evil" not in text and "<x>" not in text
        assert "&lt;!channel&gt; &amp; &lt;https://evil" in text
    line = json.dumps(glance_elements(facts, console_url=None))
    assert ":warning: last 4 messages: 75% negative, 1 complaint" in line
    assert "3 earlier tickets: T-5 solved" in line
    modal = json.dumps(customer_modal(facts, console_url=None)["blocks"][1:], ensure_ascii=False)
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in modal  # the name, whole
    assert "… and 2 more" in modal and "telegram: &lt;tg&gt;" in modal


def _view(call: Call) -> dict[str, Any]:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else dict(view)
