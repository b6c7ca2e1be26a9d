"""Customer satisfaction: ask for a 1-5 rating when a ticket is solved, store the answer on it.

The question goes out on the customer's own channel (an outbound interaction + outbox row,
with 1-5 quick replies) and the conversation remembers which ticket it is about
(``conversations.csat_ticket_id``). The conversation flow hands the customer's next message
to :func:`record_answer`: a message that starts with a rating is the answer (the rest is the
comment); anything else is an ordinary message and the question is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import outbound
from ticketing.models import Conversation, Ticket
from ticketing.sla_config import SlaConfig
from ticketing.ticket_rows import TicketRow, record

__all__ = ["CsatAnswer", "ask", "parse_rating", "pending_ticket", "record_answer"]

_RATING = re.compile(
    r"^\s*([1-5])(?!\d)(?:\s*(?:/\s*5|stars?|★+))?(?:\s*[-:,.!]?\s*(.*))?$", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True, slots=True)
class CsatAnswer:
    ticket_id: int
    score: int
    comment: str | None
    thanks: str


def parse_rating(text: str) -> tuple[int, str | None] | None:
    """``"4"``, ``"5 stars - great"``, ``"2: slow"`` → (score, comment); anything else → None."""
    match = _RATING.match(text)
    if match is None:
        return None
    comment = (match.group(2) or "").strip()
    return int(match.group(1)), comment or None


async def ask(conn: AsyncConnection, config: SlaConfig, ticket: TicketRow, now: datetime) -> None:
    settings = config.settings.csat
    if not settings.enabled or ticket["conversation_id"] is None or ticket["csat_score"] is not None:
        return
    text = settings.question.replace("{ticket}", f"T-{ticket['number']}")
    buttons = tuple({"label": str(n), "payload": str(n)} for n in range(1, 6))
    await outbound.send(
        conn, conversation_id=ticket["conversation_id"], text=text, now=now, ticket_id=ticket["id"],
        sender_role="system", rule="csat", quick_replies=buttons,
    )  # fmt: skip
    await conn.execute(
        update(Conversation)
        .where(Conversation.id == ticket["conversation_id"])
        .values(csat_ticket_id=ticket["id"])
    )
    await record(conn, ticket["id"], "system", "csat_asked", {}, now)


async def pending_ticket(conn: AsyncConnection, conversation_id: int) -> int | None:
    """The ticket whose rating this conversation is waiting for, if any."""
    stmt = select(Conversation.csat_ticket_id).where(Conversation.id == conversation_id)
    value = (await conn.execute(stmt)).scalar()
    return int(value) if value is not None else None


async def record_answer(
    conn: AsyncConnection, config: SlaConfig, conversation_id: int, text: str, now: datetime
) -> CsatAnswer | None:
    """Store ``text`` as the pending rating, or return None (and drop the question) if it is not one.

    Call it in the inbound message's transaction, before the rules; on an answer, reply with
    ``CsatAnswer.thanks`` and skip the rules.
    """
    ticket_id = await pending_ticket(conn, conversation_id)
    if ticket_id is None:
        return None
    await conn.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(csat_ticket_id=None)
    )
    parsed = parse_rating(text)
    if parsed is None:
        return None
    score, comment = parsed
    await conn.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(csat_score=score, csat_comment=comment, updated_at=now)
    )
    await record(conn, ticket_id, "customer", "csat", {"score": score, "comment": comment}, now)
    return CsatAnswer(ticket_id, score, comment, config.settings.csat.thanks)
