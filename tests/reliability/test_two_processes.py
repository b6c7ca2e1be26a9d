"""Two real ``frontdesk serve`` processes on one PostgreSQL: every escalation and every outbox
delivery happens exactly once, also when the process running the scheduler is killed.

The test prepares tickets whose escalation timers fall due one after another while the
processes run, plus pending web chat replies, starts two servers, SIGKILLs the one that fires
the timers (read from ``sla_timers.fired_by``) part-way, and then checks the database: one
``escalated`` event per ticket, timers fired by both processes (the survivor took over), every
outbox row sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.serve import start_serve, wait_ready
from tests.ticketing.helpers import CALENDARS, World, world, write_rulebook
from ticketing.models import OutboxItem, SlaTimer, TicketEvent
from ticketing.scheduler import SlaScheduler
from ticketing.time import utcnow

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
TICKETS = 120
REPLIES = 60
TIMEOUT = 180.0  # generous: reached only if something is lost (an outbox lease is 60 s)
ESCALATE = """
escalations:
  - name: angry_unanswered
    when: {tags: [complaint]}
    after: {no_first_reply: 30m}
    then:
      - set_priority: urgent
      - notify: {slack: "#support-leads", text: "{ticket} needs a first reply"}
      - assign_queue: tier2
"""


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen[bytes], int]]]:
    started: list[tuple[subprocess.Popen[bytes], int]] = []
    yield started
    for process, _port in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {TIMEOUT}s: {what}")
        await asyncio.sleep(0.1)


async def _prepare(w: World) -> list[int]:
    """Tickets whose escalation timers fall due over the next seconds, and pending replies."""
    await w.roster.add_queue("tier2")
    await w.roster.add_agent("tina", queues=["tier2"], max_open=TICKETS)
    numbers = [(await w.open_ticket(f"complaint {i}", tags=("complaint",)))[0] for i in range(TICKETS)]
    intake = SlaScheduler(engine=w.engine, config=lambda: w.config)
    await intake.sweep()  # starts the timers (due in 30 minutes)
    await intake.leadership.release()
    for number in numbers[:REPLIES]:
        await w.desk.reply(number, f"Looking into T-{number}", agent="alice", status="open")
    await _spread(w, delay=timedelta(hours=1))  # nothing is due until the servers are up
    return numbers


async def _spread(w: World, *, delay: timedelta) -> None:
    """Make the escalation timers and the replies fall due one by one, starting after ``delay``."""
    start = utcnow() + delay
    async with w.engine.begin() as conn:
        escalations = select(SlaTimer.id).where(SlaTimer.kind == "escalation", SlaTimer.state == "active")
        for index, timer_id in enumerate((await conn.execute(escalations.order_by(SlaTimer.id))).scalars()):
            due = start + timedelta(milliseconds=80 * index)
            await conn.execute(update(SlaTimer).where(SlaTimer.id == timer_id).values(due_at=due))
        replies = (await conn.execute(select(OutboxItem.id).order_by(OutboxItem.id))).scalars().all()
        for index, item_id in enumerate(replies):
            due = start + timedelta(milliseconds=80 * index)
            await conn.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(next_attempt_at=due))


async def test_exactly_once_across_two_processes_and_a_kill(
    pg_url: str, tmp_path: Path, servers: list[tuple[subprocess.Popen[bytes], int]]
) -> None:
    shop = '  shop:\n    timezone: Europe/Berlin\n    hours: {mon-fri: "09:00-18:00"}\n'
    rulebook = write_rulebook(tmp_path / "rulebook", escalations=ESCALATE, calendars=CALENDARS + shop)
    for name in ("faq.yml", "responses.yml", "rules.yml"):
        if (ROOT / "rulebook" / name).is_file():
            (rulebook / name).write_bytes((ROOT / "rulebook" / name).read_bytes())
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: {pg_url}\nwebchat:\n  secret_key: test-secret-key-0123456789abcdef\n"
        f"rulebook:\n  path: {rulebook}\ntickets:\n  sweep_interval: 0.2\n  sweep_batch: 7\n"
    )
    async with world(pg_url, rulebook) as w:
        numbers = await _prepare(w)
        escalations = TICKETS - REPLIES  # answered tickets must not escalate
        for index in range(2):
            log = tmp_path / f"server{index}.log"
            servers.append(start_serve(config, log))
            await wait_ready(servers[-1][0], servers[-1][1], log, within=TIMEOUT)
        await _spread(w, delay=timedelta(seconds=1))

        async def fired() -> int:
            return await w.count(SlaTimer, SlaTimer.state == "fired")

        await _until("a third of the timers fired", lambda: _at_least(fired, escalations // 3))
        (leader_tag,) = (
            await w.rows(select(SlaTimer.fired_by).where(SlaTimer.fired_by.is_not(None)).distinct())
        )[0]  # fmt: skip
        leader_pid = int(str(leader_tag).rsplit(":", 1)[1])
        (victim,) = [p for p, _ in servers if p.pid == leader_pid]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()

        async def all_done() -> bool:
            pending = await w.count(OutboxItem, OutboxItem.state != "sent")
            active = await w.count(SlaTimer, SlaTimer.state == "active", SlaTimer.kind == "escalation")
            return pending == 0 and active == 0

        await _until("every timer fired and every reply sent", all_done)

        per_ticket = await w.rows(
            select(TicketEvent.ticket_id, func.count())
            .where(TicketEvent.kind == "escalated")
            .group_by(TicketEvent.ticket_id)
        )
        assert len(per_ticket) == escalations and {n for _, n in per_ticket} == {1}
        # Each escalation notifies once, and the shop rulebook's ticket rule `urgent_ticket_alert`
        # (priority changed to urgent) notifies once more: both exactly once across the kill.
        alert = TicketEvent.actor == "rule:urgent_ticket_alert"
        assert await w.count(TicketEvent, TicketEvent.kind == "notify", ~alert) == escalations

        async def alerts() -> int:  # ticket rules run after the escalation commits
            return await w.count(TicketEvent, TicketEvent.kind == "notify", alert)

        await _until("every urgent ticket alerted", lambda: _at_least(alerts, escalations))
        assert await alerts() == escalations
        assert await w.count(TicketEvent, TicketEvent.kind == "priority") == escalations
        firers = {str(t).rsplit(":", 1)[1] for (t,) in await w.rows(
            select(SlaTimer.fired_by).where(SlaTimer.fired_by.is_not(None)).distinct())}  # fmt: skip
        assert str(leader_pid) in firers and len(firers) == 2, firers  # the survivor took over
        outbox = await w.rows(select(OutboxItem.state, OutboxItem.sent_at, OutboxItem.attempts))
        assert len(outbox) == REPLIES and all(s == "sent" and at is not None for s, at, _ in outbox)
        assert all(1 <= attempts <= 2 for _, _, attempts in outbox)
        assert len(numbers) == TICKETS


async def _at_least(count: Callable[[], Awaitable[int]], target: int) -> bool:
    return await count() >= target
