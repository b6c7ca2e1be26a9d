"""Messages Frontdesk sends on its own initiative: agent replies, CSAT questions.

An outbound message is an ``interactions`` row (direction ``out``, on the customer's record)
plus an ``outbox`` row whose payload is what ``bot.delivery.outbound_from_payload`` reads,
built here from the conversation and its channel identity. Both are written in the caller's
transaction, so a reply exists exactly when its delivery is queued. An agent's web chat reply
also gets its ``reply_copies`` row there (an email copy if the visitor does not see it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing import outbox, reply_copies
from ticketing.models import ChannelIdentity, Conversation, Interaction
from ticketing.row_ids import insert_returning_ids

__all__ = ["send"]


async def send(
    conn: AsyncConnection,
    *,
    conversation_id: int,
    text: str,
    now: datetime,
    ticket_id: int | None = None,
    sender_role: str = "agent",
    sender_name: str | None = None,
    rule: str | None = None,
    quick_replies: tuple[dict[str, str], ...] = (),
    attachments: tuple[dict[str, Any], ...] = (),
) -> int:
    """Queue ``text`` to the customer of a conversation; returns the interaction id.

    ``attachments``: files that go with it (``filename``, ``content_type``, ``size``,
    ``storage_key``), kept on the interaction and carried in the outbox payload."""
    stmt = (
        select(
            Conversation.customer_id, Conversation.channel, Conversation.public_id,
            Conversation.external_thread_id, Conversation.subject, ChannelIdentity.external_id,
            Conversation.automated_replies, Conversation.rule_fires, Conversation.recent_rules,
        )
        .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
        .where(Conversation.id == conversation_id)
    )  # fmt: skip
    if conn.dialect.name == "postgresql":  # the counters below are read, then written
        stmt = stmt.with_for_update(of=Conversation)
    conv = (await conn.execute(stmt)).one()
    last_in = (
        await conn.execute(
            select(Interaction.external_message_id)
            .where(Interaction.conversation_id == conversation_id, Interaction.direction == "in")
            .order_by(Interaction.id.desc())
            .limit(1)
        )
    ).scalar()
    row = {
        "conversation_id": conversation_id, "customer_id": conv.customer_id, "ticket_id": ticket_id,
        "channel": conv.channel, "direction": "out", "sender_role": sender_role, "sender_name": sender_name,
        "text": text, "subject": None, "attachments": list(attachments), "quick_replies": list(quick_replies),
        "external_message_id": None, "in_reply_to_id": None, "analysis": None, "rule": rule,
        "processed_at": None, "created_at": now,
    }  # fmt: skip
    (interaction_id,) = await insert_returning_ids(conn, Interaction.id, [row])
    await _count(conn, conversation_id, conv, sender_role, rule)
    payload: dict[str, Any] = {
        "channel": conv.channel, "external_user_id": conv.external_id,
        "external_thread_id": conv.external_thread_id, "conversation_id": conversation_id,
        "conversation_public_id": conv.public_id, "sender_role": sender_role, "sender_name": sender_name,
        "subject": conv.subject, "in_reply_to": last_in, "quick_replies": list(quick_replies),
        "interaction_id": interaction_id, "text": text, "created_at": now.isoformat(),
    }  # fmt: skip
    if attachments:
        payload["attachments"] = list(attachments)
    if conv.channel == reply_copies.WEBCHAT and sender_role == "agent":  # copied by mail if unseen
        await reply_copies.note_reply(
            conn, interaction_id=interaction_id, conversation_id=conversation_id, now=now
        )
    await outbox.enqueue(conn, interaction_id=interaction_id, channel=conv.channel, payload=payload, now=now)
    return interaction_id


async def _count(conn: AsyncConnection, conversation_id: int, conv: Any, role: str, rule: str | None) -> None:
    """Keep the conversation's counters (what the rules' loop guards read) in step with this
    message, as the turn writer does for the replies it writes."""
    if role != "bot" and rule is None:
        return
    fires = dict(conv.rule_fires or {})
    recent = list(conv.recent_rules or [])
    if rule is not None:
        for name in rule.split("+"):
            fires[name] = fires.get(name, 0) + 1
        recent = [*recent, rule][-3:]
    await conn.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(
            automated_replies=conv.automated_replies + (1 if role == "bot" else 0),
            rule_fires=fires,
            recent_rules=recent,
        )
    )
