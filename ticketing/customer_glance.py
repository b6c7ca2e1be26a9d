"""The customer of a ticket at a glance, for agents' tools (the Slack card and customer view).

A read model over ``customers``, ``channel_identities``, ``tickets`` and ``interactions``; it
owns none of them. Every read is bounded and indexed: the identities of one customer, their
newest tickets (``ix_tickets_customer_id``), their newest inbound messages
(``ix_interactions_customer_id_id``), so a card costs the same for a customer with years of
history. Plain values, no presentation: the tool that shows them decides how.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.models import ChannelIdentity, Customer, Interaction, Ticket

__all__ = ["CustomerGlance", "GlanceIdentity", "GlanceTicket", "read_glance"]


@dataclass(frozen=True, slots=True)
class GlanceIdentity:
    channel: str
    external_id: str
    display_name: str | None


@dataclass(frozen=True, slots=True)
class GlanceTicket:
    number: int
    subject: str
    status: str
    csat_score: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerGlance:
    """Who the customer is and how things have gone with them, as stored."""

    customer_id: int
    display_name: str | None
    email: str | None  # verified
    claimed_email: str | None  # typed in web chat, not verified
    phone: str | None
    erased: bool
    tags: tuple[str, ...]  # segment tags are customer tags too: ``segment:at-risk``
    attributes: dict[str, Any]
    identities: tuple[GlanceIdentity, ...]
    past_tickets: tuple[GlanceTicket, ...]  # their other tickets, newest first (at most ``past``)
    past_total: int  # how many other tickets they have in all
    last_csat: tuple[int, int] | None  # (ticket number, score) of the newest rated ticket
    messages: int  # their newest inbound messages looked at (at most ``window``)
    negative: int  # of those, with negative sentiment
    complaints: int  # of those, flagged as a complaint


async def read_glance(
    conn: AsyncConnection, ticket_id: int, customer_id: int, *, past: int = 5, window: int = 20
) -> CustomerGlance:
    """The glance at ``customer_id`` from ticket ``ticket_id`` (left out of their past tickets)."""
    customer = (
        await conn.execute(
            select(Customer.display_name, Customer.email, Customer.claimed_email, Customer.phone,
                   Customer.erased_at, Customer.tags, Customer.attributes).where(Customer.id == customer_id)
        )
    ).one()  # fmt: skip
    identities = (
        await conn.execute(
            select(ChannelIdentity.channel, ChannelIdentity.external_id, ChannelIdentity.display_name)
            .where(ChannelIdentity.customer_id == customer_id)
            .order_by(ChannelIdentity.id)
            .limit(20)
        )
    ).all()
    others = Ticket.customer_id == customer_id, Ticket.id != ticket_id
    tickets = (
        await conn.execute(
            select(Ticket.number, Ticket.subject, Ticket.status, Ticket.csat_score)
            .where(*others)
            .order_by(Ticket.id.desc())
            .limit(past)
        )
    ).all()
    total = (await conn.execute(select(func.count()).select_from(Ticket).where(*others))).scalar() or 0
    rated = (
        await conn.execute(
            select(Ticket.number, Ticket.csat_score)
            .where(Ticket.customer_id == customer_id, Ticket.csat_score.is_not(None))
            .order_by(Ticket.id.desc())
            .limit(1)
        )
    ).first()
    analyses = (
        (
            await conn.execute(
                select(Interaction.analysis)
                .where(Interaction.customer_id == customer_id, Interaction.direction == "in")
                .order_by(Interaction.id.desc())
                .limit(window)
            )
        )
        .scalars()
        .all()
    )
    negative = complaints = 0
    for analysis in analyses:
        if not isinstance(analysis, dict):
            continue
        sentiment, complaint = analysis.get("sentiment"), analysis.get("complaint")
        negative += isinstance(sentiment, dict) and sentiment.get("label") == "negative"
        complaints += isinstance(complaint, dict) and complaint.get("is") is True
    return CustomerGlance(
        customer_id=customer_id, display_name=customer.display_name, email=customer.email,
        claimed_email=customer.claimed_email, phone=customer.phone, erased=customer.erased_at is not None,
        tags=tuple(str(t) for t in customer.tags or ()), attributes=dict(customer.attributes or {}),
        identities=tuple(GlanceIdentity(*i) for i in identities),
        past_tickets=tuple(GlanceTicket(int(t.number), t.subject, t.status, t.csat_score) for t in tickets),
        past_total=int(total),
        last_csat=None if rated is None else (int(rated.number), int(rated.csat_score)),
        messages=len(analyses), negative=negative, complaints=complaints,
    )  # fmt: skip
