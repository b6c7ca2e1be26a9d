"""Group commit: many concurrent requests, one transaction.

SQLite has one writer, and every transaction costs a handful of round trips to the driver
thread; run one transaction per message under load and the event loop spends its time
handing the write lock around. Requests that arrive while a batch is being written are
collected and written together in the next batch, so the cost of a transaction is shared by
everyone waiting for it. There is no artificial delay: a lone request is written at once.

If a batch fails, its items are retried one by one so a single bad item fails alone.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupCommit"]

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    def __init__(
        self, run: Callable[[Sequence[T]], Awaitable[Sequence[R]]], *, name: str, max_batch: int = 200
    ) -> None:
        self._run = run
        self._name = name
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._worker is None or self._worker.done():
            # An empty context: the writer serves every caller, so it must not log with the
            # request and conversation ids (core/log_context.py) of whichever came first.
            self._worker = asyncio.create_task(
                self._drain(), name=f"group-commit:{self._name}", context=contextvars.Context()
            )
        # shield: a caller that goes away must not cancel a write other callers share.
        return await asyncio.shield(future)

    async def close(self) -> None:
        if self._worker is not None:
            await asyncio.shield(self._worker)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            await self._write(batch)

    async def _write(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            _LOGGER.warning("%s: batch of %d failed (%s); retrying one by one", self._name, len(batch), exc)
            for entry in batch:
                await self._write([entry])
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _settle(future: asyncio.Future[R], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
