"""Delivering outbox rows through their channel's connector, with retries.

The flow wakes the dispatcher after each commit, so a web chat reply is delivered within a
loop iteration; a periodic sweep picks up anything left (a restart, a lease that ran out, a
retry whose time has come). A channel that is down or rate-limited raises DeliveryError and
its rows wait with capped exponential backoff plus jitter; nothing is dropped until
``max_attempts`` is exhausted, and then the row is kept as ``failed`` for operators.

Rows of one conversation are delivered one after the other, in the order they were written
(rows of different conversations concurrently): a solve message and the rating question after
it, a reply split over two rows, must not overtake each other on Telegram or in a mailbox. If a
row fails, the conversation's later rows of the round wait until its retry.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.delivery import outbound_from_payload
from bot.metrics import Metrics
from connectors.base import Connector, DeliveryError
from core.loops import BackgroundTask, Wakeup, every, stop_after_round
from ticketing.outbox import Claimed, OutboxStore, backoff
from ticketing.time import utcnow

__all__ = ["OutboxDispatcher"]

_LOGGER = logging.getLogger(__name__)


class OutboxDispatcher:
    def __init__(
        self,
        *,
        store: OutboxStore,
        connectors: Mapping[str, Connector],
        sweep_interval: float = 1.0,
        max_attempts: int = 12,
        concurrency: int = 32,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._connectors = connectors
        self._sweep_interval = sweep_interval
        self._max_attempts = max_attempts
        self._limit = asyncio.Semaphore(concurrency)
        self._wake = Wakeup()
        self._loop = BackgroundTask(name="outbox-dispatcher")
        self._round = asyncio.Lock()  # held for a whole round (claim, deliver, record)
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self._metrics = metrics or Metrics()  # the app's; a private one for a bare dispatcher

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._loop.start(every(self._sweep_interval, self.drain_once, wake=self._wake, failed=self._failed))

    async def stop(self, *, finish_within: float = 5.0) -> None:
        """Stop after the round in progress, if any, has finished (``core.loops.stop_after_round``)."""
        await stop_after_round(self._loop, self._round, finish_within=finish_within)

    async def drain_once(self) -> int:
        """Deliver everything due now; returns how many rows were attempted. Rounds never
        overlap: a CLI's final drain and the background loop's take turns."""
        async with self._round:
            return await self._drain()

    async def _drain(self) -> int:
        attempted = 0
        sent: list[tuple[int, str | None]] = []
        channels: dict[int, str] = {}
        served = frozenset(self._connectors)  # rows of other channels wait for a process that has them
        while True:
            # Records `sent` as it claims.
            claimed = await self._store.exchange(sent, channels=served, limit=200)
            for row_id, _external in sent:  # counted once the store has marked them sent
                self._metrics.sent(channels[row_id])
            if not claimed:
                return attempted
            attempted += len(claimed)
            channels = {item.id: item.channel for item in claimed}
            conversations: dict[tuple[str, object], list[Claimed]] = {}
            for item in claimed:  # claimed in id order: each list is in the order written
                key = (item.channel, item.payload.get("conversation_id", item.id))
                conversations.setdefault(key, []).append(item)
            results = await asyncio.gather(*(self._in_order(rows) for rows in conversations.values()))
            sent = [r for rows in results for r in rows]

    async def _in_order(self, items: Sequence[Claimed]) -> list[tuple[int, str | None]]:
        """Deliver one conversation's rows in order; after a failure the rest wait for its retry."""
        sent: list[tuple[int, str | None]] = []
        for index, item in enumerate(items):
            result = await self._deliver(item)
            if isinstance(result, tuple):
                sent.append(result)
                continue
            if result is not None:  # retried at that time: the later rows must not overtake it
                for later in items[index + 1 :]:
                    await self._store.retry_later(
                        later.id, error=f"waits for outbox {item.id} of its conversation", at=result
                    )
                return sent
        return sent

    def _failed(self, exc: Exception) -> None:
        _LOGGER.error("outbox sweep failed; retrying in %.1fs", self._sweep_interval, exc_info=exc)

    async def _deliver(self, item: Claimed) -> tuple[int, str | None] | datetime | None:
        """``(id, external id)`` once sent; the retry time if it is to be tried again; None if
        it was given up."""
        connector = self._connectors.get(item.channel)
        if connector is None:
            await self._store.give_up(
                item.id, error=f"no connector for channel {item.channel!r} is configured"
            )
            self._metrics.failed(item.channel)
            _LOGGER.error("outbox %d: channel %r is not configured; marked failed", item.id, item.channel)
            return None
        async with self._limit:
            try:
                external_id = await connector.send(outbound_from_payload(item.payload))
            except DeliveryError as exc:
                return await self._retry(item, str(exc), exc.retry_after)
            except Exception as exc:
                _LOGGER.exception("outbox %d: %s connector failed unexpectedly", item.id, item.channel)
                return await self._retry(item, f"{type(exc).__name__}", None)
        return (item.id, external_id)

    async def _retry(self, item: Claimed, error: str, retry_after: float | None) -> datetime | None:
        if item.attempts >= self._max_attempts:
            _LOGGER.error("outbox %d: giving up after %d attempts: %s", item.id, item.attempts, error)
            await self._store.give_up(item.id, error=error)
            self._metrics.failed(item.channel)
            return None
        delay = backoff(item.attempts)
        if retry_after is not None:
            delay = max(delay, timedelta(seconds=retry_after))
        delay += timedelta(seconds=self._rng.uniform(0, delay.total_seconds() * 0.2))
        _LOGGER.warning(
            "outbox %d: %s; retry %d in %.0fs", item.id, error, item.attempts, delay.total_seconds()
        )
        at = utcnow() + delay
        await self._store.retry_later(item.id, error=error, at=at)
        self._metrics.retried(item.channel)
        return at
