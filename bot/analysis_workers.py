"""Message analysis in worker processes, beside the event loop instead of on it.

Why: analysis is pure CPU (its cost: docs/performance.md) and, in one process, the GIL makes it
take turns with everything else the event loop does (HTTP, rules, the group-commit writer).
Under load the writer's callbacks wait behind analyses and the whole service runs on one core.
A worker (:mod:`bot.analysis_process`) is a process holding copies of the current
:class:`~nlp.Pipeline`; the event loop only sends texts and receives analyses.

Requests that arrive while a worker is busy are sent to it together, like the group commit
(at most two batches in flight per worker, so a worker never waits for the loop to hand it
the next one). The analysis is the same as in-process: the worker runs the very pipeline the
flow chose, sent before the first batch that needs it (pickled once, in a thread:
:mod:`bot.analysis_pipelines`); the current one is handed over ahead of any message.

Nothing is lost when a worker dies or has not started yet: its requests are analyzed in the
event loop instead, and a new worker is started. A worker stuck on one text is killed after
``stuck_after`` seconds. Only that text's message gets the flow's apology: the others it had
not answered are suspects (which of the batch hangs is unknown) and go to the next worker one
per batch, never into the event loop, which the culprit would stall too; a suspect that gets a
worker stuck on its own is the culprit.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import pickle
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.analysis_children import Child, Request, retire, spawn, write
from bot.analysis_pipelines import PipelineBlobs
from bot.analysis_process import HEADER, decode
from core.errors import FrontdeskError
from core.loops import BackgroundTask, every

if TYPE_CHECKING:
    from nlp.types import Analysis, AnalysisContext, Analyzer

__all__ = ["AnalysisStuck", "AnalysisWorkers", "worker_count"]

_LOGGER = logging.getLogger(__name__)
_IN_FLIGHT = 2  # batches per worker: one being analyzed, one waiting in its pipe
_KEEP_PIPELINES = 4  # pipelines a worker keeps (in-flight messages may still name an old one)
_STUCK_SECONDS = 30.0  # a batch unanswered this long: the worker is stuck (a pathological text)
_RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)  # a worker that keeps dying is retried ever slower
_SUSPECT_PATIENCE = 60.0  # seconds a suspect waits for a worker (restarts back off up to 30 s)


def worker_count(setting: int | str) -> int:
    """``auto``: one worker per core beyond the event loop's own, at most four."""
    if setting == "auto":
        return max(0, min(4, (os.cpu_count() or 1) - 1))
    return int(setting)


class AnalysisStuck(FrontdeskError):
    """A worker did not answer within its deadline; the flow answers with its fallback."""


class AnalysisWorkers:
    """``await analyze(pipeline, text, context)``: the pipeline's analysis, computed in a worker."""

    def __init__(
        self,
        *,
        workers: int,
        stuck_after: float = _STUCK_SECONDS,
        current: Callable[[], Analyzer] | None = None,
    ) -> None:
        """``current``: the pipeline new messages will use, handed to the workers ahead of them."""
        self._wanted = workers
        self._stuck_after = stuck_after
        self._watchdog = BackgroundTask(name="analysis-watchdog")
        self._workers: list[Child] = []
        self._pending: list[Request] = []
        self._suspects: list[Request] = []  # sent one per batch, never analyzed in the loop
        self._flush_scheduled = False
        self._blobs = PipelineBlobs()
        self._current = current
        self._batch_ids = itertools.count(1)
        self._numbers = itertools.count(1)
        self._closing = False
        self._restarts: set[asyncio.Task[None]] = set()
        self._reaping: set[asyncio.Task[None]] = set()  # lost workers, killed and waited for
        self._failures = 0  # workers lost in a row without answering a batch
        self.answered = 0  # messages the workers analyzed (for /healthz and tests)

    @property
    def wanted(self) -> int:
        return self._wanted

    @property
    def ready_workers(self) -> int:
        return sum(1 for w in self._workers if w.ready)

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(w.process.pid for w in self._workers)

    async def start(self) -> None:
        for _ in range(self._wanted):
            await self._spawn()
        if self._wanted:
            self._watchdog.start(every(min(1.0, self._stuck_after / 2), self._watch, failed=_watch_failed))

    async def stop(self) -> None:
        self._closing = True
        await self._watchdog.stop()
        for task in self._restarts:
            task.cancel()
        for worker in list(self._workers):
            await self._retire(worker)
        await asyncio.gather(*self._reaping, return_exceptions=True)
        for request in self._pending:
            self._inline(request)
        self._pending.clear()
        self._fail(self._suspects, "the service is stopping")
        self._suspects.clear()

    async def analyze(self, pipeline: Analyzer, text: str, context: AnalysisContext) -> Analysis:
        if self._closing or not any(w.ready for w in self._workers):
            return await self._analyze_here(pipeline, text, context)
        if not self._blobs.known(pipeline):
            await self._blobs.ensure(pipeline)
        future: asyncio.Future[Analysis] = asyncio.get_running_loop().create_future()
        self._pending.append(Request(pipeline, (text, context), future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return await future

    @staticmethod
    async def _analyze_here(pipeline: Analyzer, text: str, context: AnalysisContext) -> Analysis:
        """The fallback: long texts in a thread so one paste cannot stall every chat, and so is a
        process's first message while the pipeline is cold (the language models load, seconds)."""
        if len(text) > 2000 or getattr(pipeline, "cold", False):
            return await asyncio.to_thread(pipeline.analyze, text, context)
        return pipeline.analyze(text, context)

    # -- sending -------------------------------------------------------------------------

    def _flush(self) -> None:
        self._flush_scheduled = False
        ready = [w for w in self._workers if w.ready and len(w.in_flight) < _IN_FLIGHT]
        for worker in ready:
            while self._suspects and len(worker.in_flight) < _IN_FLIGHT:
                self._send(worker, [self._suspects.pop(0)])
        ready = [w for w in ready if len(w.in_flight) < _IN_FLIGHT]
        if not self._pending:
            return
        if not ready:
            if not any(w.ready for w in self._workers):
                pending, self._pending = self._pending, []
                for request in pending:
                    self._inline(request)
            return  # the next batch goes out when a worker answers
        pending, self._pending = self._pending, []
        ready.sort(key=lambda w: len(w.in_flight))
        share = -(-len(pending) // len(ready))
        for worker, start in zip(ready, range(0, len(pending), share), strict=False):
            self._send(worker, pending[start : start + share])

    def _send(self, worker: Child, requests: list[Request]) -> None:
        by_pipeline: dict[int, list[Request]] = {}
        for request in requests:
            try:
                key = self._blobs.key(request.pipeline)
            except Exception:  # an analyzer that cannot be pickled: a bug, but no lost message
                _LOGGER.exception("cannot send this analyzer to the workers; analyzing here")
                self._inline(request)
                continue
            by_pipeline.setdefault(key, []).append(request)
        try:
            for key, group in by_pipeline.items():
                self._give(worker, key)
                batch_id = next(self._batch_ids)
                worker.in_flight[batch_id] = group
                worker.sent_at[batch_id] = asyncio.get_running_loop().time()
                items = [(text, c.channel, c.language) for r in group for text, c in (r.item,)]
                write(worker, ("analyze", batch_id, key, items))
        except Exception:
            _LOGGER.exception("analysis worker %d: sending failed", worker.number)
            self._lost(worker)

    def _give(self, worker: Child, key: int) -> None:
        """Send the worker a pipeline it does not hold yet (and let it forget its oldest)."""
        if key in worker.pipelines:
            return
        write(worker, ("pipeline", key, self._blobs.blob(key)))
        worker.pipelines.append(key)
        if len(worker.pipelines) > _KEEP_PIPELINES:
            write(worker, ("forget", worker.pipelines.pop(0)))

    async def _warm(self) -> None:
        """Hand every ready worker the current pipeline before a message needs it: a worker
        unpickling one kept the first message after a start or a rulebook reload waiting for
        it. Called when a worker is ready and at every
        watchdog tick, so a reload reaches the workers within a second, message or not."""
        if self._current is None or self._closing:
            return
        try:
            pipeline = self._current()
            await self._blobs.ensure(pipeline)
            if not self._blobs.known(pipeline):
                return  # cannot be pickled: its messages are analyzed here (see _send)
            key = self._blobs.key(pipeline)
        except Exception:  # the next message hands it over, or analyzes here
            _LOGGER.exception("analysis workers: could not prepare the current pipeline")
            return
        for worker in [w for w in self._workers if w.ready]:
            try:
                self._give(worker, key)
            except Exception:
                _LOGGER.exception("analysis worker %d: sending failed", worker.number)
                self._lost(worker)

    @property
    def warm_workers(self) -> int:
        """Ready workers that hold the current pipeline (for /healthz and tests)."""
        if self._current is None:
            return 0
        pipeline = self._current()
        if not self._blobs.known(pipeline):
            return 0
        key = self._blobs.key(pipeline)
        return sum(1 for w in self._workers if w.ready and key in w.pipelines)

    # -- receiving -----------------------------------------------------------------------

    async def _receive(self, worker: Child) -> None:
        try:
            while True:
                header = await worker.reader.readexactly(HEADER.size)
                (size,) = HEADER.unpack(header)
                message = pickle.loads(await worker.reader.readexactly(size))  # noqa: S301 - our child's pipe
                if message[0] == "ready":
                    worker.ready = True
                    _LOGGER.info("analysis worker %d is ready (pid %s)", worker.number, worker.process.pid)
                    await self._warm()
                elif message[0] == "done":
                    self._settle(worker, message[1], [decode(fields) for fields in message[2]])
                elif message[0] == "failed":
                    _LOGGER.error("analysis worker %d failed a batch: %s", worker.number, message[2])
                    worker.sent_at.pop(message[1], None)
                    for request in worker.in_flight.pop(message[1], []):
                        self._inline(request)
                if (self._pending or self._suspects) and not self._flush_scheduled:
                    self._flush_scheduled = True
                    asyncio.get_running_loop().call_soon(self._flush)
        except (asyncio.IncompleteReadError, ConnectionError):
            if not self._closing:
                _LOGGER.error("analysis worker %d (pid %s) stopped", worker.number, worker.process.pid)
        except Exception:
            _LOGGER.exception("analysis worker %d: unreadable answer", worker.number)
        if not self._closing:
            self._lost(worker)

    def _settle(self, worker: Child, batch_id: int, results: Sequence[Analysis]) -> None:
        self._failures = 0
        worker.sent_at.pop(batch_id, None)
        self.answered += len(results)
        for request, result in zip(worker.in_flight.pop(batch_id, []), results, strict=True):
            if not request.future.done():
                request.future.set_result(result)

    def _inline(self, request: Request) -> None:
        """Analyze in the event loop: the worker is gone, its answer never came."""
        if request.future.done():
            return
        try:
            request.future.set_result(request.pipeline.analyze(*request.item))
        except Exception as exc:  # the flow turns this into its fallback reply
            request.future.set_exception(exc)

    # -- processes -----------------------------------------------------------------------

    async def _spawn(self) -> None:
        worker = await spawn(next(self._numbers))
        worker.task = asyncio.create_task(self._receive(worker), name=f"analysis-worker-{worker.number}")
        self._workers.append(worker)

    async def _watch(self) -> None:
        """A stuck worker is killed (see the module's docstring for what becomes of its
        messages); a suspect that finds no worker for a minute fails too."""
        await self._warm()
        deadline = asyncio.get_running_loop().time() - self._stuck_after
        for worker in [w for w in self._workers if any(t < deadline for t in w.sent_at.values())]:
            _LOGGER.error(
                "analysis worker %d (pid %s) did not answer within %.0f s; restarting it",
                worker.number, worker.process.pid, self._stuck_after,
            )  # fmt: skip
            self._lost(worker, stuck=True)
        patience = asyncio.get_running_loop().time() - _SUSPECT_PATIENCE
        waited = [r for r in self._suspects if (r.suspect_at or patience) < patience]
        if waited:
            self._suspects = [r for r in self._suspects if (r.suspect_at or patience) >= patience]
            self._fail(waited, "no analysis worker came back")

    def _lost(self, worker: Child, *, stuck: bool = False) -> None:
        if worker not in self._workers:
            return
        self._workers.remove(worker)
        if stuck:
            self._suspect(worker)
        else:
            for request in worker.take_in_flight():
                if request.suspect_at is not None:
                    request.suspect_at = asyncio.get_running_loop().time()
                    self._suspects.append(request)  # still not safe to analyze here
                else:
                    self._inline(request)
        _track(self._reaping, asyncio.create_task(retire(worker, kill=True), name="analysis-worker-reap"))
        if not self._closing:
            _track(self._restarts, asyncio.create_task(self._respawn(), name="analysis-worker-restart"))

    def _suspect(self, worker: Child) -> None:
        """The batch the stuck worker was on is its oldest: alone in it, a request is the
        culprit; otherwise every request it had not answered becomes a suspect."""
        now = asyncio.get_running_loop().time()
        batches = [worker.in_flight[b] for b in sorted(worker.in_flight)]
        worker.take_in_flight()
        if batches and len(batches[0]) == 1:
            self._fail(batches.pop(0), f"no analysis within {self._stuck_after:.0f} s")
        for request in (r for batch in batches for r in batch if not r.future.done()):
            request.suspect_at = now
            self._suspects.append(request)

    @staticmethod
    def _fail(requests: Sequence[Request], reason: str) -> None:
        for request in requests:
            if not request.future.done():
                request.future.set_exception(AnalysisStuck(reason))

    async def _respawn(self) -> None:
        while not self._closing:
            self._failures += 1
            await asyncio.sleep(_RESTART_DELAYS[min(self._failures, len(_RESTART_DELAYS)) - 1])
            try:
                await self._spawn()
                return
            except Exception:  # no process to be had (out of memory, ...): try again later
                _LOGGER.exception("cannot start an analysis worker; analyzing in the event loop")

    async def _retire(self, worker: Child) -> None:
        self._workers.remove(worker)
        for request in worker.take_in_flight():
            if request.suspect_at is not None:
                self._fail([request], "the service is stopping")
            else:
                self._inline(request)
        await retire(worker)


def _track(tasks: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _watch_failed(exc: Exception) -> None:
    _LOGGER.error("analysis watchdog: a round failed; watching on", exc_info=exc)
