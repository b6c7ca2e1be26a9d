"""Slack agents act with their account's permissions: a viewer's press is refused, ephemerally,
and an account linked with ``frontdesk accounts link-slack`` names the agent of a Slack user."""

from __future__ import annotations

from bot.app import App
from core.roles import Role
from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import PASSWORD, post_action, start
from tests.slack.payloads import button
from tests.slack.test_actions import _row, _ticket
from tests.webchat.helpers import eventually


async def test_a_viewer_press_is_refused_and_writes_nothing(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    await app.accounts.set_role("alice", Role.VIEWER)
    number, _ts = await _ticket(app, client, slack)
    assert (await post_action(client, button("ticket_resolve", number))).status == 200
    [answer] = await slack.wait_for("chat.postEphemeral")
    assert answer.params["user"] == "U0ALICE"
    assert "viewer and may not do tickets:write" in answer.params["text"]
    assert (await _row(app))["status"] == "new"

    await app.accounts.set_role("alice", Role.AGENT)  # the role is read at every press
    await app.accounts.set_disabled("alice", True)
    assert (await post_action(client, button("ticket_resolve", number))).status == 200
    await slack.wait_for("chat.postEphemeral", where=lambda c: "disabled" in c.params["text"])
    assert (await _row(app))["status"] == "new"


async def test_an_agent_without_an_account_is_told_to_get_one(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack, agents="{U0ALICE: alice, U0CARL: carl}")
    await app.ticketing.roster.add_agent("carl", queues=["support"])
    number, _ts = await _ticket(app, client, slack)
    assert (await post_action(client, button("ticket_claim", number, user="U0CARL"))).status == 200
    await slack.wait_for("chat.postEphemeral", where=lambda c: "link-slack" in c.params["text"])
    assert (await _row(app))["assignee"] is None


async def test_link_slack_names_the_agent_of_a_slack_user(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    """U0DORA is allowed but neither mapped nor matched by e-mail: only the account link says
    which agent she is."""
    app, client = await start(database_url, make_client, slack, allowed_users="[U0DORA, U0ALICE]")
    await app.ticketing.roster.add_agent("dora.k", queues=["support"], display_name="Dora")
    account = await app.accounts.add("dora", role=Role.AGENT, password=PASSWORD)
    await link(app, "dora", "U0DORA", agent="dora.k", account_id=account.id)
    number, _ts = await _ticket(app, client, slack)
    assert (await post_action(client, button("ticket_claim", number, user="U0DORA"))).status == 200

    async def claimed() -> bool:
        return bool((await _row(app))["assignee"] == "dora.k")

    await eventually(claimed)


async def link(app: App, name: str, user: str, *, agent: str, account_id: int) -> None:
    """What ``frontdesk accounts link-slack NAME USER --agent AGENT`` does (tests/accounts)."""
    await app.accounts.link_slack(name, user)
    assert await app.ticketing.roster.link_account(agent, account_id)
