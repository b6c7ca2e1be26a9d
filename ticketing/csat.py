"""Customer satisfaction: ask for a 1-5 rating when a ticket is solved, store the answer on it.

The question goes out on the customer's own channel (an outbound interaction + outbox row,
with 1-5 quick replies: buttons in web chat and Telegram, a numbered line in a mail) and the
conversation remembers which ticket it is about (``conversations.csat_ticket_id``). It is asked
by the ticket rules' runner right after the rules that answer the solve (``bot/ticket_rules``),
in their transaction, so the "your ticket is solved" message comes first. The conversation
flow hands the customer's next message to :func:`record_answer`: a button's payload or a
message that starts with a rating ("4", "5 stars - great", "⭐⭐⭐⭐") is the answer (the rest is
the comment), recorded once; anything else is an ordinary message and the question is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import outbound
from ticketing.models import Conversation, Ticket
from ticketing.sla_config import SlaConfig
from ticketing.ticket_rows import TicketRow, record

__all__ = ["CsatAnswer", "ask", "parse_rating", "pending_ticket", "rating_of_solved", "record_answer"]

_RATING = re.compile(
    r"^\s*([1-5])(?!\d)(?:\s*(?:/\s*5|stars?|[★⭐]\ufe0f?))?(?:\s*[-:,.!]?\s*(.*))?$",
    re.IGNORECASE | re.DOTALL,
)
# "⭐⭐⭐⭐", "★★★★★ great": the rating is the number of stars (one to five).
_STARS = re.compile(r"^\s*((?:[★⭐]\ufe0f?\s*){1,5})(?![★⭐])(?:[-:,.!]?\s*(.*))?$", re.DOTALL)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_WORD = re.compile(
    r"^\s*(one|two|three|four|five)\s+stars?\b(?:\s*[-:,.!]?\s*(.*))?$", re.IGNORECASE | re.DOTALL
)


@dataclass(frozen=True, slots=True)
class CsatAnswer:
    ticket_id: int
    score: int
    comment: str | None
    thanks: str


def parse_rating(text: str) -> tuple[int, str | None] | None:
    """``"4"``, ``"5 stars - great"``, ``"2: slow"``, ``"⭐⭐⭐⭐"``, ``"five stars"`` → (score,
    comment); anything else → None."""
    match = _RATING.match(text)
    if match is not None:
        score = int(match.group(1))
    elif (match := _STARS.match(text)) is not None:
        score = sum(1 for c in match.group(1) if c in "★⭐")
    elif (match := _WORD.match(text)) is not None:
        score = _WORDS[match.group(1).lower()]
    else:
        return None
    comment = (match.group(2) or "").strip()
    return score, comment or None


async def ask(conn: AsyncConnection, config: SlaConfig, ticket: TicketRow, now: datetime) -> bool:
    """Ask about ``ticket`` if it is still solved, has a conversation, no rating yet and no
    question about it pending (solved, reopened and solved again in one round of the ticket
    rules); returns whether the question was queued."""
    settings = config.settings.csat
    if (
        not settings.enabled
        or ticket["status"] != "solved"
        or ticket["conversation_id"] is None
        or ticket["csat_score"] is not None
    ):
        return False
    # The ticket's row first (an update that changes nothing takes its lock and checks it is
    # still solved and unrated), then the conversation's: the order of every status change. The
    # other order deadlocked with a close of the same ticket (PostgreSQL; SQLite has one writer).
    still = await conn.execute(
        update(Ticket)
        .where(Ticket.id == ticket["id"], Ticket.status == "solved", Ticket.csat_score.is_(None))
        .values(csat_score=Ticket.csat_score)
    )
    if still.rowcount == 0:
        return False
    pending = Conversation.csat_ticket_id
    marked = await conn.execute(
        update(Conversation)
        .where(
            Conversation.id == ticket["conversation_id"],
            or_(pending.is_(None), pending != ticket["id"]),
        )
        .values(csat_ticket_id=ticket["id"])
    )
    if marked.rowcount == 0:
        return False
    text = settings.question.replace("{ticket}", f"T-{ticket['number']}")
    buttons = tuple({"label": str(n), "payload": str(n)} for n in range(1, 6))
    await outbound.send(
        conn, conversation_id=ticket["conversation_id"], text=text, now=now, ticket_id=ticket["id"],
        sender_role="system", rule="csat", quick_replies=buttons,
    )  # fmt: skip
    await record(conn, ticket["id"], "system", "csat_asked", {}, now)
    return True


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
    await _store(conn, ticket_id, parsed, now)
    return CsatAnswer(ticket_id, parsed[0], parsed[1], config.settings.csat.thanks)


async def rating_of_solved(
    conn: AsyncConnection, config: SlaConfig, ticket_id: int, text: str, now: datetime
) -> str | None:
    """A rating-shaped message on a solved ticket with no question pending: the thanks, or None
    (an ordinary message). Recorded if the ticket has no rating yet (a button pressed after the
    question was dropped: Telegram keeps old keyboards), else only thanked, never counted twice;
    either way it must not reopen the ticket as a follow-up would. Reads only for rating-shaped
    messages on solved tickets."""
    parsed = parse_rating(text)
    if not config.settings.csat.enabled or parsed is None:
        return None
    stmt = select(Ticket.csat_score).where(Ticket.id == ticket_id, Ticket.status == "solved")
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    if row[0] is None:
        await _store(conn, ticket_id, parsed, now)
    return config.settings.csat.thanks


async def _store(
    conn: AsyncConnection, ticket_id: int, parsed: tuple[int, str | None], now: datetime
) -> None:
    score, comment = parsed
    await conn.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id)
        .values(csat_score=score, csat_comment=comment, updated_at=now)
    )
    await record(conn, ticket_id, "customer", "csat", {"score": score, "comment": comment}, now)
