"""The SLA scheduler: a thin service over APScheduler that sweeps due timers periodically.

APScheduler supplies the periodic trigger (coalesced; a tick that finds the last sweep still
running leaves it to finish, so there are never two sweeps at once); the state
lives in the database, not in the job: each sweep re-reads what is due, so the job needs no
arguments and nothing is lost across restarts (whatever fell due while no process ran is due at
the first sweep and fires once). Only the process holding the advisory lock
(:class:`~ticketing.leader.Leadership`) sweeps. On stop the in-flight sweep is awaited, not
cancelled, so its transaction commits or rolls back as a whole.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.driver import CompiledStatement
from ticketing.escalation import fire_due
from ticketing.leader import Leadership
from ticketing.models import SlaTimer, Ticket
from ticketing.sla import intake
from ticketing.sla_config import SlaConfig
from ticketing.time import utcnow

try:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.interval import IntervalTrigger
except ImportError as exc:  # pragma: no cover - a broken install
    raise ImportError("the SLA scheduler needs APScheduler 3: pip install 'APScheduler>=3.10,<4'") from exc

__all__ = ["SlaScheduler", "SweepReport"]

_LOGGER = logging.getLogger(__name__)
# Any fixed 64-bit key; other applications on the same server must not use it.
LOCK = 0x46_44_53_4C_41  # "FDSLA"

# The partial index on tickets waiting for intake and the (state, due_at) index of the timers
# answer this without reading a row when nothing is to do.
_ANYTHING_TO_DO = select(
    exists().where(Ticket.intake_at.is_(None))
    | exists().where(SlaTimer.state == "active", SlaTimer.due_at <= bindparam("now"))
)

_ANYTHING_TO_DO_ROWS = CompiledStatement(_ANYTHING_TO_DO, ("now",))


@dataclass(frozen=True, slots=True)
class SweepReport:
    leader: bool
    taken_in: int = 0
    fired: int = 0
    failed: int = 0


class SlaScheduler:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        config: Callable[[], SlaConfig],
        interval: float = 0.5,
        batch: int = 20,
    ) -> None:
        # ``batch``: tickets taken in, and timers fired, per transaction. Each costs a few
        # statements, and on SQLite the transaction holds the connection every chat message is
        # written through, so a small batch keeps each hold short; the sweep goes on to the
        # next batch at once (docs/performance.md).
        self._engine = engine
        self._config = config
        self._interval = interval
        self._batch = batch
        self.leadership = Leadership(engine=engine, key=LOCK, name="the SLA scheduler")
        self._scheduler: AsyncIOScheduler | None = None
        self._inflight: asyncio.Task[SweepReport] | None = None

    async def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self._interval, timezone=UTC),
            id="sla-sweep",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._inflight is not None:
            await asyncio.gather(self._inflight, return_exceptions=True)
        await self.leadership.release()

    async def _tick(self) -> None:
        """Start a sweep unless the last one is still running, and return at once.

        A sweep that outlasts the interval (a burst of new tickets under load) would otherwise
        keep the APScheduler job running, and every tick meanwhile logged a WARNING that the
        job was skipped: a log full of noise exactly when an operator is looking. The running
        sweep goes on to everything due, so a tick that finds it running has nothing to add.
        """
        if self._inflight is not None and not self._inflight.done():
            return
        self._inflight = asyncio.ensure_future(self.sweep())
        self._inflight.add_done_callback(self._sweep_done)

    def _sweep_done(self, sweep: asyncio.Future[SweepReport]) -> None:
        if not sweep.cancelled() and sweep.exception() is not None:
            _LOGGER.error("SLA sweep failed; retrying in %.1fs", self._interval, exc_info=sweep.exception())

    async def sweep(self, now: datetime | None = None) -> SweepReport:
        """Take in new tickets and fire everything due, if this process leads."""
        if not await self.leadership.check():
            return SweepReport(leader=False)
        config = self._config()
        taken = fired = failed = 0
        if not await self._anything_to_do(now or utcnow()):
            return SweepReport(True)
        while True:  # one transaction per batch: intake and firing share its round trips
            at = now or utcnow()
            async with self._engine.begin() as conn:
                n = await intake(conn, config, at, limit=self._batch)
                result = await fire_due(conn, config, at, limit=self._batch)
            taken += n
            fired, failed = fired + result.fired, failed + result.failed
            if n < self._batch and result.fired + result.failed < self._batch:
                break
        if fired or failed:
            _LOGGER.info("SLA sweep: %d timers fired, %d failed", fired, failed)
        return SweepReport(True, taken, fired, failed)

    async def _anything_to_do(self, at: datetime) -> bool:
        """One indexed read, no transaction to commit: is a ticket waiting for intake or a timer
        due? Most sweeps (every ``interval``) find nothing, and under load their begin, claim
        statements and commit queued on the connection the turns are written through. When
        this says yes the sweep claims as before; a timer it saw that another process claims
        first is skipped there, as always."""
        ((anything,),) = await _ANYTHING_TO_DO_ROWS.read(self._engine, (at,))
        return bool(anything)
