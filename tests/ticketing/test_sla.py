"""SLA clocks and escalations end to end through the scheduler's sweep, on both engines.

Sweeps are given an explicit ``now`` so the tests move time forward without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text

from tests.ticketing.helpers import World, world, write_rulebook
from ticketing.customers import ConversationRef
from ticketing.models import Conversation, SlaTimer, TicketEvent
from ticketing.scheduler import SlaScheduler, SweepReport


async def sweep(w: World, now: datetime | None = None, *, batch: int = 3) -> SweepReport:
    """One sweep by a fresh scheduler, as a newly started process would do it."""
    scheduler = SlaScheduler(engine=w.engine, config=lambda: w.config, batch=batch)
    try:
        return await scheduler.sweep(now)
    finally:
        await scheduler.leadership.release()


async def timers_of(w: World, ticket_id: int) -> dict[tuple[str, str], Any]:
    rows = await w.rows(select(SlaTimer.__table__).where(SlaTimer.ticket_id == ticket_id))
    return {(t.kind, t.name): t for t in rows}


async def test_intake_applies_first_matching_policy(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        vip, _ = await w.open_ticket(tags=("vip",))
        plain, _ = await w.open_ticket()
        report = await sweep(w)
        assert report.leader and report.taken_in == 2
        t_vip, t_plain = await w.desk.get(vip), await w.desk.get(plain)
        assert (t_vip["sla_policy"], t_plain["sla_policy"]) == ("vip", "standard")
        clocks = await timers_of(w, t_plain["id"])
        created = t_plain["created_at"]
        assert clocks["target", "first_reply"].due_at == created + timedelta(hours=1)
        assert clocks["warning", "first_reply"].due_at == created + timedelta(minutes=50)
        assert clocks["target", "resolution"].due_at == created + timedelta(hours=8)
        assert ("target", "next_reply") not in clocks  # starts with the customer's next message
        vip_due = (await timers_of(w, t_vip["id"]))["target", "first_reply"].due_at
        assert vip_due == t_vip["created_at"] + timedelta(minutes=10)


URGENT_UNSOLVED = """
escalations:
  - name: urgent_unsolved
    when: {priority: urgent}
    after: {unsolved: 2h}
    then:
      - notify: {slack: "#leads", text: "{ticket} is urgent and unsolved"}
"""


async def test_priority_change_recounts_targets_and_starts_matching_escalations(
    database_url: str, tmp_path: Path
) -> None:
    """Targets follow the priority (standard policy: normal 1 h first reply / 8 h resolution,
    urgent 15 min first reply and no resolution target), counted from the ticket's creation."""
    async with world(database_url, write_rulebook(tmp_path / "rb", escalations=URGENT_UNSOLVED)) as w:
        number, _ = await w.open_ticket()
        await sweep(w)
        ticket = await w.desk.get(number)
        created = ticket["created_at"]
        assert ("escalation", "urgent_unsolved") not in await timers_of(w, ticket["id"])
        await w.desk.set_priority(number, "urgent", actor="agent:ana")
        clocks = await timers_of(w, ticket["id"])
        assert clocks["target", "first_reply"].due_at == created + timedelta(minutes=15)
        assert clocks["target", "first_reply"].state == "active"
        assert clocks["target", "resolution"].state == "stopped"  # urgent has no resolution target
        assert clocks["warning", "first_reply"].due_at == created + timedelta(minutes=5)  # warn 10 min before
        assert clocks["escalation", "urgent_unsolved"].due_at == created + timedelta(hours=2)
        report = await sweep(w, created + timedelta(hours=2, minutes=1))
        kinds = [e["kind"] for e in await w.desk.events(number)]
        assert report.fired >= 2 and kinds.count("escalated") == 1 and kinds.count("sla_breach") == 1
        await w.desk.set_priority(number, "normal", actor="agent:ana")  # the breach stays a breach
        clocks = await timers_of(w, ticket["id"])
        assert clocks["target", "first_reply"].state == "fired"
        assert clocks["target", "resolution"].due_at == created + timedelta(hours=8)


async def test_breach_fires_once_even_across_restarts(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        ticket = await w.desk.get(number)
        await sweep(w)
        late = ticket["created_at"] + timedelta(hours=9)  # everything fell due while "down"
        first = await sweep(w, late)
        assert first.fired == 4  # warning + breach of first_reply, warning + breach of resolution
        again = await sweep(w, late + timedelta(hours=1))  # a new process, later
        assert again.fired == 0
        kinds = [e["kind"] for e in await w.desk.events(number)]
        assert kinds.count("sla_breach") == 2 and kinds.count("sla_warning") == 2


async def test_agent_reply_meets_first_reply_and_customer_message_starts_next_reply(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        await w.desk.reply(number, "Looking into it", agent="alice", status="pending")
        ticket = await w.desk.get(number)
        clocks = await timers_of(w, ticket["id"])
        assert clocks["target", "first_reply"].state == "stopped"
        assert clocks["target", "resolution"].state == "paused"
        from ticketing.sla import on_customer_message
        from ticketing.time import utcnow

        async with w.engine.begin() as conn:
            await on_customer_message(conn, w.config, [ticket["id"]], utcnow())
        ticket = await w.desk.get(number)
        clocks = await timers_of(w, ticket["id"])
        assert ticket["status"] == "open"  # the customer's reply reopened it
        assert clocks["target", "next_reply"].state == "active"
        assert clocks["target", "resolution"].state == "active"


async def test_pending_pauses_and_open_resumes_with_the_time_left(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        await w.desk.set_status(number, "pending", actor="agent:alice")
        ticket = await w.desk.get(number)
        paused = (await timers_of(w, ticket["id"]))["target", "resolution"]
        assert paused.state == "paused" and paused.due_at is None
        assert 7.9 * 3600 < (paused.remaining_seconds or 0) <= 8 * 3600
        report = await sweep(w, ticket["created_at"] + timedelta(days=3))
        assert report.fired == 0  # nothing runs while the customer has the ball
        await w.desk.set_status(number, "open", actor="agent:alice")
        resumed = (await timers_of(w, ticket["id"]))["target", "resolution"]
        assert resumed.state == "active" and resumed.due_at is not None
        assert resumed.due_at > ticket["created_at"] + timedelta(hours=8)


async def test_escalation_rule_fires_once_and_reroutes(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        await w.roster.add_queue("tier2")
        await w.roster.add_agent("tina", queues=["tier2"])
        angry, _ = await w.open_ticket("this is outrageous", tags=("complaint",), sentiment="negative")
        calm, _ = await w.open_ticket("broken again", tags=("complaint",), sentiment="neutral")
        answered, _ = await w.open_ticket("awful service", tags=("complaint",), sentiment="negative")
        await w.desk.reply(answered, "So sorry, fixing it now", agent="alice")
        created = (await w.desk.get(angry))["created_at"]
        assert (await sweep(w, created + timedelta(minutes=29))).fired == 0
        await sweep(w, created + timedelta(minutes=31))
        await sweep(w, created + timedelta(minutes=45))
        ticket = await w.desk.get(angry)
        assert (ticket["priority"], ticket["queue"], ticket["assignee"]) == ("urgent", "tier2", "tina")
        events = await w.desk.events(angry)
        escalated = [e for e in events if e["kind"] == "escalated"]
        assert len(escalated) == 1 and escalated[0]["actor"] == "rule:angry_unanswered"
        (notify,) = [e for e in events if e["kind"] == "notify"]
        text = f"T-{angry} waits for a first reply: this is outrageous"
        assert notify["data"] == {"slack": "#support-leads", "text": text}
        assert {e["actor"] for e in events if e["kind"] in ("priority", "queue", "assignee")} == {
            "rule:angry_unanswered"
        }
        for other in (calm, answered):
            assert not [e for e in await w.desk.events(other) if e["kind"] == "escalated"]


async def test_one_sweep_escalates_many_tickets_round_robin_within_caps(
    database_url: str, tmp_path: Path
) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        await w.roster.add_queue("tier2")
        await w.roster.add_agent("tina", queues=["tier2"], max_open=1)
        await w.roster.add_agent("tom", queues=["tier2"], max_open=1)
        numbers = [
            (await w.open_ticket(f"outrageous {n}", tags=("complaint",), sentiment="negative"))[0]
            for n in range(3)
        ]
        created = (await w.desk.get(numbers[-1]))["created_at"]
        await sweep(w)  # intake: the clocks start
        scheduler = SlaScheduler(engine=w.engine, config=lambda: w.config, batch=50)
        try:
            report = await scheduler.sweep(created + timedelta(minutes=31))  # all three in one sweep
        finally:
            await scheduler.leadership.release()
        assert report.fired >= 3
        tickets = [await w.desk.get(n) for n in numbers]
        assert [(t["priority"], t["queue"]) for t in tickets] == [("urgent", "tier2")] * 3
        assert sorted(str(t["assignee"]) for t in tickets) == ["None", "tina", "tom"]  # caps of 1 each
        kinds = [e["kind"] for e in await w.desk.events(numbers[0])]
        # the trail in the rule's order; assigning the new ticket opens it, as an agent's would
        assert kinds == ["created", "priority", "notify", "queue", "assignee", "status", "escalated"]


async def test_queues_the_rulebook_names_exist_without_being_added(database_url: str, tmp_path: Path) -> None:
    """A fresh install: nobody ran `frontdesk tickets queues tier2`, yet the escalation that
    reroutes to tier2 (as the example rulebook's does) fires whole instead of rolling back."""
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        assert "tier2" not in await w.roster.queues()
        angry, _ = await w.open_ticket("this is outrageous", tags=("complaint",), sentiment="negative")
        created = (await w.desk.get(angry))["created_at"]
        await sweep(w, created + timedelta(minutes=31))
        ticket = await w.desk.get(angry)
        assert (ticket["priority"], ticket["queue"], ticket["assignee"]) == ("urgent", "tier2", None)
        assert [e["kind"] for e in await w.desk.events(angry)].count("escalated") == 1
        assert "tier2" in await w.roster.queues()
        timers = await timers_of(w, (await w.desk.get(angry))["id"])
        assert timers[("escalation", "angry_unanswered")].state == "fired"


async def test_autoclose_closes_solved_tickets(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        solved = await w.desk.solve(number, actor="agent:alice")
        await sweep(w, solved["solved_at"] + timedelta(days=1))
        assert (await w.desk.get(number))["status"] == "solved"
        await sweep(w, solved["solved_at"] + timedelta(days=2, seconds=1))
        ticket = await w.desk.get(number)
        assert ticket["status"] == "closed" and ticket["closed_at"] is not None
        last = [e for e in await w.desk.events(number) if e["kind"] == "status"][-1]
        assert (last["actor"], last["data"]) == ("system:autoclose", {"from": "solved", "to": "closed"})
        assert (
            await w.count(TicketEvent, TicketEvent.kind == "status", TicketEvent.ticket_id == ticket["id"])
            == 2
        )


async def test_a_sweep_longer_than_the_interval_is_left_to_finish_quietly(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A burst of new tickets makes a sweep outlast the interval: the ticks meanwhile neither
    start a second sweep nor log APScheduler's 'skipped: maximum number of running instances'
    WARNING on every tick; the running sweep takes everything in."""
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        numbers = [(await w.open_ticket(f"burst {n}"))[0] for n in range(40)]
        scheduler = SlaScheduler(engine=w.engine, config=lambda: w.config, interval=0.01, batch=1)
        caplog.set_level(logging.INFO)
        await scheduler.start()
        try:
            for _ in range(200):
                tickets = [await w.desk.get(n) for n in numbers]
                if all(t["sla_policy"] for t in tickets):
                    break
                await asyncio.sleep(0.05)
        finally:
            await scheduler.stop()
        assert all(t["sla_policy"] == "standard" for t in tickets)
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r for r in warnings if r.name.startswith("apscheduler")] == []


@asynccontextmanager
async def statements(w: World) -> AsyncIterator[list[str]]:
    """The SQL sent to the database meanwhile."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        sent.append(sql)

    event.listen(w.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(w.engine.sync_engine, "before_cursor_execute", count)


async def test_intake_sends_the_same_few_statements_for_one_ticket_or_twenty(
    database_url: str, tmp_path: Path
) -> None:
    """On SQLite the sweep's transaction holds the connection every chat is written through:
    taking tickets in one by one, a few statements each, stalled all chats for 100-250 ms per
    20 new tickets under load. A batch's statements do not grow with its tickets; every
    ticket still gets its policy and clocks, and a follow-up is still linked."""
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        first, ref = await w.open_ticket("the first")
        await w.desk.solve(first, actor="agent:alice")
        closed = await w.desk.set_status(first, "closed", actor="agent:alice")
        follow_up, _ = await w.open_ticket("it broke again", conversation=ref)
        async with statements(w) as one:
            assert (await sweep(w, batch=25)).taken_in == 1
        burst = [(await w.open_ticket(f"burst {n}", tags=("vip",) if n % 2 else ()))[0] for n in range(20)]
        async with statements(w) as twenty:
            assert (await sweep(w, batch=25)).taken_in == 20
        assert len(twenty) <= len(one)  # the follow-up's link is the one per-ticket extra
        tickets = [await w.desk.get(n) for n in burst]
        assert [t["sla_policy"] for t in tickets] == ["vip" if n % 2 else "standard" for n in range(20)]
        for ticket in tickets:
            assert ("target", "first_reply") in await timers_of(w, ticket["id"])
        assert (await w.desk.get(follow_up))["previous_ticket_id"] == closed["id"]


async def test_many_auto_closes_are_one_sweep_of_the_same_few_statements(
    database_url: str, tmp_path: Path
) -> None:
    """Auto-close, ticket by ticket, sent some seven statements each (20 held SQLite's one
    connection for 170 ms on an idle machine): twelve close with the statements of one, each
    with its event, its clocks stopped and its conversation free for a follow-up."""
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:

        async def solve_and_close(count: int) -> tuple[list[tuple[int, ConversationRef]], list[str]]:
            opened = [await w.open_ticket(f"ticket {n}") for n in range(count)]
            solved = [await w.desk.solve(number, actor="agent:alice") for number, _ in opened]
            async with statements(w) as sent:
                later = max(t["solved_at"] for t in solved) + timedelta(days=2, seconds=1)
                report = await sweep(w, later, batch=25)
            assert (report.fired, report.failed) == (count, 0)
            return opened, sent

        _, one = await solve_and_close(1)
        opened, twelve = await solve_and_close(12)
        assert len(twelve) <= len(one)
        for number, ref in opened:
            ticket = await w.desk.get(number)
            assert ticket["status"] == "closed" and ticket["closed_at"] is not None
            last = [e for e in await w.desk.events(number) if e["kind"] == "status"][-1]
            assert (last["actor"], last["data"]) == ("system:autoclose", {"from": "solved", "to": "closed"})
            assert {t.state for t in (await timers_of(w, ticket["id"])).values()} <= {"stopped", "fired"}
            (conversation,) = await w.rows(select(Conversation).where(Conversation.id == ref.id))
            assert conversation.open_ticket_id is None and conversation.previous_ticket_id == ticket["id"]


async def test_an_auto_close_the_database_refuses_fails_alone(database_url: str, tmp_path: Path) -> None:
    """The auto-closes go together; when the database refuses one (here a trigger, as an
    operator's own rule might), they are retried one by one: that one is marked failed and
    stays solved, the others close."""
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        opened = [(await w.open_ticket(f"ticket {n}"))[0] for n in range(3)]
        solved = [await w.desk.solve(number, actor="agent:alice") for number in opened]
        refused = solved[1]["id"]
        async with w.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text(
                    "CREATE FUNCTION refuse_close() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.id = {refused} AND NEW.status = 'closed' THEN RAISE EXCEPTION 'not this one'; "
                    "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                ))  # fmt: skip
                await conn.execute(text(
                    "CREATE TRIGGER refuse_close BEFORE UPDATE ON tickets "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_close()"
                ))  # fmt: skip
            else:
                await conn.execute(text(
                    "CREATE TRIGGER refuse_close BEFORE UPDATE OF status ON tickets "
                    f"WHEN NEW.id = {refused} AND NEW.status = 'closed' "
                    "BEGIN SELECT RAISE(ABORT, 'not this one'); END"
                ))  # fmt: skip
        later = max(t["solved_at"] for t in solved) + timedelta(days=2, seconds=1)
        report = await sweep(w, later, batch=25)
        assert (report.fired, report.failed) == (2, 1)
        assert [(await w.desk.get(n))["status"] for n in opened] == ["closed", "solved", "closed"]
        clocks = await timers_of(w, refused)
        assert clocks["autoclose", "autoclose"].state == "failed"
