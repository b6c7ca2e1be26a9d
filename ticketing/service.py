"""The ticketing service as the app sees it: desk, roster, SLA rulebook and scheduler, the agents'
read models and Slack's card positions, wired once.

``bot/app.py`` builds one :class:`TicketingService` and starts/stops it in ``App.running()``.
The SLA rulebook files are loaded at construction (a broken file stops the start, with
``file:line`` problems) and reloaded when they change; a broken edit leaves the previous
version live and is logged, like the rest of the rulebook.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncEngine

from core.yamlfile import SourceError
from ticketing.agent_views import AgentViews
from ticketing.agents import Roster
from ticketing.audit_feed import AuditFeed
from ticketing.scheduler import SlaScheduler
from ticketing.sla_config import SlaConfig, load_sla_config
from ticketing.slack_messages import SlackMessages
from ticketing.slack_threads import SlackThreads
from ticketing.tickets import TicketDesk
from ticketing.time import utcnow
from ticketing.timers import overdue

__all__ = ["LiveSlaConfig", "TicketingService", "TicketsSettings"]

_LOGGER = logging.getLogger(__name__)
_FILES = ("sla.yml", "escalations.yml", "calendars.yml")


class TicketsSettings(BaseModel):
    """The ``tickets:`` section of config.yaml (see docs/ticketing.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scheduler: bool = True  # run SLA sweeps in this process (when it holds the leader lock)
    sweep_interval: float = Field(0.5, gt=0, le=60)  # seconds; an escalation fires within this
    sweep_batch: int = Field(20, ge=1, le=100_000)


class LiveSlaConfig:
    """The current SLA rulebook; re-checked for changes at most every ``check_every`` seconds."""

    def __init__(self, directory: Path, *, check_every: float = 2.0) -> None:
        self._directory = directory
        self._check_every = check_every
        self._stamp = self._mtimes()
        self._config = load_sla_config(directory)
        self._checked = time.monotonic()

    def __call__(self) -> SlaConfig:
        now = time.monotonic()
        if now - self._checked >= self._check_every:
            self._checked = now
            stamp = self._mtimes()
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._config = load_sla_config(self._directory)
                    _LOGGER.info("SLA rulebook reloaded from %s", self._directory)
                except SourceError as exc:
                    _LOGGER.error("SLA rulebook not reloaded, the previous one stays live:\n%s", exc)
        return self._config

    def _mtimes(self) -> tuple[float, ...]:
        paths = (self._directory / name for name in _FILES)
        return tuple(p.stat().st_mtime if p.is_file() else 0.0 for p in paths)


class TicketingService:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        settings: TicketsSettings,
        rulebook_dir: Path,
        wake_outbox: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = LiveSlaConfig(rulebook_dir)
        self.desk = TicketDesk(engine=engine, config=self.config, wake_outbox=wake_outbox)
        self.roster = Roster(engine=engine)
        self.views = AgentViews(engine=engine)  # what agents' tools read (Slack cards, lists)
        self.slack_threads = SlackThreads(engine=engine, config=self.config, wake_outbox=wake_outbox)
        self.slack_messages = SlackMessages(engine=engine)  # Slack copies of customers' messages (erase)
        self._engine = engine
        self.scheduler = SlaScheduler(
            engine=engine, config=self.config, interval=settings.sweep_interval, batch=settings.sweep_batch
        )
        self._run_scheduler = settings.scheduler

    def audit_feed(self, name: str) -> AuditFeed:
        """A reader of the audit trail; one per consumer, which keeps the id holes it waits on."""
        return AuditFeed(engine=self._engine, name=name)

    async def timer_backlog(self, *, late_after: timedelta) -> tuple[int, int, int]:
        """SLA timers (due, late, failed) across all processes, for /metrics at scrape time."""
        now = utcnow()
        async with self._engine.connect() as conn:
            return await overdue(conn, now=now, late_before=now - late_after)

    async def start(self) -> None:
        if self._run_scheduler:
            await self.scheduler.start()

    async def stop(self) -> None:
        await self.scheduler.stop()
