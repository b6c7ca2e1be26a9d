"""The background-loop helper every service's loop runs on."""

from __future__ import annotations

import asyncio

from core.loops import BackgroundTask, Wakeup, every


async def test_a_failing_round_is_reported_and_the_loop_goes_on() -> None:
    rounds: list[int] = []
    failures: list[Exception] = []
    third = asyncio.Event()

    async def step() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise ValueError("the first round fails")
        if len(rounds) == 3:
            third.set()

    loop = BackgroundTask(name="test-loop")
    loop.start(every(0.001, step, failed=failures.append))
    await asyncio.wait_for(third.wait(), 5)
    await loop.stop()
    assert [type(e) for e in failures] == [ValueError]
    assert not loop.started


async def test_a_wake_cuts_the_wait_short_and_stop_is_prompt_after_it() -> None:
    wake = Wakeup()
    rounds = asyncio.Event()

    async def step() -> None:
        rounds.set()

    loop = BackgroundTask(name="test-loop")
    loop.start(every(30.0, step, failed=lambda _exc: None, wake=wake))
    await asyncio.sleep(0)
    wake.set()
    await asyncio.wait_for(rounds.wait(), 5)
    wake.set()
    await asyncio.wait_for(loop.stop(), 5)


async def test_stopping_a_task_never_started_does_nothing() -> None:
    await BackgroundTask(name="idle").stop()
