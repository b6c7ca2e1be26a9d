"""Outgoing webhooks, the storage side: subscriptions and the deliveries waiting to be sent.

A delivery row is one event for one subscription, with the exact body to POST, so every retry
sends the same bytes under the same ``webhook-id``. Rows are claimed with a lease, like the
outbox (``ticketing/outbox.py``): one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED)``, so several processes never send one row at the same time, and a process that dies
mid-delivery only delays the row until its lease runs out (at least once: receivers dedupe by
``webhook-id``). **Ordering:** a row is not claimed while an earlier row with the same
``order_key`` (``ticket:<id>``) and subscription is pending or being sent, so a receiver sees
each ticket's events in order; a dead-lettered row no longer holds the later ones back.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import aliased

from core.webhook_events import EVENT_TYPES
from ticketing.models import ChannelCursor, Interaction, TicketEvent, WebhookDelivery, WebhookSubscription
from ticketing.time import utcnow

__all__ = [
    "CURSOR_CHANNEL",
    "EVENT_TYPES",
    "Claimed",
    "DeliveryRow",
    "Subscription",
    "Subscriptions",
    "WebhookDeliveries",
    "enqueue",
    "event_body",
    "forget",
    "new_message_id",
]


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    name: str
    url: str
    secret: str  # whsec_<base64>
    events: frozenset[str]
    source: str
    enabled: bool = True  # a removed subscription stays as a row, so its deliveries stay listed


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    msg_id: str
    subscription_id: int
    event_type: str
    body: str
    attempts: int


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery as ``frontdesk webhooks list`` shows it (never the body: it holds messages)."""

    id: int
    msg_id: str
    subscription: str
    event_type: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def new_message_id() -> str:
    """The ``webhook-id`` of a new delivery: random, so replays and other databases never reuse one."""
    return "msg_" + secrets.token_hex(12)


def event_body(event_type: str, at: datetime, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=int(row.id), name=row.name, url=row.url, secret=row.secret,
        events=frozenset(row.events or ()), source=row.source, enabled=bool(row.enabled),
    )  # fmt: skip


async def _enabled(conn: AsyncConnection) -> list[Subscription]:
    stmt = select(WebhookSubscription).where(WebhookSubscription.enabled.is_(True))
    return [_subscription(row) for row in (await conn.execute(stmt)).all()]


async def enqueue(
    conn: AsyncConnection,
    rows: Iterable[tuple[str, str | None, str]],
    subscriptions: Sequence[Subscription] | None,
    now: datetime,
) -> int:
    """Queue ``(event type, order key, body)`` for every subscription that wants the type, in the
    caller's transaction; ``subscriptions`` None reads them here (a rare event such as an erasure)."""
    subs = await _enabled(conn) if subscriptions is None else subscriptions
    values = [
        {"msg_id": new_message_id(), "subscription_id": sub.id, "event_type": kind, "order_key": key,
         "body": body, "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
        for kind, key, body in rows
        for sub in subs
        if kind in sub.events
    ]  # fmt: skip
    if values:
        await conn.execute(insert(WebhookDelivery), values)
    return len(values)


CURSOR_CHANNEL = "webhooks"  # channel_cursors rows: ("webhooks", "ticket_events" | "interactions")


async def _cursors_to_newest(conn: AsyncConnection, now: datetime) -> None:
    for name, model in (("ticket_events", TicketEvent), ("interactions", Interaction)):
        newest = (await conn.execute(select(func.coalesce(func.max(model.id), 0)))).scalar_one()
        value = {"channel": CURSOR_CHANNEL, "name": name, "value": {"last": int(newest)}, "updated_at": now}
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(ChannelCursor).values(**value)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["channel", "name"], set_={"value": stmt.excluded.value, "updated_at": now}
            )
        )


async def forget(conn: AsyncConnection, *, ticket_ids: Sequence[int], conversation_ids: Sequence[int]) -> int:
    """Delete the deliveries about these tickets and conversations, sent or not (an erasure:
    their bodies hold the customer's messages). Returns how many."""
    keys = [f"ticket:{t}" for t in ticket_ids] + [f"conversation:{c}" for c in conversation_ids]
    if not keys:
        return 0
    result = await conn.execute(delete(WebhookDelivery).where(WebhookDelivery.order_key.in_(keys)))
    return int(result.rowcount or 0)


async def _put(
    conn: AsyncConnection, name: str, values: dict[str, Any], now: datetime, *, only_new: bool
) -> bool:
    if not await _enabled(conn):
        # The first subscription (again): the feed starts from now, not from where it
        # stopped when the last one went (nothing is read while none exists).
        await _cursors_to_newest(conn, now)
    stmt = select(WebhookSubscription.id, WebhookSubscription.enabled).where(WebhookSubscription.name == name)
    found = (await conn.execute(stmt.with_for_update())).first()
    if found is not None and only_new and found.enabled:
        return False
    if found is None:
        await conn.execute(insert(WebhookSubscription).values(name=name, created_at=now, **values))
    else:
        await conn.execute(
            update(WebhookSubscription).where(WebhookSubscription.id == found.id).values(**values)
        )
    return True


class Subscriptions:
    """The subscription table: config entries synced at start, and what an API adds or removes."""

    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def enabled(self) -> list[Subscription]:
        async with self._engine.connect() as conn:
            return await _enabled(conn)

    async def all(self) -> list[Subscription]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(WebhookSubscription).order_by(WebhookSubscription.name))).all()
        return [_subscription(row) for row in rows]

    async def put(
        self, *, name: str, url: str, secret: str, events: Sequence[str], source: str = "api",
        only_new: bool = False,
    ) -> bool:  # fmt: skip
        """Add a subscription or change the one of that name. ``only_new`` (the API's create)
        leaves an enabled one of that name alone, even one inserted meanwhile: False, nothing written."""
        unknown = sorted(set(events) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
        now = utcnow()
        values = {"url": url, "secret": secret, "events": sorted(set(events)), "source": source,
                  "enabled": True, "updated_at": now}  # fmt: skip
        if not secret.startswith("whsec_"):
            raise ValueError("a webhook secret looks like whsec_<base64>")
        try:
            async with self._engine.begin() as conn:
                return await _put(conn, name, values, now, only_new=only_new)
        except IntegrityError:  # inserted meanwhile by another caller: the whole write rolled back
            if only_new:
                return False
            raise

    async def remove(self, name: str) -> bool:
        """Stop sending to ``name``: disabled, not deleted, so its deliveries stay listed."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(WebhookSubscription)
                .where(WebhookSubscription.name == name, WebhookSubscription.enabled.is_(True))
                .values(enabled=False, updated_at=utcnow())
            )
            # Its waiting rows would otherwise stay pending for ever.
            await conn.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.subscription_id.in_(
                        select(WebhookSubscription.id).where(WebhookSubscription.name == name)
                    ),
                    WebhookDelivery.state == "pending",
                )
                .values(state="dead", last_error="subscription removed")
            )
        return bool(result.rowcount)

    async def sync_config(self, entries: Sequence[tuple[str, str, str, Sequence[str]]]) -> None:
        """Make the ``source: config`` rows match config.yaml: ``(name, url, secret, events)``."""
        names = {name for name, *_ in entries}
        for name, url, secret, events in entries:
            try:
                await self.put(name=name, url=url, secret=secret, events=events, source="config")
            except IntegrityError:  # another process starting beside this one inserted it first
                await self.put(name=name, url=url, secret=secret, events=events, source="config")
        for sub in await self.all():
            if sub.source == "config" and sub.name not in names:
                await self.remove(sub.name)


_CLAIMABLE = aliased(WebhookDelivery)
_EARLIER = aliased(WebhookDelivery)
_DUE = (
    select(_CLAIMABLE.id)
    .where(
        or_(
            and_(_CLAIMABLE.state == "pending", _CLAIMABLE.next_attempt_at <= bindparam("now")),
            and_(_CLAIMABLE.state == "sending", _CLAIMABLE.claimed_until < bindparam("now")),
        ),
        ~exists().where(
            _EARLIER.subscription_id == _CLAIMABLE.subscription_id,
            _EARLIER.order_key == _CLAIMABLE.order_key,
            _EARLIER.id < _CLAIMABLE.id,
            _EARLIER.state.in_(("pending", "sending")),
        ),
    )
    .order_by(_CLAIMABLE.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True, of=_CLAIMABLE)
)
_CLAIM = (
    update(WebhookDelivery)
    .where(WebhookDelivery.id.in_(_DUE.scalar_subquery()))
    .values(state="sending", claimed_until=bindparam("until"), attempts=WebhookDelivery.attempts + 1)
    .returning(
        WebhookDelivery.id,
        WebhookDelivery.msg_id,
        WebhookDelivery.subscription_id,
        WebhookDelivery.event_type,
        WebhookDelivery.body,
        WebhookDelivery.attempts,
    )
)


class WebhookDeliveries:
    """The delivery rows: claim, record outcomes, and the operator's list, retry and replay."""

    def __init__(self, *, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, *, limit: int, lease: timedelta) -> list[Claimed]:
        now = utcnow()
        async with self._engine.begin() as conn:
            rows = (await conn.execute(_CLAIM, {"now": now, "until": now + lease, "limit": limit})).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)

    async def record(
        self,
        *,
        sent: Sequence[int],
        retry: Sequence[tuple[int, str, datetime]],
        dead: Sequence[tuple[int, str]],
    ) -> None:
        """A round's outcomes in one transaction: sent, to retry at a time, dead-lettered."""
        now = utcnow()
        async with self._engine.begin() as conn:
            if sent:
                await conn.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id.in_(sent), WebhookDelivery.state == "sending")
                    .values(state="sent", sent_at=now, claimed_until=None, last_error=None)
                )
            for row_id, error, at in retry:
                await conn.execute(
                    update(WebhookDelivery).where(WebhookDelivery.id == row_id)
                    .values(state="pending", next_attempt_at=at, claimed_until=None, last_error=error[:500])
                )  # fmt: skip
            for row_id, error in dead:
                await conn.execute(
                    update(WebhookDelivery).where(WebhookDelivery.id == row_id)
                    .values(state="dead", claimed_until=None, last_error=error[:500])
                )  # fmt: skip

    async def rows(
        self, *, states: Sequence[str] = (), limit: int = 100, before: int | None = None,
        ids: Sequence[int] | None = None,
    ) -> list[DeliveryRow]:  # fmt: skip
        """Newest first; ``before`` an id pages on (the API's cursor), ``ids`` picks rows."""
        stmt = (
            select(
                WebhookDelivery.id,
                WebhookDelivery.msg_id,
                WebhookSubscription.name,
                WebhookDelivery.event_type,
                WebhookDelivery.state,
                WebhookDelivery.attempts,
                WebhookDelivery.last_error,
                WebhookDelivery.created_at,
                WebhookDelivery.sent_at,
            )
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if states:
            stmt = stmt.where(WebhookDelivery.state.in_(states))
        if before is not None:
            stmt = stmt.where(WebhookDelivery.id < before)
        if ids is not None:
            stmt = stmt.where(WebhookDelivery.id.in_(ids))
        async with self._engine.connect() as conn:
            return [DeliveryRow(*row) for row in (await conn.execute(stmt)).all()]

    async def counts(self) -> dict[str, int]:
        stmt = select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)
        async with self._engine.connect() as conn:
            return {state: int(n) for state, n in (await conn.execute(stmt)).all()}

    async def retry(self, ids: Sequence[int] = (), *, all_dead: bool = False) -> int:
        """Send dead rows again, under the same ``webhook-id`` (they were never accepted)."""
        stmt = update(WebhookDelivery).where(WebhookDelivery.state == "dead")
        if not all_dead:
            stmt = stmt.where(WebhookDelivery.id.in_(ids))
        stmt = stmt.values(state="pending", attempts=0, next_attempt_at=utcnow(), last_error=None)
        async with self._engine.begin() as conn:
            return int((await conn.execute(stmt)).rowcount or 0)

    async def replay(
        self, *, since: datetime, events: Sequence[str] = (), subscription: str | None = None
    ) -> int:
        """Queue again every delivery made since ``since``, as new deliveries with new ids (the
        receiver asked for them again, so its dedupe must not drop them); oldest first."""
        stmt = (
            select(
                WebhookDelivery.subscription_id,
                WebhookDelivery.event_type,
                WebhookDelivery.order_key,
                WebhookDelivery.body,
            )
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .where(WebhookDelivery.created_at >= since, WebhookSubscription.enabled.is_(True))
            .order_by(WebhookDelivery.id)
        )
        if events:
            stmt = stmt.where(WebhookDelivery.event_type.in_(events))
        if subscription is not None:
            stmt = stmt.where(WebhookSubscription.name == subscription)
        now = utcnow()
        async with self._engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
            values = [
                {"msg_id": new_message_id(), "subscription_id": sub, "event_type": kind, "order_key": key,
                 "body": body, "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                for sub, kind, key, body in rows
            ]  # fmt: skip
            if values:
                await conn.execute(insert(WebhookDelivery), values)
        return len(values)

    async def purge_sent(self, *, before: datetime) -> int:
        """Delete sent rows older than ``before`` (they only serve ``replay``)."""
        stmt = delete(WebhookDelivery).where(
            WebhookDelivery.state == "sent", WebhookDelivery.created_at < before
        )
        async with self._engine.begin() as conn:
            return int((await conn.execute(stmt)).rowcount or 0)
