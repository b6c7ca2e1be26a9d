"""Customers, their channel identities and their conversations.

Every channel resolves "who wrote, in which thread" to a :class:`ConversationRef` here, so one
customer keeps one record and one history across web chat, Slack, Telegram and email. Lookups
are cached per process: a conversation's identity never changes once created, and the fields
that can change (customer, status, hand-off) are re-read inside the inbound transaction. The one
exception is an erasure, which renames the ids; the turn writer sees it and refuses the turn,
and the flow :meth:`Customers.forget` s the cached conversation.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.contracts import ConversationGone
from ticketing.batching import GroupCommit
from ticketing.models import ChannelIdentity, Conversation, Customer, Interaction, Ticket
from ticketing.row_ids import insert_returning_ids
from ticketing.time import utcnow

__all__ = ["ConversationRef", "CustomerInfo", "Customers"]


@dataclass(frozen=True, slots=True)
class ConversationRef:
    id: int
    public_id: str
    identity_id: int
    channel: str
    external_user_id: str
    external_thread_id: str


@dataclass(frozen=True, slots=True)
class CustomerInfo:
    id: int
    name: str | None
    email: str | None


def new_public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(16)}"


class Customers:
    def __init__(self, *, engine: AsyncEngine, cache_size: int = 50_000) -> None:
        self._engine = engine
        self._cache: OrderedDict[tuple[str, str, str], ConversationRef] = OrderedDict()
        self._cache_size = cache_size
        self._sessions: GroupCommit[str, ConversationRef] = GroupCommit(self._start_sessions, name="sessions")

    async def resolve(
        self,
        channel: str,
        external_user_id: str,
        external_thread_id: str,
        *,
        display_name: str | None = None,
        email: str | None = None,
        create: bool = True,
    ) -> ConversationRef:
        """The conversation for this user and thread, creating customer/identity/conversation.

        ``create=False`` (web chat, whose conversations only :meth:`start_session` opens): raise
        :class:`ConversationGone` instead, so a token of an erased session opens nothing."""
        key = (channel, external_user_id, external_thread_id)
        ref = self._cache.get(key)
        if ref is not None:
            self._cache.move_to_end(key)
            return ref
        for _attempt in range(3):  # another process may create the same rows concurrently
            try:
                async with self._engine.begin() as conn:
                    ref = await self._resolve(conn, key, display_name, _clean_email(email), create)
                break
            except IntegrityError:
                continue
        else:
            raise RuntimeError(f"could not resolve conversation for {channel}:{external_user_id}")
        self._remember(key, ref)
        return ref

    def forget(self, ref: ConversationRef) -> None:
        """Drop the cached conversation: its customer was erased, its ids renamed."""
        self._cache.pop((ref.channel, ref.external_user_id, ref.external_thread_id), None)

    async def close(self) -> None:
        """Wait for the sessions being written."""
        await self._sessions.close()

    async def start_session(self, channel: str) -> ConversationRef:
        """A brand-new anonymous visitor (web chat): customer, identity and conversation.

        Visitors who arrive together (a campaign link, a page everybody opens at nine) share
        one transaction of three statements: a transaction per visitor, of six round trips, kept
        SQLite's one connection from every chat under load (docs/performance.md)."""
        ref = await self._sessions.submit(channel)
        self._remember((channel, ref.external_user_id, ref.external_thread_id), ref)
        return ref

    async def _start_sessions(self, channels: Sequence[str]) -> list[ConversationRef]:
        now = utcnow()
        keys = [(channel, new_public_id("v"), new_public_id("c")) for channel in channels]
        async with self._engine.begin() as conn:
            anonymous = [_customer_row(None, None, now)] * len(keys)
            customers = await insert_returning_ids(conn, Customer.id, anonymous)
            people = list(zip(customers, keys, strict=True))
            identities = await insert_returning_ids(
                conn,
                ChannelIdentity.id,
                [_identity_row(c, ch, user, None, now) for c, (ch, user, _) in people],
            )
            conversations = await insert_returning_ids(
                conn,
                Conversation.id,
                [
                    _conversation_row(thread, customer, identity, channel, thread, now)
                    for (customer, (channel, _, thread)), identity in zip(people, identities, strict=True)
                ],
            )
        return [
            ConversationRef(conversation, thread, identity, channel, user, thread)
            for conversation, identity, (channel, user, thread) in zip(
                conversations, identities, keys, strict=True
            )
        ]

    async def by_public_id(self, public_id: str) -> ConversationRef | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_BY_PUBLIC_ID, {"public_id": public_id})).first()
        return _ref(row) if row else None

    async def customer_of(self, conversation_id: int) -> CustomerInfo:
        """The conversation's customer as its own visitor sees it: an address they typed but nobody
        verified yet is theirs to see (it is their input), so it stands in for the email."""
        stmt = (
            select(Customer.id, Customer.display_name, Customer.email, Customer.claimed_email)
            .join(Conversation, Conversation.customer_id == Customer.id)
            .where(Conversation.id == conversation_id)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).one()
        return CustomerInfo(row.id, row.display_name, row.email or row.claimed_email)

    async def identify(self, ref: ConversationRef, *, name: str | None, email: str | None) -> CustomerInfo:
        """Store a name and a *claimed* email on the conversation's own customer.

        The claim is the visitor's word only: it never links the visitor to the customer who owns
        that address, and never becomes ``customers.email`` (unique, what incoming mail links on),
        or anyone could read themselves into a stranger's record, or claim an address before its
        owner writes. It waits in ``claimed_email`` until an agent confirms it
        (:meth:`ticketing.customer_admin.CustomerAdmin.verify_email`). Nothing of any other
        record is read, so nothing of it can be returned."""
        email = _clean_email(email)
        async with self._engine.begin() as conn:
            current = (
                await conn.execute(
                    select(Conversation.customer_id).where(Conversation.id == ref.id).with_for_update()
                )
            ).scalar_one()
            verified = (await conn.execute(select(Customer.email).where(Customer.id == current))).scalar()
            values: dict[str, object] = {"updated_at": utcnow()}
            if name:
                values["display_name"] = name
            if email and email != verified:  # their own verified address needs no claim
                values["claimed_email"] = email
            await conn.execute(update(Customer).where(Customer.id == current).values(**values))
            row = (
                await conn.execute(
                    select(Customer.id, Customer.display_name, Customer.email, Customer.claimed_email).where(
                        Customer.id == current
                    )
                )
            ).one()
        return CustomerInfo(row.id, row.display_name, email or row.email or row.claimed_email)

    async def link_identity(self, ref: ConversationRef, customer_id: int) -> bool:
        """Move the conversation's channel identity to a known customer (a verified Telegram
        deep link: the customer's own link proves who they are). False: no such customer."""
        async with self._engine.begin() as conn:
            target = (
                await conn.execute(select(Customer.merged_into_id).where(Customer.id == customer_id))
            ).first()
            if target is None:
                return False
            customer_id = target.merged_into_id or customer_id
            current = (
                await conn.execute(
                    select(ChannelIdentity.customer_id)
                    .where(ChannelIdentity.id == ref.identity_id)
                    .with_for_update()
                )
            ).scalar_one()
            if current != customer_id:
                await _move_identity(conn, ref.identity_id, current, customer_id)
        return True

    async def _resolve(
        self,
        conn: AsyncConnection,
        key: tuple[str, str, str],
        display_name: str | None,
        email: str | None,
        create: bool,
    ) -> ConversationRef:
        channel, user, thread = key
        now = utcnow()
        params = {"channel": channel, "user": user, "thread": thread}
        row = (await conn.execute(_BY_THREAD, params)).first()
        if row is not None:
            return _ref(row)
        if not create:
            raise ConversationGone("this conversation no longer exists; start a new session")
        identity = (await conn.execute(_IDENTITY, params)).first()
        if identity is None:
            customer_id = await _customer_for(conn, display_name, email, now)
            identity_id = (
                await conn.execute(
                    _INSERT_IDENTITY, _identity_row(customer_id, channel, user, display_name, now)
                )
            ).scalar_one()
        else:
            identity_id, customer_id = identity.id, identity.customer_id
        public_id = thread if thread.startswith("c_") else new_public_id("c")
        conversation = _conversation_row(public_id, customer_id, identity_id, channel, thread, now)
        conversation_id = (await conn.execute(_INSERT_CONVERSATION, conversation)).scalar_one()
        return ConversationRef(conversation_id, public_id, identity_id, channel, user, thread)

    def _remember(self, key: tuple[str, str, str], ref: ConversationRef) -> None:
        self._cache[key] = ref
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


# Built once: building a statement costs about as much Python as running it, and every new
# web-chat session runs these.
_REF = select(
    Conversation.id,
    Conversation.public_id,
    Conversation.identity_id,
    Conversation.channel,
    ChannelIdentity.external_id,
    Conversation.external_thread_id,
).join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
_BY_PUBLIC_ID = _REF.where(Conversation.public_id == bindparam("public_id"))
_BY_THREAD = _REF.where(
    ChannelIdentity.channel == bindparam("channel"),
    ChannelIdentity.external_id == bindparam("user"),
    Conversation.external_thread_id == bindparam("thread"),
)
_IDENTITY = select(ChannelIdentity.id, ChannelIdentity.customer_id).where(
    ChannelIdentity.channel == bindparam("channel"), ChannelIdentity.external_id == bindparam("user")
)
_INSERT_IDENTITY = insert(ChannelIdentity).returning(ChannelIdentity.id)
_INSERT_CONVERSATION = insert(Conversation).returning(Conversation.id)
_INSERT_CUSTOMER = insert(Customer).returning(Customer.id)


def _ref(row: Row[int, str, int, str, str, str]) -> ConversationRef:
    id_, public_id, identity_id, channel, user, thread = row
    return ConversationRef(id_, public_id, identity_id, channel, user, thread)


def _clean_email(email: str | None) -> str | None:
    return email.strip().lower() if email and email.strip() else None


async def _customer_for(
    conn: AsyncConnection, display_name: str | None, email: str | None, now: datetime
) -> int:
    if email:
        existing = (await conn.execute(select(Customer.id).where(Customer.email == email))).scalar()
        if existing is not None:
            return int(existing)
    return int((await conn.execute(_INSERT_CUSTOMER, _customer_row(display_name, email, now))).scalar_one())


def _customer_row(display_name: str | None, email: str | None, now: datetime) -> dict[str, Any]:
    return {
        "display_name": display_name, "email": email, "tags": [], "attributes": {},
        "created_at": now, "updated_at": now,
    }  # fmt: skip


def _identity_row(
    customer_id: int, channel: str, user: str, display_name: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "customer_id": customer_id, "channel": channel, "external_id": user,
        "display_name": display_name, "created_at": now,
    }  # fmt: skip


def _conversation_row(
    public_id: str, customer_id: int, identity_id: int, channel: str, thread: str, now: datetime
) -> dict[str, Any]:
    return {
        "public_id": public_id, "customer_id": customer_id, "identity_id": identity_id,
        "channel": channel, "external_thread_id": thread, "status": "open", "handed_off": False,
        "created_at": now, "last_message_at": now,
    }  # fmt: skip


async def _move_identity(conn: AsyncConnection, identity_id: int, source: int, target: int) -> None:
    conversation_ids = select(Conversation.id).where(Conversation.identity_id == identity_id)
    await conn.execute(
        update(Interaction)
        .where(Interaction.conversation_id.in_(conversation_ids))
        .values(customer_id=target)
    )
    await conn.execute(
        update(Ticket).where(Ticket.conversation_id.in_(conversation_ids)).values(customer_id=target)
    )
    await conn.execute(
        update(Conversation).where(Conversation.identity_id == identity_id).values(customer_id=target)
    )
    await conn.execute(
        update(ChannelIdentity).where(ChannelIdentity.id == identity_id).values(customer_id=target)
    )
    remaining = (
        await conn.execute(select(ChannelIdentity.id).where(ChannelIdentity.customer_id == source).limit(1))
    ).first()
    if remaining is None:
        await conn.execute(
            update(Customer).where(Customer.id == source).values(merged_into_id=target, updated_at=utcnow())
        )
