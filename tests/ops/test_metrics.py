"""/metrics through the real app over loopback: counters, histograms and scrape-time gauges move
with real traffic (web chat, a failing outside channel, SLA timers, Telegram's webhook); the
endpoint refuses a request without the token and is not served when metrics are off; bad
settings are config errors that say what to fix."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, update

from bot.app import AppOverrides
from bot.config import ConfigError, settings_from_text
from connectors.telegram.connector import SECRET_HEADER
from core.contracts import InboundMessage
from tests.conftest import ROOT, AppFactory
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.updates import message as telegram_message
from tests.webchat.helpers import (
    FAQ_HOURS,
    UNHANDLED,
    FlakyChannel,
    eventually,
    new_id,
    rows,
    send,
    start_session,
)
from ticketing.models import OutboxItem, SlaTimer
from ticketing.time import utcnow

TOKEN = "metrics-token-0123456789"
METRICS = f"server:\n  metrics: true\n  metrics_token: {TOKEN}\n"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NAME = re.compile(r"frontdesk_[a-z_]+")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(client: TestClient) -> Samples:
    resp = await client.get("/metrics", headers=AUTH)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(await resp.text()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_web_chat_messages_move_counters_and_histograms(
    database_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(database_url, extra=METRICS)
    before = await scrape(client)
    assert value(before, "frontdesk_messages_in_total", channel="webchat") == 0
    visitor = await start_session(client)
    replies = 0
    for _ in range(3):
        replies += len((await send(client, visitor, FAQ_HOURS))["replies"])
    assert replies >= 3

    async def delivered() -> bool:
        return value(await scrape(client), "frontdesk_messages_out_total", channel="webchat") == replies

    await eventually(delivered)
    after = await scrape(client)
    assert value(after, "frontdesk_messages_in_total", channel="webchat") == 3
    assert value(after, "frontdesk_analysis_seconds_count") == 3
    assert value(after, "frontdesk_decision_seconds_count") == 3
    assert value(after, "frontdesk_decision_seconds_sum") > 0
    assert value(after, "frontdesk_decision_seconds_bucket", le="+Inf") == 3
    # A retried message (same client_message_id) is a duplicate: not counted again.
    await send(client, visitor, FAQ_HOURS, client_message_id="same")
    await send(client, visitor, FAQ_HOURS, client_message_id="same")
    assert value(await scrape(client), "frontdesk_messages_in_total", channel="webchat") == 4
    # Scrape-time gauges: nothing waits, workers as /healthz reports them, the database answered.
    assert value(after, "frontdesk_outbox_rows", state="pending") == 0
    assert value(after, "frontdesk_outbox_oldest_waiting_age_seconds") == 0
    assert value(after, "frontdesk_database_up") == 1
    health = await (await client.get("/healthz")).json()
    for kind in ("wanted", "ready", "warm"):
        assert value(after, "frontdesk_analysis_workers", kind=kind) == health["analysis_workers"][kind]
    assert app.metrics.registry is not REGISTRY  # its own, not prometheus-client's global one


async def test_outbox_depth_age_retries_and_failures(database_url: str, make_client: AppFactory) -> None:
    channel = FlakyChannel("loopback")
    overrides = AppOverrides(connectors={"loopback": channel}, outbox_sweep_interval=3600)
    app, client = await make_client(database_url, extra=METRICS, overrides=overrides)
    channel.down = True
    inbound = InboundMessage(
        channel="loopback", external_user_id="u-1", external_thread_id="t-1", text=FAQ_HOURS,
        idempotency_key=new_id(),
    )  # fmt: skip
    (reply,) = (await app.flow.handle(inbound)).replies
    row = OutboxItem.interaction_id == reply.interaction_id

    async def retried() -> bool:
        return value(await scrape(client), "frontdesk_delivery_retries_total", channel="loopback") == 1

    await eventually(retried)
    # The row waits; make it half a minute old and due again after its last allowed attempt.
    async with app.engine.begin() as conn:
        await conn.execute(update(OutboxItem).where(row).values(created_at=utcnow() - timedelta(seconds=30)))
    waiting = await scrape(client)
    assert value(waiting, "frontdesk_outbox_rows", state="pending") == 1
    assert value(waiting, "frontdesk_outbox_oldest_waiting_age_seconds") >= 30
    assert value(waiting, "frontdesk_messages_in_total", channel="loopback") == 1
    async with app.engine.begin() as conn:
        await conn.execute(update(OutboxItem).where(row).values(attempts=12, next_attempt_at=utcnow()))
    await app.dispatcher.drain_once()
    failed = await scrape(client)
    assert value(failed, "frontdesk_delivery_failures_total", channel="loopback") == 1
    assert value(failed, "frontdesk_outbox_rows", state="pending") == 0
    assert value(failed, "frontdesk_outbox_rows", state="failed") == 1
    assert value(failed, "frontdesk_outbox_oldest_waiting_age_seconds") == 0
    assert value(failed, "frontdesk_messages_out_total", channel="loopback") == 0


async def test_sla_timers_due_and_late(database_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(database_url, extra=METRICS)
    await send(client, await start_session(client), UNHANDLED)  # opens T-1001; intake starts timers

    async def taken_in() -> bool:
        return (await rows(app.engine, select(func.count()).select_from(SlaTimer)))[0][0] >= 2

    await eventually(taken_in)
    await app.ticketing.scheduler.stop()  # nobody sweeps now: what falls due stays due
    assert value(await scrape(client), "frontdesk_sla_timers_due") == 0
    [first, second] = [
        r[0] for r in await rows(app.engine, select(SlaTimer.id).order_by(SlaTimer.id).limit(2))
    ]
    async with app.engine.begin() as conn:
        await conn.execute(update(SlaTimer).where(SlaTimer.id == first).values(
            state="active", due_at=utcnow() - timedelta(seconds=5)))  # fmt: skip
        await conn.execute(update(SlaTimer).where(SlaTimer.id == second).values(
            state="active", due_at=utcnow() - timedelta(minutes=5)))  # fmt: skip
    samples = await scrape(client)
    assert value(samples, "frontdesk_sla_timers_due") == 2
    assert value(samples, "frontdesk_sla_timers_late") == 1
    assert value(samples, "frontdesk_sla_timers_failed") == 0


async def test_telegram_webhook_deliveries_are_counted_by_outcome(
    sqlite_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    _app, client = await make_client(sqlite_url, extra=METRICS + api.config(mode="webhook"))
    ok = await client.post(
        "/telegram/webhook", json=telegram_message(FAQ_HOURS), headers={SECRET_HEADER: "hook-secret_1"}
    )
    assert ok.status == 200, await ok.text()
    refused = await client.post(
        "/telegram/webhook", json=telegram_message(FAQ_HOURS), headers={SECRET_HEADER: "x"}
    )
    assert refused.status == 401
    samples = await scrape(client)
    assert (
        value(
            samples, "frontdesk_webhook_requests_total", channel="telegram", outcome="accepted", status="200"
        )
        == 1
    )
    assert (
        value(
            samples, "frontdesk_webhook_requests_total", channel="telegram", outcome="refused", status="401"
        )
        == 1
    )
    assert value(samples, "frontdesk_messages_in_total", channel="telegram") == 1


async def test_refused_without_the_token(sqlite_url: str, make_client: AppFactory) -> None:
    _app, client = await make_client(sqlite_url, extra=METRICS)
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Bearer {TOKEN}x"},
    ):
        resp = await client.get("/metrics", headers=headers)
        assert resp.status == 401
        body = await resp.json()
        assert "metrics_token" in body["error"]["message"]
        assert TOKEN not in await resp.text()
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


async def test_not_served_when_metrics_are_off(sqlite_url: str, make_client: AppFactory) -> None:
    _app, client = await make_client(sqlite_url)
    resp = await client.get("/metrics", headers=AUTH)
    assert resp.status == 404


@pytest.mark.parametrize(
    ("server", "fragment"),
    [
        ("  metrics: true\n", "server.metrics_token is not set"),
        ("  metrics: true\n  metrics_token: ''\n", "server.metrics_token is not set"),
        ("  metrics: true\n  metrics_token: s3cr3tabc\n", "at least 16"),
        ("  metrics: yes please\n", "server.metrics"),
    ],
)
def test_bad_metrics_settings_are_config_errors(server: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_text(f"server:\n{server}", filename="config.yaml", env={})
    [problem] = info.value.problems
    assert problem.startswith("config.yaml:"), problem
    assert fragment in problem, problem
    assert "s3cr3tabc" not in problem  # the token itself is never echoed


def test_the_token_can_come_from_the_environment() -> None:
    settings = settings_from_text(
        "server:\n  metrics: true\n  metrics_token: ${FRONTDESK_METRICS_TOKEN}\n",
        env={"FRONTDESK_METRICS_TOKEN": TOKEN},
    )
    assert settings.server.metrics_token is not None
    assert settings.server.metrics_token.get_secret_value() == TOKEN


async def test_dashboard_and_docs_name_only_exported_metrics(
    sqlite_url: str, make_client: AppFactory
) -> None:
    _app, client = await make_client(sqlite_url, extra=METRICS)
    resp = await client.get("/metrics", headers=AUTH)
    exported = await resp.text()
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    used = {
        name for panel in dashboard["panels"] for t in panel["targets"] for name in NAME.findall(t["expr"])
    }
    assert len(dashboard["panels"]) >= 10
    assert used and all(name in exported for name in used), used
    documented = set(NAME.findall((ROOT / "docs" / "operations.md").read_text(encoding="utf-8")))
    families = {f.name for f in text_string_to_metric_families(exported) if not f.name.endswith("_created")}
    assert {re.sub(r"_total$", "", n) for n in documented} >= families
