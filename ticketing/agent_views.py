"""Read models for agents' tools (the Slack ticket cards, ``/ticket`` lists and search).

Plain rows and values, no presentation: the tool that shows them (``connectors/slack``) decides
how. Kept apart from :class:`~ticketing.tickets.TicketDesk`, which changes tickets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.customer_glance import CustomerGlance, read_glance
from ticketing.lifecycle import UNSOLVED
from ticketing.macro_facts import MacroFacts, read_macro_facts
from ticketing.models import Agent, ChannelIdentity, Customer, Interaction, Queue, SlaTimer, Ticket
from ticketing.ticket_rows import TicketRow

__all__ = ["AgentViews", "CardFacts", "CardMessage"]


@dataclass(frozen=True, slots=True)
class CardMessage:
    id: int
    sender_role: str
    sender_name: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class CardFacts:
    """What a ticket card shows, as stored."""

    ticket: TicketRow
    customer_name: str | None
    customer_email: str | None  # verified
    customer_claimed_email: str | None  # typed in web chat, not verified: show it as such
    identity_name: str | None  # a display name one of the customer's channel identities carries
    first_analysis: dict[str, Any]  # of the ticket's first customer message ({} if none)
    target_due: datetime | None  # the earliest active SLA target
    recent: tuple[CardMessage, ...]  # the ticket's newest messages, newest first


class AgentViews:
    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def card(self, ticket_id: int, *, last_messages: int) -> CardFacts:
        async with self._engine.connect() as conn:
            t = (await conn.execute(select(Ticket.__table__).where(Ticket.id == ticket_id))).mappings().one()
            customer = (
                await conn.execute(
                    select(Customer.display_name, Customer.email, Customer.claimed_email).where(
                        Customer.id == t["customer_id"]
                    )
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
        return CardFacts(
            ticket=dict(t), customer_name=customer.display_name, customer_email=customer.email,
            customer_claimed_email=customer.claimed_email,
            identity_name=identity_name, first_analysis=first if isinstance(first, dict) else {},
            target_due=due, recent=tuple(CardMessage(*r) for r in recent),
        )  # fmt: skip

    async def unassigned(self, *, limit: int) -> list[TicketRow]:
        """Unsolved tickets nobody has, newest first."""
        stmt = select(Ticket.__table__).where(Ticket.assignee.is_(None), Ticket.status.in_(UNSOLVED))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt.order_by(Ticket.id.desc()).limit(limit))).mappings()
            return [dict(r) for r in rows]

    async def search(self, text: str, *, limit: int) -> list[TicketRow]:
        """Tickets whose subject or any message contains ``text`` (case-insensitive), newest first."""
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matching = select(Interaction.ticket_id).where(
            Interaction.ticket_id.is_not(None), Interaction.text.ilike(pattern, escape="\\")
        )
        stmt = (
            select(Ticket.__table__)
            .where(or_(Ticket.subject.ilike(pattern, escape="\\"), Ticket.id.in_(matching)))
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [dict(r) for r in (await conn.execute(stmt)).mappings()]

    async def target_due(self, ticket_ids: Sequence[int]) -> dict[int, datetime]:
        """The earliest active SLA target of each of these tickets that has one."""
        stmt = (
            select(SlaTimer.ticket_id, func.min(SlaTimer.due_at))
            .where(SlaTimer.ticket_id.in_(ticket_ids), SlaTimer.kind == "target", SlaTimer.state == "active")
            .group_by(SlaTimer.ticket_id)
        )
        async with self._engine.connect() as conn:
            return {
                int(ticket_id): due for ticket_id, due in (await conn.execute(stmt)).all() if due is not None
            }

    async def agent_names(self, handles: Sequence[str]) -> dict[str, str | None]:
        """The display name of each of these handles that is an agent."""
        stmt = select(Agent.handle, Agent.display_name).where(Agent.handle.in_(handles))
        async with self._engine.connect() as conn:
            return {r.handle: r.display_name for r in (await conn.execute(stmt)).all()}

    async def glance(self, ticket_id: int, *, past: int = 5, window: int = 20) -> CustomerGlance:
        """The ticket's customer at a glance (:mod:`ticketing.customer_glance`)."""
        async with self._engine.connect() as conn:
            customer_id = (
                await conn.execute(select(Ticket.customer_id).where(Ticket.id == ticket_id))
            ).scalar_one()
            return await read_glance(conn, ticket_id, customer_id, past=past, window=window)

    async def queue_names(self) -> list[str]:
        """Every configured queue, by name."""
        async with self._engine.connect() as conn:
            return list((await conn.execute(select(Queue.name).order_by(Queue.name))).scalars())

    async def macro_facts(self, number: int) -> MacroFacts:
        """What a macro may say about ticket ``number`` (:mod:`ticketing.macro_facts`)."""
        async with self._engine.connect() as conn:
            return await read_macro_facts(conn, number)
