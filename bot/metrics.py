"""Prometheus metrics: what an operator watches the service with (docs/operations.md).

One :class:`Metrics` per app, on its own ``CollectorRegistry`` (tests build many apps in one
process; the global registry would mix them). The hot path only increments counters and
observes histograms (a few µs, no I/O); everything read from the database (outbox backlog, SLA
timers) is read when ``/metrics`` is scraped, never per message. ``/metrics`` is served on the
main port only when ``server.metrics`` is on, and only to a request carrying
``server.metrics_token`` as a bearer token.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from bot.config import Settings
from bot.http import json_error
from ticketing.outbox import Backlog
from ticketing.time import utcnow

__all__ = ["Metrics", "ScrapeSources", "metrics_handler", "webhook_middleware", "webhook_paths"]

_LOGGER = logging.getLogger(__name__)

# Seconds; analysis is ~1 ms in a warm worker, a decision (rules + the batched write) a few ms.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# An active SLA timer due for longer than this is "late": the sweeps are not keeping up.
LATE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one scrape read from the database and the workers; None where the read failed."""

    outbox: Backlog | None
    timers: tuple[int, int, int] | None
    workers: Mapping[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScrapeSources:
    """The reads a scrape makes, all from the app's own collaborators."""

    outbox: Callable[[], Awaitable[Backlog]]
    timers: Callable[[], Awaitable[tuple[int, int, int]]]
    workers: Callable[[], Mapping[str, int]]


class _ScrapeCollector(Collector):
    """Yields the gauges of the snapshot the handler has just read (prometheus-client's
    collectors are synchronous; the reads are async, so they happen before ``generate_latest``)."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def collect(self) -> Iterable[Metric]:
        snap = self.snapshot
        if snap is None:
            return
        yield from _outbox_families(snap.outbox)
        yield from _timer_families(snap.timers)
        workers = GaugeMetricFamily(
            "frontdesk_analysis_workers", "Analysis worker processes: wanted, ready, warm", labels=["kind"]
        )
        for kind, value in snap.workers.items():
            workers.add_metric([kind], value)
        yield workers
        up = GaugeMetricFamily("frontdesk_database_up", "1 if this scrape's database reads succeeded")
        up.add_metric([], 0 if snap.outbox is None or snap.timers is None else 1)
        yield up


def _outbox_families(backlog: Backlog | None) -> Iterator[Metric]:
    if backlog is None:
        return
    rows = GaugeMetricFamily("frontdesk_outbox_rows", "Outbox rows not yet sent, by state", labels=["state"])
    for state, count in backlog.rows.items():
        rows.add_metric([state], count)
    yield rows
    oldest = backlog.oldest_waiting_at
    age = 0.0 if oldest is None else max(0.0, (utcnow() - oldest).total_seconds())
    yield GaugeMetricFamily(
        "frontdesk_outbox_oldest_waiting_age_seconds",
        "Age of the oldest pending or sending outbox row (0 when none waits)",
        value=age,
    )


def _timer_families(timers: tuple[int, int, int] | None) -> Iterator[Metric]:
    if timers is None:
        return
    due, late, failed = timers
    yield GaugeMetricFamily(
        "frontdesk_sla_timers_due", "Active SLA timers whose due time has passed", value=due
    )
    yield GaugeMetricFamily(
        "frontdesk_sla_timers_late",
        f"Active SLA timers due for more than {LATE_AFTER.total_seconds():.0f}s (sweeps not keeping up)",
        value=late,
    )
    yield GaugeMetricFamily("frontdesk_sla_timers_failed", "SLA timers whose effect raised", value=failed)


class Metrics:
    """The app's counters and histograms; the flow, the dispatcher and the webhook middleware
    call the small methods below, which cache each label's child (no lookup lock per message)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._in = Counter("frontdesk_messages_in", "Inbound messages recorded", ["channel"], registry=r)
        self._out = Counter(
            "frontdesk_messages_out", "Replies delivered by the outbox", ["channel"], registry=r
        )
        self.analysis_seconds = Histogram(
            "frontdesk_analysis_seconds",
            "Analysis of one message (NLU)",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.decision_seconds = Histogram(
            "frontdesk_decision_seconds",
            "Rules decision and the batched write of one turn, until committed",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self._retries = Counter(
            "frontdesk_delivery_retries",
            "Outbox deliveries that failed and wait to retry",
            ["channel"],
            registry=r,
        )
        self._failures = Counter(
            "frontdesk_delivery_failures", "Outbox rows given up on (marked failed)", ["channel"], registry=r
        )
        self._webhooks = Counter(
            "frontdesk_webhook_requests",
            "Webhook requests by channel and outcome (accepted: 2xx, refused: anything else) and status",
            ["channel", "outcome", "status"],
            registry=r,
        )
        self._outgoing = Counter(
            "frontdesk_outgoing_webhooks",
            "Outgoing webhook attempts by subscription and outcome (sent, retry, dead)",
            ["subscription", "outcome"],
            registry=r,
        )
        self._scrape = _ScrapeCollector()
        r.register(self._scrape)
        self._children: dict[tuple[str, str], Counter] = {}

    def received(self, channel: str) -> None:
        self._child("in", self._in, channel).inc()

    def sent(self, channel: str, count: int = 1) -> None:
        self._child("out", self._out, channel).inc(count)

    def retried(self, channel: str) -> None:
        self._child("retry", self._retries, channel).inc()

    def failed(self, channel: str) -> None:
        self._child("fail", self._failures, channel).inc()

    def webhook(self, channel: str, status: int) -> None:
        outcome = "accepted" if 200 <= status < 300 else "refused"
        self._webhooks.labels(channel, outcome, str(status)).inc()

    def webhook_delivery(self, subscription: str, outcome: str) -> None:
        self._outgoing.labels(subscription, outcome).inc()

    def _child(self, kind: str, counter: Counter, channel: str) -> Counter:
        child = self._children.get((kind, channel))
        if child is None:
            child = self._children[(kind, channel)] = counter.labels(channel)
        return child

    async def render(self, sources: ScrapeSources) -> bytes:
        """Read the scrape-time gauges, then the whole registry in the text format. A failed
        database read leaves its gauges out and ``frontdesk_database_up`` at 0 (logged)."""
        outbox: Backlog | None = None
        timers: tuple[int, int, int] | None = None
        try:
            outbox = await sources.outbox()
            timers = await sources.timers()
        except Exception:
            _LOGGER.exception("metrics scrape: database read failed")
        self._scrape.snapshot = Snapshot(outbox=outbox, timers=timers, workers=sources.workers())
        return generate_latest(self.registry)  # synchronous: no other scrape interleaves


def metrics_handler(
    metrics: Metrics, sources: ScrapeSources, *, token: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``GET /metrics``, only with ``Authorization: Bearer <server.metrics_token>``."""
    expected = f"Bearer {token}".encode()

    async def handle(request: web.Request) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            response = json_error(
                401, "unauthorized", "send Authorization: Bearer <server.metrics_token> to read /metrics"
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        body = await metrics.render(sources)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return handle


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def webhook_middleware(
    metrics: Metrics, paths: Mapping[str, str]
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Counts the requests on the webhook paths (path → channel) by their final status, from
    outside every other middleware; other paths pass through with one dict lookup."""

    @web.middleware
    async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
        channel = paths.get(request.path)
        if channel is None:
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            metrics.webhook(channel, exc.status)
            raise
        except BaseException:
            metrics.webhook(channel, 500)
            raise
        metrics.webhook(channel, response.status)
        return response

    return count


def webhook_paths(settings: Settings) -> dict[str, str]:
    """The webhook paths served on this app's port, each with its channel's name."""
    paths: dict[str, str] = {}
    if settings.telegram is not None and settings.telegram.mode == "webhook":
        paths[settings.telegram.webhook_path] = "telegram"
    if settings.slack is not None and settings.slack.mode == "http":
        paths[settings.slack.path] = "slack"
    return paths
