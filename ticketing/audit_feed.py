"""The audit trail read after a cursor: ticket events and messages, stopping before id holes.

A consumer that mirrors tickets elsewhere (the Slack projection) reads the ticket events and the
interactions after its pair of cursors. Ids are taken at insert but may commit out of order on
PostgreSQL, so each source ends before a hole that may still fill (``ticketing/commit_order.py``);
the holes a reader waits on are kept between calls, so one :class:`AuditFeed` serves one reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.commit_order import HoleGuard
from ticketing.models import Interaction, TicketEvent

__all__ = ["AuditFeed", "FeedRows"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedRows:
    """One read: ``events`` in id order; ``scanned`` every interaction's id and time (the
    unfiltered sequence, contiguous but for holes); ``interactions`` the ticket-linked ones among
    them up to ``ends[1]``. ``ends``: how far each source may go; ``waiting``: one stopped at a hole."""

    events: list[dict[str, Any]]
    scanned: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    ends: tuple[int, int]
    waiting: bool


class AuditFeed:
    def __init__(self, *, engine: AsyncEngine, name: str) -> None:
        self._engine = engine
        self._event_holes = HoleGuard(engine, name=f"{name} (events)")
        self._interaction_holes = HoleGuard(engine, name=f"{name} (messages)")

    async def head(self) -> tuple[int, int]:
        """The newest event and interaction ids: where a new reader starts."""
        async with self._engine.connect() as conn:
            event = (await conn.execute(select(func.max(TicketEvent.id)))).scalar()
            interaction = (await conn.execute(select(func.max(Interaction.id)))).scalar()
        return int(event or 0), int(interaction or 0)

    async def read(self, *, after_event: int, after_interaction: int, limit: int) -> FeedRows:
        events = await self._events_after(after_event, limit)
        event_end = await self._event_holes.upto(after_event, [r["id"] for r in events])
        scanned = await self._interaction_ids_after(after_interaction, limit)
        scan_end = await self._interaction_holes.upto(after_interaction, [r["id"] for r in scanned])
        interactions = []
        if scan_end > after_interaction:
            interactions = await self._interactions_between(after_interaction, scan_end)
        return FeedRows(
            events=events,
            scanned=scanned,
            interactions=interactions,
            ends=(event_end, scan_end),
            waiting=self._event_holes.waiting or self._interaction_holes.waiting,
        )

    async def _events_after(self, event_id: int, limit: int) -> list[dict[str, Any]]:
        stmt = select(TicketEvent.__table__).where(TicketEvent.id > event_id).order_by(TicketEvent.id)
        async with self._engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(stmt.limit(limit))).mappings()]

    async def _interaction_ids_after(self, interaction_id: int, limit: int) -> list[dict[str, Any]]:
        """Every interaction's id and time after ``interaction_id``, ticket-linked or not: the
        unfiltered id sequence, so the reader can tell a gap from a message without a ticket."""
        stmt = (
            select(Interaction.id, Interaction.created_at)
            .where(Interaction.id > interaction_id)
            .order_by(Interaction.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(stmt)).mappings()]

    async def _interactions_between(self, after: int, upto: int) -> list[dict[str, Any]]:
        """The ticket-linked interactions with ``after < id <= upto``."""
        columns = (
            Interaction.id, Interaction.ticket_id, Interaction.channel, Interaction.direction,
            Interaction.sender_role, Interaction.sender_name, Interaction.text, Interaction.created_at,
            Interaction.attachments,
        )  # fmt: skip
        stmt = (
            select(*columns)
            .where(Interaction.id > after, Interaction.id <= upto, Interaction.ticket_id.is_not(None))
            .order_by(Interaction.id)
        )
        async with self._engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(stmt)).mappings()]
