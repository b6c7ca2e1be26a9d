"""Write-path cost of a batch of web-chat turns: ``Turns.record`` against plain driver writes.

64 web-chat clients (``--clients``) each keep a conversation and send messages shaped like
bench/webchat_throughput.py's (the same eight texts, one bot reply each, with the delivery
payload and analysis summary the flow stores; two of the texts open a ticket when the
conversation has none; every ``--session-turns`` messages a client starts a new session, so
tickets keep being opened and joined). Per round all clients call ``Turns.record`` at once,
which group-commits them into one batch. Measured in one run, on one fresh database:

1. ``turns``: ``Turns.record`` with the example rulebook's SLA config (CSAT, reopen,
   next-reply clocks), as ``frontdesk serve`` runs it: turns/s and CPU ms per batch, both of
   the event-loop thread (``time.thread_time``: what competes with HTTP and analysis) and of
   the whole process (incl. the aiosqlite driver thread);
2. ``baseline``: the same rows (dedup keys, inbound and reply interactions, outbox, tickets
   and their 'created' events, conversation counters, touched tickets) written with the bare
   driver (aiosqlite / asyncpg ``executemany``), one transaction per batch, from values
   prepared in memory -- the floor of what writing these rows costs in Python;
3. ``sweep_idle``: ``SlaScheduler.sweep`` with nothing due (it runs every 0.5 s), loop-thread
   CPU ms per call.

Prints JSON.

    .venv/bin/python bench/turn_write_cost.py --engine sqlite [--rounds 300]
    .venv/bin/python bench/turn_write_cost.py --engine postgres [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webchat_throughput import TEXTS as WEBCHAT_TEXTS  # noqa: E402

from ticketing.customers import ConversationRef, Customers  # noqa: E402
from ticketing.database import create_engine, upgrade  # noqa: E402
from ticketing.scheduler import SlaScheduler  # noqa: E402
from ticketing.sla_config import load_sla_config  # noqa: E402
from ticketing.turns import (  # noqa: E402
    ConversationState,
    InboundRecord,
    Plan,
    ReplyRecord,
    TicketDraft,
    Turn,
    Turns,
)

# The web chat benchmark's messages, so the two measure the same mix (they run from bench/).
TEXTS = WEBCHAT_TEXTS
OPENS = {4: ("complaint", "high"), 7: ("billing", "normal")}  # text index → ticket rule, priority


def analysis(index: int, rule: str) -> dict[str, Any]:
    """What ``bot.turn_plan.summarize`` keeps of an analysis."""
    negative = index in OPENS
    return {
        "intent": f"intent_{index}", "confidence": 0.9132, "out_of_scope": False,
        "sentiment": {"score": -0.4 if negative else 0.1, "label": "negative" if negative else "neutral"},
        "entities": [{"type": "order_id", "value": "12345"}] if index == 7 else [],
        "faq": {"id": f"faq_{index}", "score": 0.88}, "rule": rule, "reason": "faq match",
        "model": "bench-1",
    }  # fmt: skip


def delivery(ref: ConversationRef, ticket: str | None) -> dict[str, Any]:
    """What ``bot.delivery.delivery_for`` stores for a web-chat reply."""
    return {
        "channel": "webchat", "external_user_id": ref.external_user_id,
        "external_thread_id": ref.external_thread_id, "conversation_id": ref.id,
        "conversation_public_id": ref.public_id, "sender_role": "bot", "sender_name": "Frontdesk",
        "subject": None, "in_reply_to": None,
        "quick_replies": [{"label": "Talk to a human", "payload": "agent"}],
        "metadata": {"ticket": ticket} if ticket else {},
    }  # fmt: skip


def planner(ref: ConversationRef, index: int) -> Callable[[ConversationState, Callable[[], int]], Plan]:
    def plan(state: ConversationState, take_number: Callable[[], int]) -> Plan:
        opening = OPENS.get(index) if state.open_ticket_number is None else None
        rule = opening[0] if opening else f"faq_{index}"
        draft = None
        if opening is not None:
            draft = TicketDraft(
                take_number(), TEXTS[index], f"rule:{rule}", priority=opening[1], tags=(rule,)
            )
        number = draft.number if draft else state.open_ticket_number
        ticket = f"T-{number}" if number is not None else None
        reply = ReplyRecord(
            text=f"Answer {index}" + (f" ({ticket})" if ticket else ""),
            delivery=delivery(ref, ticket),
            sender_name="Frontdesk",
            rule=rule,
            quick_replies=({"label": "Talk to a human", "payload": "agent"},),
        )
        return Plan(analysis=analysis(index, rule), open_ticket=draft, replies=(reply,), rules_fired=(rule,))

    return plan


@dataclass
class Clients:
    """The clients' current conversations and message counters."""

    customers: Customers
    session_turns: int
    refs: list[ConversationRef] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)

    async def start(self, clients: int) -> None:
        for _ in range(clients):
            self.refs.append(await self.customers.start_session("webchat"))
            self.sent.append(0)

    async def next_round(self) -> list[tuple[ConversationRef, int, str]]:
        """(conversation, text index, idempotency key) of each client's next message."""
        out = []
        for i, ref in enumerate(self.refs):
            n = self.sent[i]
            if n and (n + i) % self.session_turns == 0:
                ref = self.refs[i] = await self.customers.start_session("webchat")
            self.sent[i] = n + 1
            out.append((ref, (i + n) % len(TEXTS), f"{ref.public_id}-m{n}"))
        return out


@dataclass
class Meter:
    """Wall time, loop-thread CPU and process CPU of the measured rounds."""

    wall: list[float] = field(default_factory=list)
    loop_cpu: list[float] = field(default_factory=list)
    proc_cpu: list[float] = field(default_factory=list)

    async def measure(self, work: Awaitable[object]) -> None:
        w, t, p = time.perf_counter(), time.thread_time(), time.process_time()
        await work
        self.wall.append(time.perf_counter() - w)
        self.loop_cpu.append(time.thread_time() - t)
        self.proc_cpu.append(time.process_time() - p)

    def report(self, per_round: int) -> dict[str, float]:
        wall = sum(self.wall)
        return {
            "turns_per_s": round(per_round * len(self.wall) / wall, 1),
            "batch_wall_ms_median": round(statistics.median(self.wall) * 1000, 2),
            "loop_cpu_ms_per_batch": round(statistics.median(self.loop_cpu) * 1000, 2),
            "process_cpu_ms_per_batch": round(statistics.median(self.proc_cpu) * 1000, 2),
            "loop_cpu_us_per_turn": round(statistics.median(self.loop_cpu) * 1e6 / per_round, 1),
        }


async def bench_turns(turns: Turns, clients: Clients, rounds: int, warmup: int) -> dict[str, float]:
    meter = Meter()
    for n in range(warmup + rounds):
        batch = await clients.next_round()
        records = [
            Turn(
                InboundRecord(ref, "webchat", key, TEXTS[index], datetime.now(UTC), sender_name="Visitor"),
                planner(ref, index),
            )
            for ref, index, key in batch
        ]
        work = asyncio.gather(*(turns.record(t) for t in records))
        if n < warmup:
            await work
        else:
            await meter.measure(work)
    return meter.report(len(clients.refs))


class RawWriter:
    """The baseline: the same rows through the bare driver, one transaction per batch."""

    def __init__(self, *, sqlite: aiosqlite.Connection | None, pg: asyncpg.Connection | None) -> None:
        self.sqlite, self.pg = sqlite, pg
        self.tickets: dict[int, tuple[int, int]] = {}  # conversation → (ticket id, number)
        self.counters: dict[int, tuple[int, int, dict[str, int], list[str]]] = {}
        self.number = 10_000_000

    def sql(self, text: str) -> str:
        """``?`` placeholders for sqlite, ``$n`` for asyncpg."""
        if self.pg is None:
            return text
        parts = text.split("?")
        return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))

    def ts(self, value: datetime) -> object:
        return value if self.pg is not None else value.strftime("%Y-%m-%d %H:%M:%S.%f")

    async def ids(self, table: str, n: int) -> list[int]:
        if self.pg is not None:
            rows = await self.pg.fetch(f"SELECT nextval('{table}_id_seq') FROM generate_series(1, $1)", n)
            return [r[0] for r in rows]
        assert self.sqlite is not None
        async with self.sqlite.execute(f"SELECT coalesce(max(id), 0) FROM {table}") as cur:
            row = await cur.fetchone()
        top = int(row[0]) if row else 0
        return list(range(top + 1, top + 1 + n))

    async def many(self, text: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.pg is not None:
            await self.pg.executemany(self.sql(text), rows)
        else:
            assert self.sqlite is not None
            await self.sqlite.executemany(text, rows)

    async def write(self, batch: list[tuple[ConversationRef, int, str]], customer_of: dict[int, int]) -> None:
        if self.pg is not None:
            async with self.pg.transaction():
                await self._write(batch, customer_of)
        else:
            assert self.sqlite is not None
            await self.sqlite.execute("BEGIN IMMEDIATE")
            await self._write(batch, customer_of)
            await self.sqlite.commit()

    async def _write(
        self, batch: list[tuple[ConversationRef, int, str]], customer_of: dict[int, int]
    ) -> None:
        now = datetime.now(UTC)
        ts, dumps = self.ts(now), json.dumps
        await self.many(
            "INSERT INTO inbound_dedup (channel, key, created_at) VALUES (?, ?, ?)",
            [("webchat", key, ts) for _ref, _i, key in batch],
        )
        opening = [(ref, i) for ref, i, _k in batch if i in OPENS and ref.id not in self.tickets]
        joined = sorted({self.tickets[ref.id][0] for ref, _i, _k in batch if ref.id in self.tickets})
        for (ref, _i), ticket_id in zip(opening, await self.ids("tickets", len(opening)), strict=True):
            self.number += 1
            self.tickets[ref.id] = (ticket_id, self.number)
        await self.many(
            "INSERT INTO tickets (id, number, customer_id, conversation_id, channel, subject, status,"
            " priority, queue, tags, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'webchat', ?, 'new', ?, 'support', ?, ?, ?)",
            [(*self.tickets[ref.id], customer_of[ref.id], ref.id, TEXTS[i], OPENS[i][1],
              dumps([OPENS[i][0]]), ts, ts)
             for ref, i in opening],
        )  # fmt: skip
        await self.many(
            "INSERT INTO ticket_events (ticket_id, actor, kind, data, created_at)"
            " VALUES (?, ?, 'created', ?, ?)",
            [(self.tickets[ref.id][0], f"rule:{OPENS[i][0]}", dumps({"status": "new", "priority": OPENS[i][1],
              "queue": "support", "subject": TEXTS[i]}), ts) for ref, i in opening],
        )  # fmt: skip
        ids = await self.ids("interactions", 2 * len(batch))
        inbound, out = ids[: len(batch)], ids[len(batch) :]
        rows, replies, outbox, conversations = [], [], [], []
        for (ref, i, _key), in_id, out_id in zip(batch, inbound, out, strict=True):
            ticket = self.tickets.get(ref.id)
            tid = ticket[0] if ticket else None
            rule = OPENS[i][0] if (ref, i) in opening else f"faq_{i}"
            summary = dumps(analysis(i, rule))
            rows.append((in_id, ref.id, customer_of[ref.id], tid, "webchat", "in", "customer", "Visitor",
                         TEXTS[i], None, "[]", "[]", None, None, summary, None, ts, ts))  # fmt: skip
            quick = dumps([{"label": "Talk to a human", "payload": "agent"}])
            replies.append((out_id, ref.id, customer_of[ref.id], tid, "webchat", "out", "bot", "Frontdesk",
                            f"Answer {i}", None, "[]", quick, None, in_id, None, rule, None, ts))  # fmt: skip
            payload = {**delivery(ref, f"T-{ticket[1]}" if ticket else None), "interaction_id": out_id,
                       "text": f"Answer {i}", "created_at": now.isoformat()}  # fmt: skip
            outbox.append((out_id, "webchat", dumps(payload), ts, ts))
            turns, automated, fires, recent = self.counters.get(ref.id, (0, 0, {}, []))
            fires = {**fires, rule: fires.get(rule, 0) + 1}
            recent = [*recent, rule][-3:]
            self.counters[ref.id] = (turns + 1, automated + 1, fires, recent)
            conversations.append((ts, tid, ticket[1] if ticket else None, turns + 1, automated + 1,
                                  dumps(fires), dumps(recent), ref.id))  # fmt: skip
        insert = (
            "INSERT INTO interactions (id, conversation_id, customer_id, ticket_id, channel, direction,"
            " sender_role, sender_name, text, subject, attachments, quick_replies, external_message_id,"
            " in_reply_to_id, analysis, rule, processed_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        await self.many(insert, rows)
        await self.many(
            "UPDATE inbound_dedup SET interaction_id = ? WHERE channel = 'webchat' AND key = ?",
            [(in_id, key) for (_r, _i, key), in_id in zip(batch, inbound, strict=True)],
        )
        await self.many(insert, replies)
        await self.many(
            "INSERT INTO outbox (interaction_id, channel, payload, state, attempts, next_attempt_at,"
            " created_at) VALUES (?, ?, ?, 'pending', 0, ?, ?)",
            outbox,
        )
        await self.many(
            "UPDATE conversations SET status = 'open', last_message_at = ?, open_ticket_id = ?,"
            " open_ticket_number = ?, handed_off = false, turns = ?, automated_replies = ?, rule_fires = ?,"
            " recent_rules = ? WHERE id = ?",
            conversations,
        )
        await self.many("UPDATE tickets SET updated_at = ? WHERE id = ?", [(ts, t) for t in joined])


async def bench_baseline(writer: RawWriter, clients: Clients, rounds: int, warmup: int) -> dict[str, float]:
    meter = Meter()
    customer_of: dict[int, int] = {}
    for n in range(warmup + rounds):
        batch = await clients.next_round()
        for ref, _i, _k in batch:
            if ref.id not in customer_of:
                customer_of[ref.id] = (await clients.customers.customer_of(ref.id)).id
        work = writer.write(batch, customer_of)
        if n < warmup:
            await work
        else:
            await meter.measure(work)
    return meter.report(len(clients.refs))


async def per_call(work: Callable[[], Awaitable[object]], calls: int) -> dict[str, float]:
    loop_cpu, wall = [], []
    for _ in range(calls):
        w, t = time.perf_counter(), time.thread_time()
        await work()
        loop_cpu.append(time.thread_time() - t)
        wall.append(time.perf_counter() - w)
    return {
        "loop_cpu_ms_median": round(statistics.median(loop_cpu) * 1000, 3),
        "wall_ms_median": round(statistics.median(wall) * 1000, 3),
    }


async def run(url: str, raw: str, args: argparse.Namespace) -> dict[str, Any]:
    await upgrade(url)
    engine = create_engine(url)
    config = load_sla_config(ROOT / "rulebook")
    customers = Customers(engine=engine)
    turns = Turns(engine=engine, ticket_config=lambda: config)
    try:
        clients = Clients(customers, args.session_turns)
        await clients.start(args.clients)
        result: dict[str, Any] = {"turns": await bench_turns(turns, clients, args.rounds, args.warmup)}
        scheduler = SlaScheduler(engine=engine, config=lambda: config)
        await scheduler.sweep()  # takes in the tickets the turns opened
        result["sweep_idle"] = await per_call(scheduler.sweep, 100)
        await scheduler.stop()
        base = Clients(customers, args.session_turns)
        await base.start(args.clients)
        if raw.startswith("postgresql"):
            pg = await asyncpg.connect(raw)
            writer, close = RawWriter(sqlite=None, pg=pg), pg.close
        else:
            lite = await aiosqlite.connect(raw, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                await lite.execute(f"PRAGMA {pragma}")
            writer, close = RawWriter(sqlite=lite, pg=None), lite.close
        try:
            result["baseline"] = await bench_baseline(writer, base, args.rounds, args.warmup)
        finally:
            await close()
    finally:
        await turns.close()
        await engine.dispose()
    ratio = result["turns"]["loop_cpu_ms_per_batch"] / max(result["baseline"]["loop_cpu_ms_per_batch"], 1e-9)
    result["loop_cpu_ratio_to_baseline"] = round(ratio, 2)
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--session-turns", type=int, default=20)
    args = parser.parse_args()
    admin_dsn = args.pg.replace("postgresql+asyncpg://", "postgresql://")
    database = f"fd_bench_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory() as tmp:
        if args.engine == "sqlite":
            url, raw = f"sqlite+aiosqlite:///{tmp}/bench.db", f"{tmp}/bench.db"
        else:
            admin = await asyncpg.connect(admin_dsn)
            await admin.execute(f'CREATE DATABASE "{database}"')
            await admin.close()
            url, raw = (
                args.pg.rsplit("/", 1)[0] + "/" + database,
                admin_dsn.rsplit("/", 1)[0] + "/" + database,
            )
        try:
            result = await run(url, raw, args)
        finally:
            if args.engine == "postgres":
                admin = await asyncpg.connect(admin_dsn)
                await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                await admin.close()
    print(json.dumps({"benchmark": "turn_write_cost", "engine": args.engine, "clients": args.clients,
                      "rounds": args.rounds, **result}, indent=2))  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
