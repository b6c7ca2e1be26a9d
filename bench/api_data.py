"""The REST API benchmark's data: a support desk's history, synthetic and seeded, bulk-loaded.

Provenance: every row is generated here from a small built-in vocabulary (product words, problem
phrases, first and last names) with a fixed seed; no outside data, so no licence is needed and
two runs with the same ``--seed`` and sizes load the same rows. Words are drawn with a Zipf-like
distribution (weight 1/rank), so a search finds terms of realistic selectivity: common words
(``order``, ``jacket``) in a large share of messages, tail products in a few per cent, a
customer's full name in a few dozen, an order number (one per ticket, said in its first
message) in one ticket.

The shape: ``tickets / 5`` customers, each with one channel identity (web chat, email,
Telegram, Slack); one conversation per ticket; tickets over two years with the status a desk
has (most old ones closed, the recent ones new, open, pending), queues, priorities, up to three
tags and an assignee drawn from 60 agents, all skewed; about ``interactions / tickets`` messages
each, customer and bot or agent in turn. The counters the app keeps consistent are loaded too:
the ticket number tally (``counters``), each conversation's turns and automated replies and its
open ticket, every ticket marked as taken in by the SLA intake (``intake_at``; no timers), so a
server starts on the data as it would on a desk that grew to this size.

With ``reports=True`` (``bench/reports.py``) the rows also carry what the report rollups count,
drawn from a second seeded generator so the other tables' rows stay the same: an analysis summary
on every customer message (a Zipf-weighted intent of 24, a sentiment label, complaint 8 %, out of
scope 5 %, answered by the fallback rule 3 %) and each ticket's audit trail in time order:
``created`` (its queue), one ``reply`` per agent message, ``status`` to solved (and closed) at its
last update, two SLA target timers (first reply 4 h, resolution 48 h; ``sla_timers``) with an
``sla_breach`` event when the timing missed one, and a ``csat`` rating on 30 % of solved tickets.
``span_days`` (default 730) is how far back the tickets go.

Loading: the schema comes from the real migrations (``ticketing.database.upgrade``); then the
secondary indexes of the big tables are dropped, the rows written in chunks (PostgreSQL:
``COPY`` through asyncpg with foreign-key triggers off for the session; SQLite: ``executemany``
in large transactions with ``synchronous=OFF``), and the indexes recreated. Rows are consistent
by construction, so no constraint is skipped that the data would break. The full-text search
index (``ticketing/ticket_search.py``) is built as a deployment's is: on PostgreSQL its GIN
indexes are created after the load like the others (timed apart: ``search_indexes_s``), as
upgrading a grown database does; on SQLite its FTS5 tables are filled after the load by one
``INSERT … SELECT`` per table and the background indexer's cursors set past them (what migration
0011 does on a database that has rows), and the triggers are then put back.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ticketing.json_text import dumps
from ticketing.ticket_search import UNCOMPARED as SEARCH_INDEXES

__all__ = ["Synthetic", "load_postgresql", "load_sqlite"]

DAY = 86400.0
PRODUCTS = (  # noqa: SIM905
    "jacket parka hoodie sweater fleece boots sneakers sandals backpack duffel tent sleeping-bag "
    "gloves scarf beanie socks leggings shorts raincoat vest headlamp bottle stove trekking-poles "
    "gaiters windbreaker thermals cap belt wallet umbrella poncho hammock lantern compass mat "
    "carabiner harness helmet kayak paddle"
).split()
COLOURS = "black navy olive red grey blue green white sand orange".split()  # noqa: SIM905
PROBLEMS = (
    "my {p} arrived with a broken zipper",
    "the {p} I ordered has not arrived yet",
    "I was charged twice for the {p}",
    "the {c} {p} is the wrong size, can I exchange it",
    "how do I return the {p}",
    "the tracking page for my {p} shows nothing",
    "the {p} came in {c} but I ordered {c2}",
    "my refund for the {p} has not come through",
    "the seam on my {p} split after one week",
    "can I change the delivery address for the {p}",
    "the discount code did not work on the {p}",
    "is the {c} {p} back in stock",
    "the {p} and the {p2} were in separate parcels and one is missing",
    "the courier left my {p} at the wrong house",
    "I want to cancel the {p} before it ships",
    "the invoice for the {p} has the wrong company name",
    "the {p} smells of chemicals, is that normal",
    "the warranty claim for my {p} was rejected",
)
OPENERS = ("Hi,", "Hello,", "Hey", "Good morning,", "Hi there,", "", "", "Dear support,")
CLOSERS = ("Thanks", "Thank you", "Regards", "Cheers", "Best", "")
REPLIES = (
    "Thanks for reaching out, we are looking into your {p} now.",
    "Sorry about the {p}. I have started a replacement, you will get a tracking link by email.",
    "You can return the {p} within 30 days from your account page, the label is free.",
    "Your refund for the {p} was issued today and takes 3-5 business days to show.",
    "I checked with the courier: the {p} is at the local depot and goes out tomorrow.",
    "Could you send a photo of the {p} and the label on the box?",
    "The {c} {p} is back in stock next week, I can reserve one for you.",
    "I have changed the address on the order, the {p} ships today.",
    "Our warehouse confirmed the {p} is missing from the parcel; a new one is on its way.",
    "Glad we could help with the {p}. Is there anything else?",
)
FIRST = (  # noqa: SIM905
    "Anna Ben Carla David Emma Felix Greta Hugo Ines Jonas Karin Lukas Maria Nils Olga Paul Quinn "
    "Rosa Sven Tara Uwe Vera Walter Xenia Yusuf Zoe Aisha Bruno Chen Dmitri Elena Farid Giulia "
    "Hana Ivan Julia Kenji Lena Marco Nora Omar Priya Rafael Sofia Tomas Ulla Viktor Wen Yara "
    "Zeynep Amir Beatriz Camille Diego Eva Fatima Gustav Helga Igor Jana"
).split()
LAST = (  # noqa: SIM905
    "Berg Novak Silva Meyer Kowalski Rossi Jensen Dubois Fischer Garcia Hansen Ivanova Jones Kaya "
    "Larsen Moreau Nakamura Olsen Petrov Quist Richter Santos Tanaka Urban Vogel Weber Yilmaz "
    "Zimmermann Andersson Bauer Costa Dahl Eriksen Ferreira Gruber Horvat Ito Jovanovic Keller "
    "Lindqvist Martins Nielsen Ortiz Pereira Romano Schmid Torres Varga Wagner Young"
).split()
STATUSES_RECENT = (("new", 20), ("open", 35), ("pending", 20), ("on-hold", 5), ("solved", 15), ("closed", 5))
STATUSES_OLD = (("closed", 86), ("solved", 8), ("pending", 3), ("on-hold", 1), ("open", 2))
QUEUES = (("support", 60), ("billing", 15), ("returns", 12), ("tier2", 9), ("vip", 4))
PRIORITIES = (("normal", 70), ("low", 10), ("high", 15), ("urgent", 5))
TAGS = (  # noqa: SIM905
    "shipping refund exchange damaged missing-item warranty invoice address discount stock "
    "courier cancel sizing vip complaint repeat-contact b2b gift wholesale press fraud-check "
    "chargeback escalated social-media legal"
).split()
CHANNELS = (("webchat", 40), ("email", 35), ("telegram", 15), ("slack", 10))
AGENTS = [f"agent{n:02d}" for n in range(1, 61)]


def zipf(words: list[str] | tuple[str, ...], s: float = 1.0) -> tuple[list[str], list[float]]:
    """``words`` with cumulative weights 1/rank**s, for ``random.choices(..., cum_weights=...)``."""
    total, cum = 0.0, []
    for rank in range(1, len(words) + 1):
        total += 1.0 / rank**s
        cum.append(total)
    return list(words), cum


def weighted(pairs: tuple[tuple[str, int], ...]) -> list[str]:
    """A list to pick from uniformly that holds each value ``weight`` times."""
    return [value for value, weight in pairs for _ in range(weight)]


def order_number(ticket_id: int) -> str:
    """Unique per ticket (7919 is prime, so coprime to 9,000,000) and not in id order."""
    return str(1_000_000 + ticket_id * 7919 % 9_000_000)


@dataclass(frozen=True)
class Sizes:
    tickets: int
    interactions: int

    @property
    def customers(self) -> int:
        return max(1, self.tickets // 5)


class Synthetic:
    """Seeded rows in each table's column order; ``stamp`` turns epoch seconds into what the
    engine's driver takes (a datetime for asyncpg, SQLAlchemy's text form for SQLite)."""

    CUSTOMER = ("id", "display_name", "email", "tags", "attributes", "created_at", "updated_at")
    IDENTITY = ("id", "customer_id", "channel", "external_id", "display_name", "created_at")
    CONVERSATION = (
        "id", "public_id", "customer_id", "identity_id", "channel", "external_thread_id", "status",
        "handed_off", "open_ticket_id", "open_ticket_number", "subject", "created_at", "last_message_at",
        "turns", "automated_replies",
    )  # fmt: skip
    TICKET = (
        "id", "number", "customer_id", "conversation_id", "channel", "subject", "status", "priority",
        "queue", "tags", "assignee", "created_at", "updated_at", "intake_at", "first_reply_at",
        "solved_at", "closed_at",
    )  # fmt: skip
    INTERACTION = (
        "id", "conversation_id", "customer_id", "ticket_id", "channel", "direction", "sender_role",
        "sender_name", "text", "attachments", "quick_replies", "rule", "processed_at", "created_at",
    )  # fmt: skip

    EVENT = ("id", "ticket_id", "actor", "kind", "data", "created_at")
    TIMER = (
        "id", "ticket_id", "kind", "name", "state", "due_at", "remaining_seconds", "calendar", "created_at",
        "fired_at", "fired_by",
    )  # fmt: skip

    def __init__(
        self,
        sizes: Sizes,
        *,
        seed: int,
        now: float,
        stamp: Callable[[float], Any],
        span_days: float = 730.0,
        reports: bool = False,
    ) -> None:
        self.sizes, self.now, self.stamp = sizes, now, stamp
        self.span_days, self.reports = span_days, reports
        self.start = now - span_days * DAY
        self.extra = random.Random(seed + 25)  # the reports' additions: the other rows stay the same
        self.intents, self.intent_cum = zipf([f"intent_{n:02d}" for n in range(24)])
        self.interaction_columns = (*self.INTERACTION, "analysis") if reports else self.INTERACTION
        self.rng = random.Random(seed)
        rng = self.rng
        products, cum = zipf(PRODUCTS)
        self.customer_channel = [
            rng.choice(weighted(CHANNELS)) for _ in range(min(sizes.customers, 4096))
        ]  # by id modulo: cheap and seeded
        self.names = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(4096)]

        def said(template: str) -> str:
            p, p2 = rng.choices(products, cum_weights=cum, k=2)
            c, c2 = rng.sample(COLOURS, 2)
            return template.format(p=p, p2=p2, c=c, c2=c2)

        self.inbound = [f"{rng.choice(OPENERS)} {said(rng.choice(PROBLEMS))}.".lstrip() for _ in range(20000)]
        self.outbound = [said(rng.choice(REPLIES)) for _ in range(4000)]
        self.statuses_recent, self.statuses_old = weighted(STATUSES_RECENT), weighted(STATUSES_OLD)
        self.queues, self.priorities = weighted(QUEUES), weighted(PRIORITIES)
        self.tags, self.tag_cum = zipf(TAGS)
        self.agents, self.agent_cum = zipf(AGENTS, 0.5)  # some agents work more

    def name(self, customer_id: int) -> str:
        return self.names[customer_id * 2654435761 % len(self.names)]

    def channel(self, customer_id: int) -> str:
        return self.customer_channel[customer_id % len(self.customer_channel)]

    def customers(self) -> Iterator[tuple[Any, ...]]:
        n, s = self.sizes.customers, self.stamp
        for cid in range(1, n + 1):
            at = s(self.start + (cid - 1) * (self.span_days - 30) * DAY / n)
            name = self.name(cid)
            email = f"{name.replace(' ', '.').lower()}.{cid}@example.com" if cid % 5 < 3 else None
            yield (cid, name, email, "[]", "{}", at, at)

    def identities(self) -> Iterator[tuple[Any, ...]]:
        n, s = self.sizes.customers, self.stamp
        for cid in range(1, n + 1):
            channel = self.channel(cid)
            external = (
                f"{self.name(cid).replace(' ', '.').lower()}.{cid}@example.com"
                if channel == "email"
                else f"{channel}-{cid}"
            )
            at = s(self.start + (cid - 1) * (self.span_days - 30) * DAY / n)
            yield (cid, cid, channel, external, self.name(cid), at)

    def analysis(self) -> str:
        """A customer message's analysis summary, as ``bot/turn_plan.py`` stores it."""
        x = self.extra
        r = x.random()
        label = "negative" if r < 0.25 else "neutral" if r < 0.8 else "positive"
        return dumps({
            "intent": x.choices(self.intents, cum_weights=self.intent_cum)[0],
            "sentiment": {"label": label, "score": round(x.random(), 3)},
            "complaint": {"is": x.random() < 0.08, "confidence": 0.9},
            "out_of_scope": x.random() < 0.05,
            "rule": "fallback" if x.random() < 0.03 else "faq",
        })  # fmt: skip

    def trail(
        self, tid: int, queue: str, created: float, updated: float, status: str, replies: list[float]
    ) -> tuple[list[tuple[float, str, str, dict[str, Any]]], list[tuple[str, str, float, float | None]]]:
        """A ticket's audit trail (time, actor, kind, data), in time order, and its SLA target
        timers (name, state, due, fired)."""
        x, now = self.extra, self.now
        events: list[tuple[float, str, str, dict[str, Any]]] = [
            (created, "rule:open_ticket", "created", {"queue": queue})
        ]
        events += [(at, "agent:agent01", "reply", {}) for at in replies]
        solved = status in ("solved", "closed")
        if solved:
            events.append((updated, "agent:agent01", "status", {"from": "open", "to": "solved"}))
            if status == "closed":
                events.append((updated, "system", "status", {"from": "solved", "to": "closed"}))
            if x.random() < 0.3 and updated + 600 < now:
                score = x.choices((1, 2, 3, 4, 5), (10, 8, 12, 25, 45))[0]
                events.append((updated + 600, "customer", "csat", {"score": score}))
        timers = []
        for name, limit, done in (
            ("first_reply", 4 * 3600.0, replies[0] if replies else None),
            ("resolution", 48 * 3600.0, updated if solved else None),
        ):
            due = created + limit
            missed = (done if done is not None else now) > due
            state = "fired" if missed else "stopped" if done is not None else "active"
            timers.append((name, state, due, due if missed else None))
            if missed:
                events.append((due, "system", "sla_breach", {"target": name}))
        events.sort(key=lambda e: e[0])
        return events, timers

    def chunks(self, size: int) -> Iterator[tuple[list[tuple[Any, ...]], ...]]:
        """(conversations, tickets, interactions, events, timers) for ``size`` tickets at a time,
        in id order (events and timers only with ``reports``)."""
        n, per = self.sizes.tickets, self.sizes.interactions / self.sizes.tickets
        rng, s, customers = self.rng, self.stamp, self.sizes.customers
        span = self.now - self.start - DAY
        recent = self.now - 30 * DAY
        next_id, spread, next_event, next_timer = 1, 0, 1, 1
        for first in range(1, n + 1, size):
            conversations: list[tuple[Any, ...]] = []
            tickets: list[tuple[Any, ...]] = []
            interactions: list[tuple[Any, ...]] = []
            events: list[tuple[Any, ...]] = []
            timers: list[tuple[Any, ...]] = []
            for tid in range(first, min(first + size, n + 1)):
                created = self.start + (tid - 1) * span / n + rng.random() * 600
                cid = int(customers * rng.random() ** 2) + 1  # a few customers write often
                channel, name = self.channel(cid), self.name(cid)
                status = rng.choice(self.statuses_recent if created > recent else self.statuses_old)
                # Messages alternate customer / us: pairs of tickets share the spread so the
                # total is ``interactions`` exactly when the sizes divide.
                if tid % 2:
                    spread = rng.randint(0, max(0, int(per) - 2))
                    count = int(per) + spread
                else:
                    count = max(1, int(per) - spread)
                count = max(1, count + (1 if rng.random() < per - int(per) else 0))
                duration = min(rng.expovariate(1 / (2 * DAY)) + 600, self.now - created - 60)
                updated = created + duration
                step = duration / max(1, count - 1)
                first_text = f"{rng.choice(self.inbound)} Order {order_number(tid)}."
                subject = first_text[:80]
                first_reply = None
                handed = False
                turns = automated = 0
                replies: list[float] = []
                for k in range(count):
                    at = created + k * step
                    row: tuple[Any, ...]
                    if k % 2 == 0:
                        text = first_text if k == 0 else rng.choice(self.inbound)
                        if rng.random() < 0.3:
                            text = f"{text} {rng.choice(CLOSERS)}, {name}"
                        row = (next_id, tid, cid, tid, channel, "in", "customer", name, text, "[]", "[]",
                               None, s(at + 1), s(at))  # fmt: skip
                        if self.reports:
                            row = (*row, self.analysis())
                        turns += 1
                    else:
                        bot = k == 1 or rng.random() < 0.2
                        handed = handed or not bot
                        agent = rng.choices(self.agents, cum_weights=self.agent_cum)[0]
                        row = (next_id, tid, cid, tid, channel, "out", "bot" if bot else "agent",
                               None if bot else agent, rng.choice(self.outbound), "[]", "[]",
                               "faq" if bot else None, None, s(at))  # fmt: skip
                        automated += bot
                        first_reply = first_reply or (None if bot else at)
                        if self.reports:
                            row = (*row, None)
                            if not bot:
                                replies.append(at)
                    interactions.append(row)
                    next_id += 1
                unsolved = status not in ("solved", "closed")
                if status == "new" or rng.random() < 0.05:
                    assignee = None
                else:
                    assignee = rng.choices(self.agents, cum_weights=self.agent_cum)[0]
                ntags = rng.choices((0, 1, 2, 3), (30, 40, 20, 10))[0]
                tags = sorted(set(rng.choices(self.tags, cum_weights=self.tag_cum, k=ntags)))
                number = 1000 + tid
                conversations.append(
                    (tid, f"c_bench{tid:016d}", cid, cid, channel, str(tid), "open" if unsolved else "closed",
                     handed, tid if unsolved else None, number if unsolved else None, subject[:300],
                     s(created), s(updated), turns, automated)
                )  # fmt: skip
                tickets.append(
                    (tid, number, cid, tid, channel, subject, status, rng.choice(self.priorities),
                     rng.choice(self.queues), dumps(tags), assignee, s(created), s(updated), s(created),
                     None if first_reply is None else s(first_reply),
                     None if unsolved else s(updated), s(updated) if status == "closed" else None)
                )  # fmt: skip
                if self.reports:
                    trail, clocks = self.trail(tid, tickets[-1][8], created, updated, status, replies)
                    for at, actor, kind, data in trail:
                        events.append((next_event, tid, actor, kind, dumps(data), s(at)))
                        next_event += 1
                    for name, state, due, fired in clocks:
                        due_at = s(due) if state == "active" else None
                        fired_at = None if fired is None else s(fired)
                        timers.append(
                            (
                                next_timer,
                                tid,
                                "target",
                                name,
                                state,
                                due_at,
                                None,
                                None,
                                s(created),
                                fired_at,
                                None,
                            )
                        )
                        next_timer += 1
            yield conversations, tickets, interactions, events, timers


def search_terms(seed: int, tickets: int) -> dict[str, list[str]]:
    """Queries of known selectivity in this data: tail products, common words, order numbers of
    existing tickets, full names, two words."""
    rng = random.Random(seed + 1)
    ids = [rng.randint(1, tickets) for _ in range(20)]
    return {
        "rare": ["carabiner", "kayak", "compass", "harness", "lantern"],
        "medium": ["zipper", "refund", "warranty", "courier", "invoice"],
        "common": ["order", "jacket"],
        "order_number": [order_number(t) for t in ids],
        "two_words": ["broken zipper", "wrong size", "refund parka", "missing parcel", "discount code"],
        "name": [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(5)],
    }


# --- loading ---------------------------------------------------------------------------------

BIG_TABLES = (
    "customers", "channel_identities", "conversations", "tickets", "interactions", "ticket_events",
    "sla_timers",
)  # fmt: skip


def _sqlite_stamp(epoch: float) -> str:
    """SQLAlchemy's SQLite DATETIME text (UTC, no offset), as the app writes it."""
    return (_EPOCH + timedelta(seconds=epoch)).isoformat(" ", "microseconds")


_EPOCH = datetime(1970, 1, 1)


def _insert(table: str, columns: tuple[str, ...], mark: str) -> str:
    names = ", ".join(columns)
    return f"INSERT INTO {table} ({names}) VALUES ({', '.join(mark for _ in columns)})"


_SQLITE_SEARCH_FILL = (
    "INSERT INTO tickets_fts(rowid, subject) SELECT id, subject FROM tickets WHERE subject <> '[erased]'",
    "INSERT INTO interactions_fts(rowid, text) SELECT id, text FROM interactions"
    " WHERE direction = 'in' AND text <> '[erased]'",
    # everything so far is indexed: the background indexer (ticketing/search_index.py) starts here
    "UPDATE channel_cursors SET value = json_object('id', (SELECT coalesce(max(id), 0) FROM tickets))"
    " WHERE channel = 'search' AND name = 'tickets'",
    "UPDATE channel_cursors SET value = json_object('id', (SELECT coalesce(max(id), 0) FROM interactions))"
    " WHERE channel = 'search' AND name = 'interactions'",
)


def load_sqlite(
    path: str, sizes: Sizes, *, seed: int, now: float, chunk: int = 20000, **options: Any
) -> dict[str, float]:
    """Load ``path`` (already migrated); returns seconds per phase. ``options``: ``Synthetic``'s."""
    timings: dict[str, float] = {}
    data = Synthetic(sizes, seed=seed, now=now, stamp=_sqlite_stamp, **options)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-1000000")
        marks = ",".join("?" for _ in BIG_TABLES)
        indexes = db.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})",
            BIG_TABLES,
        ).fetchall()
        for name, _sql in indexes:
            db.execute(f'DROP INDEX "{name}"')
        triggers = db.execute(
            f"SELECT name, tbl_name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name IN ({marks})",
            BIG_TABLES,
        ).fetchall()
        for name, _table, _sql in triggers:
            db.execute(f'DROP TRIGGER "{name}"')
        t = time.perf_counter()
        db.execute("BEGIN")
        db.executemany(_insert("customers", Synthetic.CUSTOMER, "?"), data.customers())
        db.executemany(_insert("channel_identities", Synthetic.IDENTITY, "?"), data.identities())
        db.execute("COMMIT")
        timings["customers_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for conversations, tickets, interactions, events, timers in data.chunks(chunk):
            db.execute("BEGIN")
            db.executemany(_insert("conversations", Synthetic.CONVERSATION, "?"), conversations)
            db.executemany(_insert("tickets", Synthetic.TICKET, "?"), tickets)
            db.executemany(_insert("interactions", data.interaction_columns, "?"), interactions)
            db.executemany(_insert("ticket_events", Synthetic.EVENT, "?"), events)
            db.executemany(_insert("sla_timers", Synthetic.TIMER, "?"), timers)
            db.execute("COMMIT")
        timings["tickets_and_interactions_s"] = time.perf_counter() - t
        db.execute("UPDATE counters SET value = ? WHERE name = 'ticket_number'", (1000 + sizes.tickets,))
        t = time.perf_counter()
        for _name, sql in indexes:
            db.execute(sql)
        timings["indexes_s"] = time.perf_counter() - t
        t = time.perf_counter()
        db.execute("BEGIN")
        for statement in _SQLITE_SEARCH_FILL:  # what migration 0011 does on a database with rows
            db.execute(statement)
        db.execute("COMMIT")
        for _name, _table, sql in triggers:
            db.execute(sql)
        timings["search_indexes_s"] = time.perf_counter() - t
        db.execute("PRAGMA journal_mode=WAL")
    finally:
        db.close()
    return {k: round(v, 1) for k, v in timings.items()}


async def load_postgresql(
    dsn: str, sizes: Sizes, *, seed: int, now: float, chunk: int = 20000, **options: Any
) -> dict[str, float]:
    """Load the (migrated) database at ``dsn`` with COPY; returns seconds per phase."""
    timings: dict[str, float] = {}
    data = Synthetic(sizes, seed=seed, now=now, stamp=lambda e: datetime.fromtimestamp(e, UTC), **options)
    conn = await asyncpg.connect(dsn)
    try:
        # Foreign-key checks are triggers: off for this session only (the rows are consistent).
        await conn.execute("SET session_replication_role = replica")
        indexes = await conn.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY($1::text[]) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            list(BIG_TABLES),
        )
        for row in indexes:
            await conn.execute(f'DROP INDEX "{row["indexname"]}"')
        t = time.perf_counter()
        await conn.copy_records_to_table("customers", records=data.customers(), columns=Synthetic.CUSTOMER)
        await conn.copy_records_to_table(
            "channel_identities", records=data.identities(), columns=Synthetic.IDENTITY
        )
        timings["customers_s"] = time.perf_counter() - t
        t = time.perf_counter()
        for conversations, tickets, interactions, events, timers in data.chunks(chunk):
            await conn.copy_records_to_table(
                "conversations", records=conversations, columns=Synthetic.CONVERSATION
            )
            await conn.copy_records_to_table("tickets", records=tickets, columns=Synthetic.TICKET)
            await conn.copy_records_to_table(
                "interactions", records=interactions, columns=data.interaction_columns
            )
            if events:
                await conn.copy_records_to_table("ticket_events", records=events, columns=Synthetic.EVENT)
                await conn.copy_records_to_table("sla_timers", records=timers, columns=Synthetic.TIMER)
        timings["tickets_and_interactions_s"] = time.perf_counter() - t
        await conn.execute(
            "UPDATE counters SET value = $1 WHERE name = 'ticket_number'", 1000 + sizes.tickets
        )
        for table in BIG_TABLES:
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await conn.execute("SET maintenance_work_mem = '512MB'")
        timings["indexes_s"] = timings["search_indexes_s"] = 0.0
        for row in indexes:
            t = time.perf_counter()
            await conn.execute(row["indexdef"])
            kind = "search_indexes_s" if row["indexname"] in SEARCH_INDEXES else "indexes_s"
            timings[kind] += time.perf_counter() - t
        t = time.perf_counter()
        # What autovacuum does after a bulk load, done now: statistics and the visibility map.
        for table in BIG_TABLES:
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        timings["vacuum_analyze_s"] = time.perf_counter() - t
    finally:
        await conn.close()
    return {k: round(v, 1) for k, v in timings.items()}
