"""Background loops: the one task a service starts and stops, and the rounds it runs.

The services that work in the background (outbox, WAL checkpoints, rulebook watcher, live
fanout, pollers, projections) each own one asyncio task. Starting it, cancelling it and
waiting for it to finish is written here once, so a stop is always prompt and complete: the
task is cancelled *and* awaited, so nothing it holds (a connection, a thread) outlives stop().
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn

__all__ = ["BackgroundTask", "Wakeup", "every", "stop_after_round"]


class BackgroundTask:
    """One named task that a service starts and stops; stop() cancels and awaits it."""

    __slots__ = ("_name", "_task")

    def __init__(self, *, name: str) -> None:
        self._name = name
        self._task: asyncio.Task[Any] | None = None

    @property
    def started(self) -> bool:
        """Started and not stopped since (the task may have ended on its own)."""
        return self._task is not None

    def start(self, run: Coroutine[Any, Any, object]) -> None:
        self._task = asyncio.create_task(run, name=self._name)

    async def stop(self) -> None:
        """Cancel the task and wait until it has finished; an error it ended with is raised."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Wakeup:
    """What a loop sleeps on between rounds: a timeout, cut short by :meth:`set`."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> None:
        """Return when set or after ``seconds``, whichever is first; clears the wake-up."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancel that arrives as
        # the event is set, and a stop() then waits out the app's whole stop timeout.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._event.wait()
        self._event.clear()


async def every(
    interval: float,
    step: Callable[[], Awaitable[object]],
    *,
    failed: Callable[[Exception], None],
    wake: Wakeup | None = None,
    retry_on: tuple[type[Exception], ...] = (Exception,),
) -> NoReturn:
    """Wait ``interval`` seconds (or until ``wake`` is set), run ``step``; forever.

    A round that raises one of ``retry_on`` is reported to ``failed`` and the next round runs
    as usual: one bad round (the database briefly away) must not end the service's loop.
    """
    while True:
        if wake is None:
            await asyncio.sleep(interval)
        else:
            await wake.wait(interval)
        try:
            await step()
        except retry_on as exc:
            failed(exc)


async def stop_after_round(loop: BackgroundTask, round_lock: asyncio.Lock, *, finish_within: float) -> None:
    """Stop ``loop`` once the round holding ``round_lock``, if any, has finished: a dispatcher's
    round records what it delivered only when it claims again, so cancelling it mid-send leaves
    delivered rows ``sending`` (sent again once their lease runs out) and claimed ones unsent until
    then. A round that takes longer than ``finish_within`` seconds is cancelled all the same."""
    finished = False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(finish_within):
            await round_lock.acquire()
            finished = True
    try:
        await loop.stop()
    finally:
        if finished:
            round_lock.release()
