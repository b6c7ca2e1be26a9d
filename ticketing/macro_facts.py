"""What a macro's reply may say about a ticket (``macros.yml``, ``rules/macros.py``), as stored.

The ticket's fields, its customer's name, e-mail and attributes, the values the customer gave
to the rules' questions (``conversations.dialog`` slots) and the entities of the customer's
messages on the ticket (from each message's stored analysis), newest first: the bot turns them
into a macro's variables. Plain values; nothing here knows what a macro is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.models import ChannelIdentity, Conversation, Customer, Interaction
from ticketing.ticket_rows import load

__all__ = ["MacroFacts", "read_macro_facts"]

_MESSAGES = 50  # the newest customer messages whose entities are looked at


@dataclass(frozen=True, slots=True, kw_only=True)
class MacroFacts:
    number: int
    subject: str
    status: str
    priority: str
    queue: str
    channel: str
    customer_name: str | None
    customer_email: str | None  # verified only
    attributes: dict[str, str] = field(default_factory=dict)
    slots: dict[str, str] = field(default_factory=dict)
    entities: tuple[tuple[str, str], ...] = ()  # (type, value), newest message first


async def read_macro_facts(conn: AsyncConnection, reference: str | int) -> MacroFacts:
    """Raises :class:`~ticketing.errors.TicketNotFound` for an unknown ticket."""
    ticket = await load(conn, reference, lock=False)
    customer = (
        await conn.execute(
            select(Customer.display_name, Customer.email, Customer.attributes).where(
                Customer.id == ticket["customer_id"]
            )
        )
    ).one()
    name = (
        customer.display_name
        or (
            await conn.execute(
                select(ChannelIdentity.display_name)
                .where(
                    ChannelIdentity.customer_id == ticket["customer_id"],
                    ChannelIdentity.display_name.is_not(None),
                )
                .limit(1)
            )
        ).scalar()
    )
    slots: dict[str, str] = {}
    mine = Interaction.ticket_id == ticket["id"]
    conversation_id = ticket["conversation_id"]
    if conversation_id is not None:
        dialog = (
            await conn.execute(select(Conversation.dialog).where(Conversation.id == conversation_id))
        ).scalar()
        found = dialog.get("slots") if isinstance(dialog, dict) else None
        if isinstance(found, dict):
            slots = {str(k): str(v) for k, v in found.items() if v is not None}
        # Messages before the ticket was opened are in its conversation, not on it.
        mine = or_(
            mine, and_(Interaction.conversation_id == conversation_id, Interaction.ticket_id.is_(None))
        )
    analyses = (
        await conn.execute(
            select(Interaction.analysis)
            .where(mine, Interaction.direction == "in")
            .order_by(Interaction.id.desc())
            .limit(_MESSAGES)
        )
    ).scalars()
    return MacroFacts(
        number=int(ticket["number"]),
        subject=str(ticket["subject"] or ""),
        status=ticket["status"],
        priority=ticket["priority"],
        queue=ticket["queue"],
        channel=ticket["channel"],
        customer_name=name,
        customer_email=customer.email,
        attributes={str(k): str(v) for k, v in (customer.attributes or {}).items() if v is not None},
        slots=slots,
        entities=tuple(pair for analysis in analyses for pair in _entities(analysis)),
    )


def _entities(analysis: Any) -> list[tuple[str, str]]:
    found = analysis.get("entities") if isinstance(analysis, dict) else None
    if not isinstance(found, list):
        return []
    return [
        (str(e["type"]), str(e["value"]))
        for e in found
        if isinstance(e, dict) and e.get("type") and e.get("value") is not None
    ]
