"""The Slack connector's backend: ticket cards and the feed from the database, agents' actions
through the ticket desk (the same operations as ``frontdesk tickets``), idempotency keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channel_state import ChannelCursors, single_consumer
from connectors.slack import SlackConnector, SlackSettings
from connectors.slack.views import (
    ActionRefused,
    AgentRef,
    CardRef,
    Feed,
    FeedItem,
    MessageLine,
    TicketCard,
    TicketLine,
)
from ticketing.commit_order import HoleGuard
from ticketing.errors import TicketError
from ticketing.lifecycle import UNSOLVED
from ticketing.models import Agent, ChannelIdentity, Customer, Interaction, SlaTimer, Ticket
from ticketing.service import LiveSlaConfig
from ticketing.slack_threads import SlackThreads
from ticketing.ticket_rows import TicketRow
from ticketing.tickets import TicketDesk, TicketFilter

__all__ = ["SlackBackendImpl", "build_feed", "build_slack"]

T = TypeVar("T")

CHANNEL = "slack"


def build_feed(
    events: list[dict[str, Any]],
    scanned: list[dict[str, Any]],
    interactions: list[dict[str, Any]],
    *,
    after: tuple[int, int],
    ends: tuple[int, int],
    limit: int,
) -> Feed:
    """One batch from rows read after the cursors ``after`` (event id, interaction id).

    ``events`` are ticket events in id order; ``scanned`` is every interaction's id and time
    (the unfiltered sequence, which is contiguous but for holes), ``interactions`` the
    ticket-linked ones among them. ``ends`` is how far each source may go (up to its first hole
    that may still fill, see ``ticketing/commit_order.py``). Events and messages come in time
    order; when a source was cut at ``limit``, the other is cut at its last timestamp, so the
    next batch cannot hold anything older.
    """
    event_end, scan_end = ends
    items = [_event_item(e) for e in events if e["id"] <= event_end]
    items += [_interaction_item(i) for i in interactions if after[1] < i["id"] <= scan_end]
    items.sort(key=lambda i: (i.created_at, 0 if i.source == "interaction" else 1, i.id))
    horizon = None
    for rows, end in ((events, event_end), (scanned, scan_end)):
        if len(rows) >= limit and rows[-1]["id"] == end:  # cut by the limit, not by a hole
            last = rows[-1]["created_at"]
            horizon = last if horizon is None else min(horizon, last)
    cut = {"event": event_end + 1, "interaction": scan_end + 1}  # the first id not in this batch
    for item in items:
        if horizon is not None and item.created_at > horizon:
            cut[item.source] = min(cut[item.source], item.id)
    kept = [i for i in items if i.id < cut[i.source]]  # each source a run of ids: the cursor is exact
    return Feed(tuple(kept), (cut["event"] - 1, cut["interaction"] - 1))


def _event_item(row: dict[str, Any]) -> FeedItem:
    return FeedItem("event", row["id"], row["ticket_id"], row["kind"], row["created_at"], actor=row["actor"],
                    data=dict(row["data"] or {}))  # fmt: skip


def _interaction_item(row: dict[str, Any]) -> FeedItem:
    return FeedItem("interaction", row["id"], row["ticket_id"], "message", row["created_at"],
                    direction=row["direction"], role=row["sender_role"], name=row["sender_name"],
                    text=row["text"], channel=row["channel"])  # fmt: skip


class SlackBackendImpl:
    def __init__(self, *, engine: AsyncEngine, desk: TicketDesk, threads: SlackThreads) -> None:
        self._engine = engine
        self._desk = desk
        self._threads = threads
        self._cursors = ChannelCursors(engine=engine)
        self._event_holes = HoleGuard(engine, name="slack projection (events)")
        self._interaction_holes = HoleGuard(engine, name="slack projection (messages)")

    # -- projection -----------------------------------------------------------------------------

    async def load_cursor(self) -> tuple[int, int] | None:
        value = await self._cursors.get(CHANNEL, "projection")
        return None if value is None else (int(value["event_id"]), int(value["interaction_id"]))

    async def save_cursor(self, event_id: int, interaction_id: int) -> None:
        await self._cursors.put(
            CHANNEL, "projection", {"event_id": event_id, "interaction_id": interaction_id}
        )

    async def head(self) -> tuple[int, int]:
        return await self._threads.head()

    async def feed(self, *, after_event: int, after_interaction: int, limit: int) -> Feed:
        events = await self._threads.events_after(after_event, limit)
        event_end = await self._event_holes.upto(after_event, [r["id"] for r in events])
        scanned = await self._threads.interaction_ids_after(after_interaction, limit)
        scan_end = await self._interaction_holes.upto(after_interaction, [r["id"] for r in scanned])
        interactions = []
        if scan_end > after_interaction:
            interactions = await self._threads.interactions_between(after_interaction, scan_end)
        feed = build_feed(
            events, scanned, interactions, after=(after_event, after_interaction), ends=(event_end, scan_end),
            limit=limit,
        )  # fmt: skip
        return replace(feed, waiting=self._event_holes.waiting or self._interaction_holes.waiting)

    async def card(self, ticket_id: int, *, last_messages: int) -> TicketCard:
        async with self._engine.connect() as conn:
            t = (await conn.execute(select(Ticket.__table__).where(Ticket.id == ticket_id))).mappings().one()
            customer = (
                await conn.execute(
                    select(Customer.display_name, Customer.email).where(Customer.id == t["customer_id"])
                )
            ).one()
            identity_name = (
                await conn.execute(
                    select(ChannelIdentity.display_name)
                    .where(
                        ChannelIdentity.customer_id == t["customer_id"],
                        ChannelIdentity.display_name.is_not(None),
                    )
                    .limit(1)
                )
            ).scalar()
            first = (
                await conn.execute(
                    select(Interaction.analysis)
                    .where(Interaction.ticket_id == ticket_id, Interaction.direction == "in")
                    .order_by(Interaction.id)
                    .limit(1)
                )
            ).scalar()
            due = (
                await conn.execute(
                    select(func.min(SlaTimer.due_at)).where(
                        SlaTimer.ticket_id == ticket_id, SlaTimer.kind == "target", SlaTimer.state == "active"
                    )
                )
            ).scalar()
            recent = (
                await conn.execute(
                    select(Interaction.id, Interaction.sender_role, Interaction.sender_name, Interaction.text,
                           Interaction.created_at)
                    .where(Interaction.ticket_id == ticket_id)
                    .order_by(Interaction.id.desc())
                    .limit(max(last_messages, 1))
                )
            ).all()  # fmt: skip
        analysis = first if isinstance(first, dict) else {}
        sentiment = analysis.get("sentiment")
        lines = tuple(
            MessageLine(r.sender_role, r.sender_name, r.text, r.created_at) for r in reversed(recent)
        )
        name = customer.display_name or identity_name or customer.email or f"customer {t['customer_id']}"
        return TicketCard(
            id=ticket_id, number=t["number"], subject=t["subject"], status=t["status"],
            priority=t["priority"], queue=t["queue"], assignee=t["assignee"], customer=name,
            channel=t["channel"], intent=analysis.get("intent"),
            sentiment=sentiment.get("label") if isinstance(sentiment, dict) else None,
            sla_due=due, tags=tuple(t["tags"] or ()),
            last_messages=lines[-last_messages:] if last_messages else (),
            last_interaction_id=recent[0].id if recent else None,
        )  # fmt: skip

    async def card_ref(self, ticket_id: int) -> CardRef | None:
        found = await self._threads.card(ticket_id)
        return None if found is None else CardRef(*found)

    async def save_card_ref(self, ticket_id: int, ref: CardRef) -> None:
        await self._threads.save_card(ticket_id, ref.channel, ref.ts, ref.covered_interaction_id)

    async def ticket_for_thread(self, channel: str, ts: str) -> int | None:
        return await self._threads.ticket_for_thread(channel, ts)

    @contextlib.asynccontextmanager
    async def single_consumer(self, name: str) -> AsyncIterator[None]:
        async with single_consumer(self._engine, name):
            yield

    # -- agents ---------------------------------------------------------------------------------

    async def find_agent(self, candidates: tuple[str, ...]) -> AgentRef | None:
        if not candidates:
            return None
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(Agent.handle, Agent.display_name).where(Agent.handle.in_(candidates))
                )
            ).all()
        by_handle = {r.handle: r for r in rows}
        for handle in candidates:
            if handle in by_handle:
                return AgentRef(handle, by_handle[handle].display_name)
        return None

    # -- actions --------------------------------------------------------------------------------

    async def reply(self, number: int, text: str, *, agent: AgentRef, key: str) -> bool:
        return await _refusing(
            self._threads.reply(number, text, agent=agent.handle, sender_name=agent.name, key=key)
        )

    async def note(self, number: int, text: str, *, agent: AgentRef, key: str) -> bool:
        return await _refusing(self._threads.note(number, text, actor=f"agent:{agent.handle}", key=key))

    async def card_action(
        self,
        number: int,
        action: str,
        *,
        agent: AgentRef,
        key: str,
        priority: str | None = None,
        queue: str | None = None,
    ) -> bool:
        actor = f"agent:{agent.handle}"
        change = self._threads.card_action(
            number, action, key=key, actor=actor, agent=agent.handle, priority=priority, queue=queue
        )
        return await _refusing(change)

    async def assign(self, number: int, handle: str | None, *, actor: str) -> None:
        await _refusing(self._desk.assign(number, handle, actor=actor))

    async def set_status(self, number: int, status: str, *, actor: str) -> None:
        await _refusing(self._desk.set_status(number, status, actor=actor))

    async def show(self, number: int) -> tuple[TicketCard, list[str]]:
        ticket = await _refusing(self._desk.get(number))
        events = await self._desk.events(number)
        card = await self.card(ticket["id"], last_messages=0)
        trail = [
            f"{e['created_at']:%Y-%m-%d %H:%M} {e['actor']}: {e['kind']} {_short(e['data'])}"
            for e in events[-8:]
        ]
        return card, trail

    async def open_tickets(self, handle: str | None, *, limit: int) -> list[TicketLine]:
        if handle is None:
            stmt = select(Ticket.__table__).where(Ticket.assignee.is_(None), Ticket.status.in_(UNSOLVED))
            async with self._engine.connect() as conn:
                rows = [
                    dict(r)
                    for r in (await conn.execute(stmt.order_by(Ticket.id.desc()).limit(limit))).mappings()
                ]
        else:
            rows = await self._desk.find(TicketFilter(status=UNSOLVED, assignee=handle, limit=limit))
        return await self._lines(rows)

    async def search(self, text: str, *, limit: int) -> list[TicketLine]:
        return await self._lines(await self._threads.search(text, limit))

    async def _lines(self, rows: list[TicketRow]) -> list[TicketLine]:
        ids = [r["id"] for r in rows]
        async with self._engine.connect() as conn:
            due = dict(
                (
                    await conn.execute(
                        select(SlaTimer.ticket_id, func.min(SlaTimer.due_at))
                        .where(
                            SlaTimer.ticket_id.in_(ids), SlaTimer.kind == "target", SlaTimer.state == "active"
                        )
                        .group_by(SlaTimer.ticket_id)
                    )
                ).all()
            )
        return [
            TicketLine(r["number"], r["subject"], r["status"], r["priority"], r["assignee"], due.get(r["id"]))
            for r in rows
        ]


async def _refusing(operation: Awaitable[T]) -> T:
    try:
        return await operation
    except TicketError as exc:
        raise ActionRefused(str(exc)) from None


def _short(data: Any) -> str:
    text = ", ".join(f"{k}={v}" for k, v in (data or {}).items())
    return text if len(text) <= 120 else text[:119] + "…"


def build_slack(
    settings: SlackSettings,
    *,
    engine: AsyncEngine,
    rulebook_dir: Path,
    wake_outbox: Callable[[], None] | None,
) -> SlackConnector:
    """The Slack connector on this database; agents' replies wake the outbox when it is given."""
    config = LiveSlaConfig(rulebook_dir)
    wake = wake_outbox or (lambda: None)
    desk = TicketDesk(engine=engine, config=config, wake_outbox=wake)
    threads = SlackThreads(engine=engine, config=config, wake_outbox=wake)
    return SlackConnector(
        settings=settings, backend=SlackBackendImpl(engine=engine, desk=desk, threads=threads)
    )
