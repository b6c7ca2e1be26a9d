"""Customer segments, end to end: features from storage, clusters from :mod:`nlp.segments`, tags
and the run's summary back to storage (:mod:`ticketing.segments`); see docs/segments.md.

:func:`run_segments` is one run (``frontdesk segments run`` calls it, and so does the job).
:class:`SegmentJob` recomputes on a schedule in the leader process (advisory lock
:data:`LOCK`, "FDSEG"): every ``check_every`` seconds it looks at the last run's finishing time
in ``segment_runs`` and runs when ``segments.interval_hours`` have passed, so a restart does not
recompute and two processes never run it at once. The clustering is CPU work: it runs in a
short-lived process of its own (:mod:`bot.fresh_process`), off the event loop and without
loading scikit-learn into the service.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.fresh_process import in_fresh_process
from core.loops import BackgroundTask, every
from ticketing.leader import Leadership
from ticketing.segments import FEATURE_NAMES, SegmentRunRow, Segments
from ticketing.time import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["LOCK", "SegmentJob", "run_segments"]

_LOGGER = logging.getLogger(__name__)
LOCK = 0x46_44_53_45_47  # "FDSEG"


async def run_segments(store: Segments, *, now: datetime | None = None) -> SegmentRunRow:
    """Read every live customer's features, segment them, write the tags, record the run."""
    from nlp.segments import FEATURES, FeatureTable, segment_customers  # sklearn: imported inside

    if FEATURES != FEATURE_NAMES:  # the two layers name the same columns (neither imports the other)
        raise RuntimeError(f"feature names differ: nlp {FEATURES} / ticketing {FEATURE_NAMES}")
    started = utcnow()
    features = await store.features(now=now)
    table = FeatureTable(ids=features.ids, columns=features.columns)
    result = await in_fresh_process(segment_customers, table)  # scikit-learn: not in the service
    tagged = await store.tag(result.assignment)
    if tagged.skipped:
        _LOGGER.info("segments: %d customers not tagged (at the tag limit, merged or erased)", tagged.skipped)
    segments = [
        {"name": s.name, "description": s.description, "size": s.size, "centroid": s.centroid}
        for s in result.segments
    ]
    run = await store.record(
        started_at=started, method=result.method, customers=len(features.ids), k=result.k,
        silhouette=result.silhouette, scores=result.scores, segments=segments, tagged=tagged.changed,
    )  # fmt: skip
    _LOGGER.info(
        "segments: %d customers in %d segments (%s, silhouette %s), %d tags changed, %.1f s",
        run.customers, run.k, run.method, "-" if run.silhouette is None else f"{run.silhouette:.3f}",
        run.tagged, (run.finished_at - started).total_seconds(),
    )  # fmt: skip
    return run


class SegmentJob:
    """``start()``/``stop()`` in the app; runs :func:`run_segments` every ``interval_hours``, leader only."""

    def __init__(
        self, *, engine: AsyncEngine, interval_hours: float = 24.0, check_every: float = 300.0,
        enabled: bool = True,
    ) -> None:  # fmt: skip
        self._store = Segments(engine=engine)
        self._interval = timedelta(hours=interval_hours)
        self._check_every = check_every
        self._enabled = enabled
        self._leadership = Leadership(engine=engine, key=LOCK, name="the customer segments")
        self._loop = BackgroundTask(name="segments")

    async def start(self) -> None:
        if self._enabled:
            self._loop.start(every(self._check_every, self.run_if_due, failed=self._failed))

    async def stop(self) -> None:
        await self._loop.stop()
        await self._leadership.release()

    async def run_if_due(self) -> SegmentRunRow | None:
        """Run if this process leads and the last run is older than the interval (or none ran)."""
        if not await self._leadership.check():
            return None
        latest = await self._store.latest()
        if latest is not None and utcnow() - latest.finished_at < self._interval:
            return None
        return await run_segments(self._store)

    @staticmethod
    def _failed(exc: Exception) -> None:
        _LOGGER.warning("segment run failed, trying again at the next check: %s", exc)
