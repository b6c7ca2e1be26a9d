"""The analysis worker processes as the service sees them: start one, write to it, retire it.

:class:`~bot.analysis_workers.AnalysisWorkers` decides what each worker gets and what becomes
of its messages; this module holds the bookkeeping of one process and its pipe, so that a
killed worker is also reaped (a process nobody waits for stays a zombie, and its pipe
transport is never closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from bot.analysis_process import HEADER

if TYPE_CHECKING:
    from nlp.types import Analysis, AnalysisContext, Analyzer

__all__ = ["Child", "Item", "Request", "retire", "spawn", "write"]

Item: TypeAlias = "tuple[str, AnalysisContext]"
_GRACE_SECONDS = 5.0  # a worker told to exit that has not is killed


@dataclass
class Request:
    pipeline: Analyzer
    item: Item
    future: asyncio.Future[Analysis]
    suspect_at: float | None = None  # loop time it was last queued as a suspect


@dataclass
class Child:
    number: int
    process: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ready: bool = False
    pipelines: list[int] = field(default_factory=list)  # keys it holds, oldest first
    in_flight: dict[int, list[Request]] = field(default_factory=dict)
    sent_at: dict[int, float] = field(default_factory=dict)  # batch id → loop time it was sent
    task: asyncio.Task[None] | None = None

    def take_in_flight(self) -> list[Request]:
        """Every request it has not answered; it will not answer them now."""
        requests = [r for group in self.in_flight.values() for r in group]
        self.in_flight.clear()
        self.sent_at.clear()
        return requests


async def spawn(number: int) -> Child:
    """A plain ``python -m`` process (not multiprocessing: that would re-run the parent's
    ``__main__``, whatever script embeds us), talking over its stdin and stdout."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.analysis_process",
        str(os.getpid()),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    return Child(number, process, process.stdout, process.stdin)


def write(child: Child, message: object) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    child.writer.write(HEADER.pack(len(body)) + body)


async def retire(child: Child, *, kill: bool = False) -> None:
    """Close its pipe (it reads end-of-file and exits), or kill it, and wait until it has."""
    child.writer.close()
    if child.task is not None:  # its reader; never the task retiring it (stop(), or a reaper)
        child.task.cancel()
    if kill:
        with contextlib.suppress(ProcessLookupError):
            child.process.kill()
    try:
        await asyncio.wait_for(child.process.wait(), _GRACE_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            child.process.kill()
        await child.process.wait()
