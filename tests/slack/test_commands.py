"""``/ticket`` answers (ephemeral) and the App Home tab."""

from __future__ import annotations

from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import post_command, post_event, start
from tests.slack.payloads import command, load
from tests.slack.test_actions import _row, _ticket


async def _ask(client, text: str, user: str = "U0ALICE") -> dict:  # type: ignore[no-untyped-def,type-arg]
    resp = await post_command(client, command(text, user=user))
    assert resp.status == 200, await resp.text()
    body: dict = await resp.json()  # type: ignore[type-arg]
    assert body.get("response_type", "ephemeral") == "ephemeral"
    return body


async def test_slash_commands(database_url: str, make_client: AppFactory, slack: FakeSlack) -> None:
    slack.add_user("U0BOB", "bob@example.com")
    app, client = await start(database_url, make_client, slack, allowed_users="[U0BOB]")
    await app.ticketing.roster.add_agent("bob", queues=["support"], display_name="Bob")
    number, _ts = await _ticket(app, client, slack)
    ref = f"T-{number}"

    listed = (await _ask(client, "list"))["text"]
    assert "Unassigned" in listed and ref in listed
    shown = (await _ask(client, f"show {ref}"))["text"]
    assert ref in shown and "created" in shown and "webchat" in shown
    found = (await _ask(client, "search broken parcel"))["text"]
    assert ref in found
    assert ref not in (await _ask(client, "search no such words anywhere"))["text"]

    assigned = (await _ask(client, f"assign {ref} <@U0BOB|bob>"))["text"]
    assert "bob" in assigned and (await _row(app))["assignee"] == "bob"
    assert ref in (await _ask(client, "list", user="U0BOB"))["text"]
    assert "unknown agent" in (await _ask(client, f"assign {ref} @nobody"))["text"]

    solved = (await _ask(client, f"solve {ref}"))["text"]
    assert "solved" in solved and (await _row(app))["status"] == "solved"
    assert "no ticket" in (await _ask(client, "show T-999999"))["text"]
    assert "Usage" in (await _ask(client, "frobnicate"))["text"]


async def test_slash_command_from_a_stranger(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    number, _ts = await _ticket(app, client, slack)
    answer = (await _ask(client, f"solve T-{number}", user="U0MALLORY"))["text"]
    assert "not allowed" in answer
    assert (await _row(app))["status"] == "new"


async def test_app_home_lists_the_agents_open_tickets(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    number, _ts = await _ticket(app, client, slack)
    await _ask(client, f"assign T-{number} @alice")
    assert (await post_event(client, load("event_app_home_opened"))).status == 200
    [publish] = await slack.wait_for("views.publish")
    assert publish.params["user_id"] == "U0ALICE"
    view = str(publish.params["view"])
    assert f"T-{number}" in view and "Your open tickets" in view and "<!date^" in view
