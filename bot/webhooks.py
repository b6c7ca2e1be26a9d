"""Outgoing webhooks: the producer loop that queues deliveries and the dispatcher that sends them.

Both run beside message handling, never in it: the producer tails the durable records
(``ticketing/webhook_feed.py``) in the leader process, and the dispatcher claims delivery rows
with a lease (``ticketing/webhooks.py``) and POSTs them with the Standard Webhooks headers
(``bot/webhook_signing.py``), a bounded number at a time and each with a timeout, so a slow or
failing receiver only delays its own deliveries. A non-2xx answer, a timeout or a refused
connection is retried with capped exponential backoff plus jitter; after ``max_attempts`` the
delivery is dead-lettered (``frontdesk webhooks list --dead``, ``retry``). Delivery is at
least once: a process killed after the POST but before recording it sends again after the
lease, under the same ``webhook-id``. Bodies are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NoReturn

import aiohttp

from bot.metrics import Metrics
from bot.webhook_settings import WebhooksSettings
from bot.webhook_signing import headers
from core.loops import BackgroundTask, Wakeup, every, stop_after_round
from ticketing.time import utcnow
from ticketing.webhook_feed import WebhookFeed
from ticketing.webhooks import Claimed, Subscription, Subscriptions, WebhookDeliveries

__all__ = ["WebhookDispatcher", "WebhookProducer", "sync_config"]

_LOGGER = logging.getLogger(__name__)


async def sync_config(subscriptions: Subscriptions, settings: WebhooksSettings) -> None:
    """config.yaml's subscriptions into the table (those removed from the file are disabled)."""
    await subscriptions.sync_config(
        [(s.name, s.url, s.resolved_secret(), s.events) for s in settings.subscriptions]
    )


class WebhookProducer:
    """Queues deliveries for what happened since the feed's cursors; leader only."""

    def __init__(
        self,
        *,
        feed: WebhookFeed,
        subscriptions: Subscriptions,
        wake_dispatcher: Callable[[], None],
        interval: float = 0.5,
    ) -> None:
        self._feed = feed
        self._subscriptions = subscriptions
        self._wake = wake_dispatcher
        self._interval = interval
        self._task = BackgroundTask(name="webhook-producer")

    async def start(self) -> None:
        self._task.start(self._loop())

    async def stop(self) -> None:
        await self._task.stop()
        await self._feed.release()

    async def _loop(self) -> NoReturn:
        try:
            await self.run_once()
        except Exception as exc:
            self._failed(exc)
        await every(self._interval, self.run_once, failed=self._failed)

    def _failed(self, exc: Exception) -> None:
        _LOGGER.error("webhook producer failed; retrying in %.1fs", self._interval, exc_info=exc)

    async def run_once(self) -> int:
        """Queue everything new; returns how many deliveries were queued. With no subscription
        this reads one small table and nothing else."""
        subscriptions = await self._subscriptions.enabled()
        if not subscriptions or not await self._feed.lead():
            return 0
        queued = 0
        while True:
            read, added = await self._feed.run_once(subscriptions, now=utcnow(), limit=500)
            queued += added
            if added:
                self._wake()
            if read == 0:
                return queued


class WebhookDispatcher:
    def __init__(
        self,
        *,
        deliveries: WebhookDeliveries,
        subscriptions: Subscriptions,
        settings: WebhooksSettings,
        metrics: Metrics,
        sweep_interval: float = 1.0,
    ) -> None:
        self._deliveries = deliveries
        self._subscriptions = subscriptions
        self._settings = settings
        self._metrics = metrics
        self._sweep_interval = sweep_interval
        self._limit = asyncio.Semaphore(settings.concurrency)
        self._wake = Wakeup()
        self._loop = BackgroundTask(name="webhook-dispatcher")
        self._round = asyncio.Lock()
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self._session: aiohttp.ClientSession | None = None
        # Longer than any request, so a live process never loses its claim mid-request.
        self._lease = timedelta(seconds=settings.timeout_seconds * 2 + 10)

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self._settings.timeout_seconds),
            connector=aiohttp.TCPConnector(limit=self._settings.concurrency),
        )
        self._loop.start(every(self._sweep_interval, self.drain_once, wake=self._wake, failed=self._failed))

    async def stop(self, *, finish_within: float = 5.0) -> None:
        """Stop after the round in progress (``core.loops.stop_after_round``), then close the client."""
        try:
            await stop_after_round(self._loop, self._round, finish_within=finish_within)
        finally:
            if self._session is not None:
                await self._session.close()
                self._session = None

    def _failed(self, exc: Exception) -> None:
        _LOGGER.error("webhook dispatch failed; retrying in %.1fs", self._sweep_interval, exc_info=exc)

    async def drain_once(self) -> int:
        """Send everything due now; returns how many requests were made.

        The next batch is claimed while the last one is being sent (two at most in flight): rows
        being sent are ``sending``, so a later row of the same ticket is still held back."""
        async with self._round:
            subscriptions = {s.id: s for s in await self._subscriptions.enabled()}
            if not subscriptions:
                return 0
            attempted = 0
            batches: set[asyncio.Task[None]] = set()
            try:
                while True:
                    claimed = await self._deliveries.claim(limit=200, lease=self._lease)
                    if claimed:
                        attempted += len(claimed)
                        batches.add(asyncio.create_task(self._batch(claimed, subscriptions)))
                    elif not batches:
                        return attempted
                    if batches and (not claimed or len(batches) >= 2):
                        # Nothing more due until a batch is recorded (it may free later rows).
                        done, batches = await asyncio.wait(batches, return_when=asyncio.FIRST_COMPLETED)
                        for task in done:
                            task.result()
            finally:
                for task in batches:
                    task.cancel()
                await asyncio.gather(*batches, return_exceptions=True)

    async def _batch(self, claimed: list[Claimed], subscriptions: dict[int, Subscription]) -> None:
        """Send one claimed batch and record every outcome in one transaction."""
        outcomes = await asyncio.gather(*(self._send(item, subscriptions) for item in claimed))
        sent: list[int] = []
        retry: list[tuple[int, str, datetime]] = []
        dead: list[tuple[int, str]] = []
        for item, error in zip(claimed, outcomes, strict=True):
            sub = subscriptions.get(item.subscription_id)
            name = sub.name if sub is not None else "?"
            if error is None:
                sent.append(item.id)
            elif sub is None or item.attempts >= self._settings.max_attempts:
                _LOGGER.error("webhook %d (%s, %s): dead after %d attempts: %s",
                              item.id, name, item.msg_id, item.attempts, error)  # fmt: skip
                dead.append((item.id, error))
            else:
                _LOGGER.warning("webhook %d (%s, %s): %s; attempt %d, retrying",
                                item.id, name, item.msg_id, error, item.attempts)  # fmt: skip
                retry.append((item.id, error, utcnow() + self._backoff(item.attempts)))
        await self._deliveries.record(sent=sent, retry=retry, dead=dead)
        retried = {row_id for row_id, _error, _at in retry}
        for item, error in zip(claimed, outcomes, strict=True):
            sub = subscriptions.get(item.subscription_id)
            outcome = "sent" if error is None else ("retry" if item.id in retried else "dead")
            self._metrics.webhook_delivery(sub.name if sub is not None else "?", outcome)

    def _backoff(self, attempts: int) -> timedelta:
        base = self._settings.backoff_seconds * 2 ** min(attempts - 1, 30)
        delay = min(self._settings.backoff_cap_seconds, base)
        return timedelta(seconds=delay + self._rng.uniform(0, delay * 0.2))

    async def _send(self, item: Claimed, subscriptions: dict[int, Subscription]) -> str | None:
        """POST one delivery; None when the receiver took it (2xx), else what went wrong."""
        sub = subscriptions.get(item.subscription_id)
        if sub is None:
            return "subscription removed or disabled"
        assert self._session is not None, "start() the dispatcher first"
        async with self._limit:
            sent_headers = headers(sub.secret, item.msg_id, int(time.time()), item.body)
            try:
                async with self._session.post(sub.url, data=item.body.encode(), headers=sent_headers) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        return None
                    return f"HTTP {resp.status}"
            except TimeoutError:
                return f"no answer within {self._settings.timeout_seconds:g}s"
            except aiohttp.ClientError as exc:
                return type(exc).__name__
