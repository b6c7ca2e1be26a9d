"""Customer messages the bot did not handle well, for the console's "improve the bot" page, and
the newest customer messages for replaying a rulebook draft.

Both read the newest inbound rows by primary key and stop after a fixed number (``scan``,
``limit``), so a page costs the same at 10 million messages as at a thousand; erased texts are
never returned. A message is *missed* when its stored analysis says it was out of scope, the
fallback rule answered it, its best intent was less confident than ``low_confidence``, or it was
a complaint (what customers are unhappy about is worth a rule or an FAQ too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import Interaction
from ticketing.rollup_sources import is_unanswered

__all__ = ["REASONS", "CustomerMessage", "MissedMessage", "missed_messages", "recent_customer_messages"]

REASONS = ("out_of_scope", "fallback", "low_confidence", "complaint")
_ERASED = "[erased]"


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    id: int
    text: str
    channel: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MissedMessage:
    message: CustomerMessage
    reasons: tuple[str, ...]  # of REASONS
    intent: str | None
    confidence: float | None


def _newest(limit: int) -> object:
    return (
        select(
            Interaction.id,
            Interaction.text,
            Interaction.channel,
            Interaction.created_at,
            Interaction.analysis,
        )
        .where(Interaction.direction == "in", Interaction.sender_role == "customer")
        .order_by(Interaction.id.desc())
        .limit(limit)
    )


async def missed_messages(
    engine: AsyncEngine, *, since: datetime, scan: int = 20_000, low_confidence: float = 0.5
) -> tuple[list[MissedMessage], int]:
    """The missed messages among the newest ``scan`` customer messages sent since ``since``,
    newest first, and how many messages were looked at."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_newest(scan))).all()  # type: ignore[call-overload]
    seen, missed = 0, []
    for row in rows:
        if row.created_at < since or row.text == _ERASED:
            continue
        seen += 1
        analysis = row.analysis if isinstance(row.analysis, dict) else {}
        reasons = _reasons(analysis, low_confidence)
        if reasons:
            confidence = analysis.get("confidence")
            missed.append(
                MissedMessage(
                    CustomerMessage(row.id, row.text, row.channel, row.created_at), reasons,
                    analysis.get("intent") if isinstance(analysis.get("intent"), str) else None,
                    float(confidence) if isinstance(confidence, int | float) else None,
                )
            )  # fmt: skip
    return missed, seen


def _reasons(analysis: dict[str, object], low_confidence: float) -> tuple[str, ...]:
    found = []
    if analysis.get("out_of_scope") is True:
        found.append("out_of_scope")
    if is_unanswered(analysis) and analysis.get("out_of_scope") is not True:
        found.append("fallback")
    confidence = analysis.get("confidence")
    if isinstance(confidence, int | float) and confidence < low_confidence and "out_of_scope" not in found:
        found.append("low_confidence")
    complaint = analysis.get("complaint")
    if isinstance(complaint, dict) and complaint.get("is") is True:
        found.append("complaint")
    return tuple(found)


async def recent_customer_messages(engine: AsyncEngine, *, limit: int) -> list[CustomerMessage]:
    """The newest ``limit`` customer messages (erased ones left out), oldest first."""
    async with engine.connect() as conn:
        rows = (await conn.execute(_newest(limit))).all()  # type: ignore[call-overload]
    return [
        CustomerMessage(r.id, r.text, r.channel, r.created_at) for r in reversed(rows) if r.text != _ERASED
    ]
