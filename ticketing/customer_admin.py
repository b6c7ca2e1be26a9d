"""Operator actions on a whole customer record: merge two records, export all, erase (GDPR).

*Merge* moves every identity, conversation, interaction and ticket of the source to the target
(the source keeps ``merged_into_id`` so old references resolve) and unions tags/attributes.
*Verify email* promotes the address a web chat visitor claimed, once an agent confirmed it.
*Export* returns everything stored about a customer as JSON-ready data. *Erase* removes the
personal data (names, addresses, channel ids, message texts, notes, comments, outbox payloads,
attachment files; the Slack copies of their messages are scheduled for deletion) but keeps the
rows and their non-personal columns, so ticket statistics (counts, statuses, priorities, queues,
SLA events, CSAT scores, timestamps) stay correct. Each is one transaction.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import String, bindparam, cast, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing import webhooks
from ticketing.errors import CustomerNotFound, InvalidValue
from ticketing.models import (
    ChannelIdentity,
    Conversation,
    Customer,
    Interaction,
    OutboxItem,
    SlaTimer,
    Ticket,
    TicketEvent,
)
from ticketing.slack_messages import schedule_erasure
from ticketing.ticket_rows import record_many
from ticketing.time import utcnow

__all__ = ["CustomerAdmin", "StoredFiles"]

ERASED = "[erased]"
_PERSONAL_EVENT_KEYS = ("text", "subject", "comment")


class StoredFiles(Protocol):
    """Where messages' files are kept (``bot/attachment_files.py`` on disk)."""

    async def remove(self, key: str) -> bool:
        """Delete the file under ``key``; False if it was not there."""


class CustomerAdmin:
    def __init__(self, *, engine: AsyncEngine, files: StoredFiles | None = None) -> None:
        """``files``: where messages' attachments are kept, so that erasing removes them too
        (without it, as in a CLI without channel settings, the files stay and ``files`` is 0)."""
        self._engine = engine
        self._files = files

    async def merge(self, source_id: int, target_id: int, *, actor: str) -> None:
        """Fold ``source_id`` into ``target_id``; nothing of the source's history is lost."""
        async with self._engine.begin() as conn:
            await _merge(conn, source_id, target_id, actor, utcnow())

    async def verify_email(self, customer_id: int, *, actor: str) -> int:
        """An agent confirms the address the customer claimed in web chat; returns the customer
        the record now is. If another customer owns that address, the claimant *is* that
        customer: the record is merged into the owner. Otherwise the claim becomes the
        customer's email, which incoming mail links on from now on."""
        try:
            return await self._verify_email(customer_id, actor)
        except IntegrityError:  # mail from that address made its customer meanwhile: now a merge
            raise InvalidValue(
                f"customer {customer_id}: another customer got that address meanwhile; run the command again"
            ) from None

    async def _verify_email(self, customer_id: int, actor: str) -> int:
        now = utcnow()
        async with self._engine.begin() as conn:
            customer = await _customer(conn, customer_id)
            claim = customer["claimed_email"]
            if claim is None:
                raise InvalidValue(
                    f"customer {customer_id} has no unverified email to verify "
                    "(they give one in web chat; 'customer-export' shows the record)"
                )
            owner = (await conn.execute(select(Customer.id).where(Customer.email == claim))).scalar()
            if owner is not None and owner != customer_id:
                await _merge(conn, customer_id, int(owner), actor, now)
                await conn.execute(
                    update(Customer).where(Customer.id == customer_id).values(claimed_email=None)
                )
                return int(owner)
            await conn.execute(
                update(Customer).where(Customer.id == customer_id).values(email=claim, claimed_email=None,
                                                                          updated_at=now)
            )  # fmt: skip
            tickets = (
                await conn.execute(select(Ticket.id).where(Ticket.customer_id == customer_id))
            ).scalars()
            data = {"customer": customer_id}
            await record_many(conn, [(int(t), actor, "customer_email_verified", data) for t in tickets], now)
            return customer_id

    async def export(self, customer_id: int) -> dict[str, Any]:
        """Everything stored about the customer (and records merged into it), JSON-ready."""
        async with self._engine.connect() as conn:
            customer = await _customer(conn, customer_id, allow_merged=True)
            merged = [
                await _customer(conn, int(i), allow_merged=True)
                for i in (
                    await conn.execute(select(Customer.id).where(Customer.merged_into_id == customer_id))
                ).scalars()
            ]
            tickets = await _rows(conn, Ticket, Ticket.customer_id == customer_id)
            ids = [t["id"] for t in tickets]
            events = await _rows(conn, TicketEvent, TicketEvent.ticket_id.in_(ids))
            for ticket in tickets:
                ticket["reference"] = f"T-{ticket['number']}"
                ticket["events"] = [e for e in events if e["ticket_id"] == ticket["id"]]
            export: dict[str, Any] = {"customer": customer, "merged_records": merged}
            parts = (("identities", ChannelIdentity), ("conversations", Conversation))
            for key, model in (*parts, ("interactions", Interaction)):
                export[key] = await _rows(conn, model, model.customer_id == customer_id)
            export.update(tickets=tickets, exported_at=utcnow())
            return {k: _jsonable(v) for k, v in export.items()}

    async def erase(self, customer_id: int, *, actor: str) -> dict[str, int]:
        """Remove the customer's personal data; returns how many rows of each kind were scrubbed,
        ``files`` deleted and ``slack_messages`` scheduled for deletion (a job deletes those,
        ``connectors/slack/erasure.py``, retrying while Slack is down).

        Renaming the identities and conversations revokes them: web chat sessions end (their
        tokens are refused), and the same person writing again on a channel is a new customer."""
        now = utcnow()
        async with self._engine.begin() as conn:
            await _customer(conn, customer_id)
            shells = select(Customer.id).where(Customer.merged_into_id == customer_id)
            people = [customer_id, *[int(i) for i in (await conn.execute(shells)).scalars()]]
            await conn.execute(
                update(Customer)
                .where(Customer.id.in_(people))
                .values(display_name=None, email=None, claimed_email=None, phone=None, tags=[], attributes={},
                        erased_at=now, updated_at=now)
            )  # fmt: skip
            ticket_ids = [
                int(i)
                for i in (
                    await conn.execute(select(Ticket.id).where(Ticket.customer_id == customer_id))
                ).scalars()
            ]
            # Before the thread ids go: they name the Slack customer's channel (slack_messages.py).
            slack = await schedule_erasure(conn, customer_id, ticket_ids, now)
            identities = await conn.execute(
                update(ChannelIdentity)
                .where(ChannelIdentity.customer_id == customer_id)
                .values(external_id=_erased_id(ChannelIdentity.id), display_name=None)
            )
            conversations = await conn.execute(
                update(Conversation)
                .where(Conversation.customer_id == customer_id)
                .values(  # the public id is the web chat session's handle on the history: cut it too
                    external_thread_id=_erased_id(Conversation.id),
                    public_id=_erased_id(Conversation.id),
                    subject=None,
                    dialog=None,  # slots hold what the customer typed (an order number, an address)
                )
            )
            interactions, keys = await _scrub_interactions(conn, customer_id)
            await conn.execute(
                update(Ticket).where(Ticket.id.in_(ticket_ids)).values(subject=ERASED, csat_comment=None)
            )
            await _scrub_events(conn, ticket_ids)
            await conn.execute(
                update(SlaTimer).where(SlaTimer.ticket_id.in_(ticket_ids), SlaTimer.kind == "autoclose")
                .values(state="stopped")
            )  # fmt: skip
            await record_many(conn, [(t, actor, "customer_erased", {}) for t in ticket_ids], now)
            # Deliveries still held carry the customer's messages: gone too (sent ones and waiting
            # ones alike). Subscribers must erase their copies: rare, so queued here, not tailed.
            talks = select(Conversation.id).where(Conversation.customer_id == customer_id)
            await webhooks.forget(
                conn,
                ticket_ids=ticket_ids,
                conversation_ids=[int(i) for i in (await conn.execute(talks)).scalars()],
            )
            data = {"customer_id": customer_id, "tickets": ticket_ids, "actor": actor}
            body = webhooks.event_body("customer.erased", now, data)
            await webhooks.enqueue(conn, [("customer.erased", None, body)], None, now)
        files = await self._remove_files(keys)  # after the commit: a rollback keeps them
        return {"customers": len(people), "identities": int(identities.rowcount or 0),
                "conversations": int(conversations.rowcount or 0), "interactions": interactions,
                "tickets": len(ticket_ids), "files": files, "slack_messages": slack}  # fmt: skip

    async def _remove_files(self, keys: set[str]) -> int:
        """Delete the erased messages' files that no other message holds: files are stored by
        content, so another customer's message may hold the very same bytes under the same key.
        The check reads every interaction's attachments as text: slow on a large desk, but an
        erasure is rare and its rows are already committed."""
        if self._files is None or not keys:
            return 0
        removed = 0
        async with self._engine.connect() as conn:
            for key in sorted(keys):
                held = select(Interaction.id).where(
                    cast(Interaction.attachments, String).contains(key, autoescape=True)
                )
                if (await conn.execute(held.limit(1))).first() is None and await self._files.remove(key):
                    removed += 1
        return removed


async def _merge(conn: AsyncConnection, source_id: int, target_id: int, actor: str, now: datetime) -> None:
    """The merge, in the caller's transaction. The target keeps its own unverified claim."""
    if source_id == target_id:
        raise InvalidValue("cannot merge a customer into itself")
    source = await _customer(conn, source_id)
    target = await _customer(conn, target_id)
    moved = [
        int(i)
        for i in (await conn.execute(select(Ticket.id).where(Ticket.customer_id == source_id))).scalars()
    ]
    for model in (ChannelIdentity, Conversation, Interaction, Ticket):
        table: Any = model
        await conn.execute(update(table).where(table.customer_id == source_id).values(customer_id=target_id))
    values: dict[str, Any] = {
        "tags": list(dict.fromkeys([*(target["tags"] or []), *(source["tags"] or [])])),
        "attributes": {**(source["attributes"] or {}), **(target["attributes"] or {})},
        "updated_at": now,
    }
    for column in ("display_name", "phone", "email"):
        if target[column] is None and source[column] is not None:
            values[column] = source[column]
    # The email is unique: take it off the source before the target gets it.
    await conn.execute(
        update(Customer)
        .where(Customer.id == source_id)
        .values(merged_into_id=target_id, email=None, updated_at=now)
    )
    await conn.execute(update(Customer).where(Customer.id == target_id).values(**values))
    await conn.execute(
        update(Customer).where(Customer.merged_into_id == source_id).values(merged_into_id=target_id)
    )
    data = {"from_customer": source_id, "to_customer": target_id}
    await record_many(conn, [(t, actor, "customer_merged", data) for t in moved], now)


async def _customer(conn: AsyncConnection, customer_id: int, *, allow_merged: bool = False) -> dict[str, Any]:
    row = (
        (await conn.execute(select(Customer.__table__).where(Customer.id == customer_id))).mappings().first()
    )
    if row is None:
        raise CustomerNotFound(f"no customer {customer_id}")
    if row["merged_into_id"] is not None and not allow_merged:
        raise CustomerNotFound(f"customer {customer_id} was merged into {row['merged_into_id']}; use that id")
    return dict(row)


async def _rows(conn: AsyncConnection, model: Any, where: Any) -> list[dict[str, Any]]:
    result = await conn.execute(select(model.__table__).where(where).order_by(model.id))
    return [dict(r) for r in result.mappings()]


async def _scrub_interactions(conn: AsyncConnection, customer_id: int) -> tuple[int, set[str]]:
    """Texts, names, attachments and message ids go; direction, channel, time, intent, the
    sentiment label and whether it was a complaint stay (they are what reports count).
    Returns how many interactions were scrubbed and the storage keys of their files."""
    rows = (
        await conn.execute(
            select(Interaction.id, Interaction.analysis, Interaction.attachments).where(
                Interaction.customer_id == customer_id
            )
        )
    ).all()
    changes = []
    keys: set[str] = set()
    for interaction_id, analysis, attachments in rows:
        for attachment in attachments or ():
            key = attachment.get("storage_key") if isinstance(attachment, dict) else None
            if isinstance(key, str) and key:
                keys.add(key)
        kept: dict[str, Any] | None = None
        if isinstance(analysis, dict):
            sentiment = analysis.get("sentiment")
            label = sentiment.get("label") if isinstance(sentiment, dict) else None
            kept = {"intent": analysis.get("intent"), "sentiment": {"label": label}}
            complaint = analysis.get("complaint")
            if isinstance(complaint, dict):
                kept["complaint"] = {"is": bool(complaint.get("is"))}
        changes.append({"b_id": interaction_id, "b_analysis": kept})
    if changes:
        await conn.execute(
            update(Interaction)
            .where(Interaction.id == bindparam("b_id"))
            .values(text=ERASED, subject=None, sender_name=None, attachments=[], external_message_id=None,
                    analysis=bindparam("b_analysis"))
        , changes)  # fmt: skip
        ids = [c["b_id"] for c in changes]
        await conn.execute(update(OutboxItem).where(OutboxItem.interaction_id.in_(ids)).values(payload={}))
        await conn.execute(
            update(OutboxItem)
            .where(OutboxItem.interaction_id.in_(ids), OutboxItem.state.in_(("pending", "sending")))
            .values(state="failed", last_error="customer erased before delivery")
        )
    return len(changes), keys


async def _scrub_events(conn: AsyncConnection, ticket_ids: list[int]) -> None:
    rows = (
        await conn.execute(
            select(TicketEvent.id, TicketEvent.data).where(TicketEvent.ticket_id.in_(ticket_ids))
        )
    ).all()
    for event_id, data in rows:
        if isinstance(data, dict) and any(k in data for k in _PERSONAL_EVENT_KEYS):
            clean = {k: (ERASED if k in _PERSONAL_EVENT_KEYS else v) for k, v in data.items()}
            await conn.execute(update(TicketEvent).where(TicketEvent.id == event_id).values(data=clean))


def _erased_id(column: Any) -> Any:
    """``erased:<row id>``: unique (the columns are), and no longer the customer's address."""
    return literal("erased:").concat(cast(column, String))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
