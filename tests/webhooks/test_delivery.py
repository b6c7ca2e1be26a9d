"""Outgoing webhooks end to end on the real app, SQLite and PostgreSQL: a local receiver on port
0 verifies every signature with its own implementation; retries after 500s and timeouts, the
dead-letter list, ordering per ticket, and no rows at all without a subscription."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bot.app import App, AppOverrides
from bot.webhook_settings import EVENT_TYPES as CONFIG_EVENT_TYPES
from core.contracts import InboundMessage
from tests.conftest import AppFactory
from tests.webchat.helpers import UNHANDLED, FlakyChannel, count, new_id
from tests.webhooks.receiver import SECRET, Receiver
from ticketing.models import WebhookDelivery
from ticketing.webhooks import EVENT_TYPES

ALL = f"[{', '.join(EVENT_TYPES)}]"


def config(url: str, *, events: str = ALL, attempts: int = 4, timeout: float = 2.0) -> str:
    return f"""
webhooks:
  backoff_seconds: 0.05
  backoff_cap_seconds: 0.2
  max_attempts: {attempts}
  timeout_seconds: {timeout}
  poll_interval: 0.05
  subscriptions:
    - name: crm
      url: {url}
      secret: {SECRET}
      events: {events}
"""


def message(text: str, *, user: str) -> InboundMessage:
    return InboundMessage(
        channel="loopback",
        external_user_id=user,
        external_thread_id=user,
        text=text,
        idempotency_key=new_id("k"),
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    yield r
    await r.close()


async def start(database_url: str, make_client: AppFactory, extra: str) -> App:
    overrides = AppOverrides(connectors={"loopback": FlakyChannel("loopback")}, webhook_sweep_interval=0.05)
    app, _client = await make_client(database_url, extra=extra, overrides=overrides)
    return app


async def until(what: str, check: Callable[[], bool | Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"not reached within {within}s: {what}"
        await asyncio.sleep(0.02)


def test_the_config_and_the_store_know_the_same_event_types() -> None:
    assert CONFIG_EVENT_TYPES == EVENT_TYPES


async def test_every_delivery_is_signed_and_carries_the_documented_payload(
    database_url: str, make_client: AppFactory, receiver: Receiver
) -> None:
    app = await start(database_url, make_client, config(await receiver.start()))
    result = await app.flow.handle(message(UNHANDLED, user="ana"))
    await until("ticket.created and two messages", lambda: len(receiver.unique()) >= 3)
    ticket = await app.ticketing.desk.set_priority(await number(app), "high", actor="agent:bo")
    await until("ticket.updated", lambda: len(receiver.of_type("ticket.updated")) == 1)

    assert receiver.requests and all(d.valid for d in receiver.requests)
    assert all(abs(d.timestamp - time.time()) < 60 for d in receiver.requests)
    assert all(d.msg_id.startswith("msg_") for d in receiver.requests)
    (created,) = receiver.of_type("ticket.created")
    assert created.body["data"]["ticket"]["reference"] == f"T-{ticket['number']}"
    assert created.body["data"]["ticket"]["customer_id"] == ticket["customer_id"]
    assert created.body["timestamp"].endswith("Z")
    texts = {
        d.body["data"]["message"]["direction"]: d.body["data"]["message"]
        for d in receiver.of_type("message.created")
    }
    assert texts["in"]["text"] == UNHANDLED and texts["in"]["id"] == result.interaction_id
    assert texts["out"]["ticket_id"] == ticket["id"]
    (updated,) = receiver.of_type("ticket.updated")
    assert updated.body["data"]["change"] == {"field": "priority", "from": "normal", "to": "high"}
    assert updated.body["data"]["ticket"]["priority"] == "high"
    await until("recorded", lambda: _all_sent(app))


async def _all_sent(app: App) -> bool:
    return await count(app.engine, WebhookDelivery, WebhookDelivery.state != "sent") == 0


async def test_a_500_and_a_timeout_are_retried_under_the_same_id(
    database_url: str, make_client: AppFactory, receiver: Receiver
) -> None:
    # First answer 500, second too slow (past the 0.3 s timeout), third accepted.
    receiver.answer = lambda n: {0: 500, 1: -1.0}.get(n, 200)
    url = await receiver.start()
    app = await start(database_url, make_client, config(url, events="[ticket.created]", timeout=0.3))
    await app.flow.handle(message(UNHANDLED, user="ana"))
    await until("accepted", lambda: len(receiver.requests) >= 3)
    await until("recorded as sent", lambda: _states(app, {"sent": 1}))
    assert len({d.msg_id for d in receiver.requests}) == 1
    assert len({str(d.body) for d in receiver.requests}) == 1  # byte-identical bodies
    assert all(d.valid for d in receiver.requests)


async def test_after_max_attempts_a_delivery_is_dead_lettered_and_retry_sends_it(
    database_url: str, make_client: AppFactory, receiver: Receiver
) -> None:
    failing = True
    receiver.answer = lambda _n: 500 if failing else 204
    app = await start(
        database_url, make_client, config(await receiver.start(), events="[ticket.created]", attempts=3)
    )
    await app.flow.handle(message(UNHANDLED, user="ana"))
    await until("dead after 3 attempts", lambda: _states(app, {"dead": 1}))
    assert len(receiver.requests) == 3
    (dead,) = await app.webhook_deliveries.rows(states=("dead",))
    assert dead.last_error == "HTTP 500" and dead.attempts == 3
    failing = False
    assert await app.webhook_deliveries.retry(all_dead=True) == 1
    app.webhooks.wake()
    await until("sent after retry", lambda: _states(app, {"sent": 1}))
    assert {d.msg_id for d in receiver.requests} == {dead.msg_id}


async def test_a_ticket_s_events_arrive_in_order_even_when_one_is_retried(
    database_url: str, make_client: AppFactory, receiver: Receiver
) -> None:
    receiver.answer = lambda n: 500 if n == 0 else 200  # the ticket's first event fails once
    app = await start(
        database_url, make_client, config(await receiver.start(), events="[ticket.created, ticket.updated]")
    )
    await app.flow.handle(message(UNHANDLED, user="ana"))
    reference = await number(app)
    for priority in ("high", "urgent", "low", "normal"):
        await app.ticketing.desk.set_priority(reference, priority, actor="agent:bo")
    await until("all five", lambda: len(receiver.unique()) == 5)
    seen = [d.body for d in receiver.requests if d.body["type"] == "ticket.updated"]
    assert [b["data"]["change"]["to"] for b in seen] == ["high", "urgent", "low", "normal"]
    assert receiver.requests[0].body["type"] == "ticket.created"
    first_accepted = [d.msg_id for d in receiver.requests].index(receiver.requests[0].msg_id, 1)
    assert all(d.body["type"] == "ticket.created" for d in receiver.requests[: first_accepted + 1])


async def test_without_a_subscription_no_delivery_rows_are_written(
    database_url: str, make_client: AppFactory
) -> None:
    app = await start(database_url, make_client, "")
    for n in range(3):
        await app.flow.handle(message(UNHANDLED, user=f"u{n}"))
    await app.webhook_producer.run_once()
    assert await count(app.engine, WebhookDelivery) == 0


async def test_a_subscription_added_at_run_time_gets_what_happens_after_it(
    database_url: str, make_client: AppFactory, receiver: Receiver
) -> None:
    app = await start(database_url, make_client, "")
    await app.flow.handle(message(UNHANDLED, user="before"))
    await app.webhook_producer.run_once()  # no subscription: nothing read, nothing queued
    # What the REST API will call:
    await app.webhook_subscriptions.put(name="api-hook", url=await receiver.start(), secret=SECRET,
                                        events=["ticket.created"])  # fmt: skip
    await app.flow.handle(message(UNHANDLED, user="after"))
    await until("the new ticket", lambda: len(receiver.unique()) == 1)
    await asyncio.sleep(0.3)
    (only,) = receiver.unique().values()
    assert only.valid and only.body["data"]["ticket"]["number"] == await number(app, last=True)
    assert await app.webhook_subscriptions.remove("api-hook")
    assert [s.source for s in await app.webhook_subscriptions.all()] == ["api"]
    assert await app.webhook_subscriptions.enabled() == []


async def test_a_slow_receiver_does_not_hold_up_messages(
    database_url: str, make_client: AppFactory, receiver: Receiver
) -> None:
    receiver.answer = lambda _n: -5.0  # every request waits 5 s (past the 2 s timeout)
    app = await start(database_url, make_client, config(await receiver.start()))
    await app.flow.handle(message(UNHANDLED, user="first"))
    await until("a request hangs", lambda: len(receiver.requests) > 0)
    started = time.monotonic()
    for n in range(5):
        await app.flow.handle(message(UNHANDLED, user=f"u{n}"))
    assert time.monotonic() - started < 2.0  # not a timed assertion on speed: on the 5 s hang


async def test_an_erasure_is_sent_to_subscribers(
    database_url: str, make_client: AppFactory, receiver: Receiver, tmp_path: Path
) -> None:
    from ticketing.customer_admin import CustomerAdmin

    hooks = "[customer.erased, message.created, ticket.created]"
    app = await start(database_url, make_client, config(await receiver.start(), events=hooks))
    await app.flow.handle(message(UNHANDLED, user="ana"))
    await until("three sent", lambda: _states(app, {"sent": 3}))
    ticket = await app.ticketing.desk.get(await number(app))
    await CustomerAdmin(engine=app.engine).erase(ticket["customer_id"], actor="agent:bo")
    await until("customer.erased", lambda: len(receiver.of_type("customer.erased")) == 1)
    await until("only the erasure is kept", lambda: _states(app, {"sent": 1}))
    (erased,) = receiver.of_type("customer.erased")
    assert erased.body["data"]["customer_id"] == ticket["customer_id"]
    assert erased.body["data"]["tickets"] == [ticket["id"]]


async def number(app: App, *, last: bool = False) -> int:
    tickets = await app.ticketing.desk.find()
    if not last:
        (ticket,) = tickets
        return int(ticket["number"])
    return max(int(t["number"]) for t in tickets)


async def _states(app: App, expected: dict[str, int]) -> bool:
    return await app.webhook_deliveries.counts() == expected
