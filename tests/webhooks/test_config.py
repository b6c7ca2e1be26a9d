"""The ``webhooks:`` section is checked at load with file:line errors, and the SLA and CSAT events
of the audit trail become ``sla.*`` and ``csat.received`` deliveries."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, settings_from_text
from bot.webhook_signing import new_secret, sign, verify
from tests.conftest import AppFactory
from tests.webchat.helpers import UNHANDLED
from tests.webhooks.receiver import SECRET, Receiver
from tests.webhooks.test_delivery import config, message, number, start, until
from ticketing.ticket_rows import record
from ticketing.time import utcnow


def problems(text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        settings_from_text(text, env=env or {})
    return "\n".join(info.value.problems)


def hook(**fields: str) -> str:
    entry = {"name": "crm", "url": "http://127.0.0.1:9/h", "secret": SECRET, "events": "[ticket.created]"}
    entry.update(fields)
    lines = "".join(f"      {k}: {v}\n" for k, v in entry.items() if v != "-")
    return "webhooks:\n  subscriptions:\n    - " + lines.lstrip()


def test_a_valid_section_loads() -> None:
    settings = settings_from_text(hook(), env={})
    (sub,) = settings.webhooks.subscriptions
    assert sub.resolved_secret() == SECRET and sub.events == ("ticket.created",)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"events": "[ticket.opened]"},
            "config.yaml:6: webhooks.subscriptions[0].events: Value error, unknown event type(s) ticket.op",
        ),
        ({"secret": "hunter2"}, "whsec_<base64>"),
        ({"secret": "whsec_%%%"}, "not valid base64"),
        ({"secret": "-"}, "exactly one of secret and secret_env"),
        ({"secret": "-", "secret_env": "NOT_SET_ANYWHERE"}, "NOT_SET_ANYWHERE (secret_env) is not set"),
        ({"url": "ftp://x"}, "http:// or https://"),
    ],
)
def test_mistakes_are_reported_with_their_line(fields: dict[str, str], expected: str) -> None:
    assert expected in problems(hook(**fields))


def test_duplicate_names_are_refused() -> None:
    entry = hook().split("    - ", 1)[1]
    text = hook() + "    - " + entry
    assert "duplicate subscription name(s): crm" in problems(text)


def test_signatures_verify_and_a_changed_byte_does_not() -> None:
    secret = new_secret()
    signature = sign(secret, "msg_1", 1700000000, '{"a":1}')
    assert verify(secret, "msg_1", "1700000000", '{"a":1}', f"v1,bogus {signature}")
    assert not verify(secret, "msg_1", "1700000000", '{"a":2}', signature)
    assert not verify(new_secret(), "msg_1", "1700000000", '{"a":1}', signature)


async def test_sla_and_csat_events_are_delivered(database_url: str, make_client: AppFactory) -> None:
    receiver = Receiver()
    try:
        events = "[sla.warning, sla.breached, csat.received]"
        app = await start(database_url, make_client, config(await receiver.start(), events=events))
        await app.flow.handle(message(UNHANDLED, user="ana"))
        ticket = await app.ticketing.desk.get(await number(app))
        due = {"target": "first_reply", "due_at": "2026-12-06T10:00:00+00:00"}
        async with app.engine.begin() as conn:  # as ticketing/escalation.py and csat.py write them
            await record(conn, ticket["id"], "system", "sla_warning", due, utcnow())
            await record(conn, ticket["id"], "system", "sla_breach", due, utcnow())
            await record(conn, ticket["id"], "customer", "csat", {"score": 4, "comment": None}, utcnow())
        await until("three", lambda: len(receiver.unique()) == 3)
        kinds = [d.body["type"] for d in receiver.requests]
        assert kinds == ["sla.warning", "sla.breached", "csat.received"]  # one ticket: in order
        assert receiver.requests[1].body["data"]["sla"] == due
        assert receiver.requests[2].body["data"]["csat"] == {"score": 4, "comment": None}
        assert receiver.requests[2].body["data"]["ticket"]["reference"] == f"T-{ticket['number']}"
    finally:
        await receiver.close()
