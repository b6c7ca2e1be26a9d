"""Socket Mode: the same listeners, fed over a WebSocket instead of signed HTTP requests."""

from __future__ import annotations

from tests.conftest import AppFactory
from tests.slack.fake_api import FakeSlack
from tests.slack.helpers import PATH, card_ts, is_card, start
from tests.slack.payloads import thread_message
from tests.slack.test_flow import HUMAN
from tests.webchat.helpers import eventually, history, send, start_session


async def test_thread_reply_over_socket_mode_reaches_the_customer(
    sqlite_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(
        sqlite_url, make_client, slack, mode="socket", app_token="xapp-1-A0FD-test", signing_secret="null"
    )
    assert (await client.post(PATH, data="{}")).status in (404, 405)  # no public endpoint
    visitor = await start_session(client)
    await send(client, visitor, HUMAN)
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    event = thread_message("Answered over the socket", thread_ts=ts)
    envelope = {"type": "events_api", "payload": event, "accepts_response_payload": False}
    ack = await slack.push({**envelope, "envelope_id": "env-1", "retry_attempt": 0, "retry_reason": ""})
    assert ack["envelope_id"] == "env-1"
    await slack.push({**envelope, "envelope_id": "env-2", "retry_attempt": 1, "retry_reason": "timeout"})

    async def delivered() -> bool:
        return sum(m["text"] == "Answered over the socket" for m in await history(client, visitor)) == 1

    await eventually(delivered)
    assert sum(m["text"] == "Answered over the socket" for m in await history(client, visitor)) == 1
    await client.close()  # stop the app (and its socket) while the fake Slack is still there
