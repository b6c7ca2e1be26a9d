"""Factories for ticketing tests: a rulebook folder with SLA files, tickets opened the real way."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing import csat
from ticketing.agents import Roster
from ticketing.customers import ConversationRef, Customers
from ticketing.database import create_engine
from ticketing.sla_config import SlaConfig, load_sla_config
from ticketing.tickets import TicketDesk
from ticketing.time import utcnow
from ticketing.turns import InboundRecord, Plan, TicketDraft, Turn, Turns

CALENDARS = """
calendars:
  always:
    timezone: UTC
    hours: {mon-sun: "00:00-24:00"}
  office:
    timezone: Europe/Berlin
    hours:
      mon-fri: ["09:00-12:00", "13:00-17:00"]
    closed: [2026-12-25]
"""
SLA = """
settings:
  autoclose_after: 2d
policies:
  - name: vip
    calendar: always
    when: {tags: [vip]}
    targets:
      normal: {first_reply: 10m, resolution: 2h}
      urgent: {first_reply: 5m}
  - name: standard
    calendar: always
    warn_before: 10m
    targets:
      normal: {first_reply: 1h, next_reply: 2h, resolution: 8h}
      high: {first_reply: 30m, resolution: 4h}
      urgent: {first_reply: 15m}
"""
ESCALATIONS = """
escalations:
  - name: angry_unanswered
    when: {tags: [complaint], sentiment: negative}
    after: {no_first_reply: 30m}
    then:
      - set_priority: urgent
      - notify: {slack: "#support-leads", text: "{ticket} waits for a first reply: {subject}"}
      - assign_queue: tier2
"""
_ids = itertools.count(1)


def write_rulebook(directory: Path, *, sla: str = SLA, escalations: str = ESCALATIONS,
                   calendars: str = CALENDARS) -> Path:  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in (("sla.yml", sla), ("escalations.yml", escalations), ("calendars.yml", calendars)):
        (directory / name).write_text(textwrap.dedent(text))
    return directory


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class World:
    """The storage parts, as the app wires them, on one database."""

    engine: AsyncEngine
    config: SlaConfig
    customers: Customers
    turns: Turns
    desk: TicketDesk
    roster: Roster

    async def open_ticket(
        self,
        text: str = "my parcel is broken",
        *,
        tags: tuple[str, ...] = (),
        priority: str = "normal",
        sentiment: str = "neutral",
        conversation: ConversationRef | None = None,
        complaint: bool | None = None,
    ) -> tuple[int, ConversationRef]:
        """A customer message that opens a ticket, through the real batched write path."""
        n = next(_ids)
        ref = conversation or await self.customers.resolve("webchat", f"v_user{n}", f"c_thread{n}")
        analysis: dict[str, Any] = {
            "sentiment": {"label": sentiment, "score": -0.9 if sentiment == "negative" else 0.0}
        }
        if complaint is not None:  # None: a message stored before the complaint signal existed
            analysis["complaint"] = {"is": complaint, "confidence": 0.9 if complaint else 0.1}

        def plan(state: Any, take: Any) -> Plan:
            draft = TicketDraft(number=take(), subject=text, actor="rule:test", priority=priority, tags=tags)
            return Plan(analysis=analysis, open_ticket=draft)

        record = InboundRecord(ref, "webchat", f"key-{n}", text, datetime.now(UTC))
        result = await self.turns.record(Turn(record, plan))
        assert result.ticket_number is not None
        return result.ticket_number, ref

    async def solve(self, number: int, *, actor: str = "agent:alice") -> dict[str, Any]:
        """Solve as an agent does, then ask for the rating as the ticket rules' runner does right
        after the solve message (bot/ticket_rules.py; the runner is not part of this world)."""
        await self.desk.solve(number, actor=actor)
        ticket = await self.desk.get(number)
        async with self.engine.begin() as conn:
            await csat.ask(conn, self.config, ticket, utcnow())
        return await self.desk.get(number)

    async def count(self, model: Any, *where: Any) -> int:
        async with self.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(model).where(*where))).scalar_one()
            )

    async def rows(self, stmt: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(stmt)).all())


@asynccontextmanager
async def world(url: str, rulebook: Path) -> AsyncIterator[World]:
    engine = create_engine(url)
    config = load_sla_config(rulebook)
    turns = Turns(engine=engine)
    try:
        yield World(engine, config, Customers(engine=engine), turns,
                    TicketDesk(engine=engine, config=lambda: config), Roster(engine=engine))  # fmt: skip
    finally:
        await turns.close()
        await engine.dispose()
