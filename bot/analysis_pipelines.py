"""The pipelines the analysis workers hold, as the pickles sent to them.

Kept apart from the scheduling in :mod:`bot.analysis_workers`: a pipeline is pickled once,
in a thread (a large intent model takes tens of milliseconds, which every chat would wait for
in the event loop), and known by a small key that batches name instead of the pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import pickle
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nlp.types import Analyzer

__all__ = ["PipelineBlobs"]

_KEEP = 4  # pipelines remembered (in-flight messages may still name an old one)


class PipelineBlobs:
    def __init__(self) -> None:
        self._keys: dict[int, tuple[Analyzer, int, bytes]] = {}  # id(pipeline) → (it, key, pickle)
        self._pickling: dict[int, asyncio.Task[None]] = {}  # id(pipeline) → its pickling
        self._counter = itertools.count(1)

    def known(self, pipeline: Analyzer) -> bool:
        entry = self._keys.get(id(pipeline))
        return entry is not None and entry[0] is pipeline

    async def ensure(self, pipeline: Analyzer) -> None:
        """Pickle a new pipeline in a thread, once however many callers need it meanwhile; one
        that cannot be pickled stays unknown (:meth:`key` raises, and the caller analyzes it
        in the event loop)."""
        if self.known(pipeline):
            return
        task = self._pickling.get(id(pipeline))
        if task is None:
            task = asyncio.create_task(self._in_thread(pipeline), name="analysis-pipeline-pickle")
            self._pickling[id(pipeline)] = task
        await asyncio.shield(task)

    async def _in_thread(self, pipeline: Analyzer) -> None:
        try:
            with contextlib.suppress(Exception):  # key() finds out again, and raises
                blob = await asyncio.to_thread(pickle.dumps, pipeline, pickle.HIGHEST_PROTOCOL)
                if not self.known(pipeline):
                    self._remember(pipeline, blob)
        finally:
            self._pickling.pop(id(pipeline), None)

    def key(self, pipeline: Analyzer) -> int:
        """The pipeline's key, pickling it here if :meth:`ensure` has not (raises if it cannot be
        pickled)."""
        entry = self._keys.get(id(pipeline))
        if entry is not None and entry[0] is pipeline:
            return entry[1]
        return self._remember(pipeline, pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL))

    def blob(self, key: int) -> bytes:
        return next(blob for _p, k, blob in self._keys.values() if k == key)

    def _remember(self, pipeline: Analyzer, blob: bytes) -> int:
        key = next(self._counter)
        self._keys[id(pipeline)] = (pipeline, key, blob)
        if len(self._keys) > _KEEP:  # the oldest; workers forget it on their own
            del self._keys[next(iter(self._keys))]
        return key
