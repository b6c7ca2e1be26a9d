"""Slack's view of tickets: each ticket's card/thread, idempotent agent replies and notes.

``slack_tickets`` remembers where a ticket's card was posted (the card is the thread root), so
the projection can update the card and post into the thread, and a reply in a thread finds its
ticket. Agent replies and notes written from Slack record their idempotency key (the Slack
``event_id``) in ``inbound_dedup`` *in the same transaction* as the reply, so a Slack retry
never sends the customer a second copy; their audit events carry ``source: slack`` so the
projection does not echo them back into the thread they came from. Card buttons and menu
choices record theirs (``user + action_ts + action_id``) in the transaction of the change, so a
crash can neither lose a press nor let its retry do it twice.

TODO(ticketing): ``TicketDesk.reply``/``note`` could take ``idempotency_key`` and ``source``;
then :meth:`SlackThreads.reply` would be a call to it instead of the same steps composed here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from ticketing import assignment, lifecycle, outbound, sla
from ticketing.errors import InvalidTransition, InvalidValue, TicketError
from ticketing.models import Base, Id, InboundDedup, Ticket
from ticketing.sla_config import SlaConfig
from ticketing.ticket_rows import TicketRow, load, record
from ticketing.tickets import TicketChange, apply_change
from ticketing.time import utcnow

__all__ = ["DEDUP_CHANNEL", "SlackThreads", "SlackTicket"]

DEDUP_CHANNEL = "slack"


class SlackTicket(Base):
    """Where a ticket's card lives in Slack (migration 0003)."""

    __tablename__ = "slack_tickets"
    __table_args__ = (UniqueConstraint("channel_id", "ts"),)  # a thread root is one ticket's card
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    covered_interaction_id: Mapped[int | None] = mapped_column(Id)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SlackThreads:
    def __init__(
        self, *, engine: AsyncEngine, config: Callable[[], SlaConfig], wake_outbox: Callable[[], None]
    ) -> None:
        self._engine = engine
        self._config = config
        self._wake = wake_outbox
        self._insert = (postgresql if engine.dialect.name == "postgresql" else sqlite).insert

    # -- cards ------------------------------------------------------------------------------------

    async def card(self, ticket_id: int) -> tuple[str, str, int | None] | None:
        stmt = select(SlackTicket.channel_id, SlackTicket.ts, SlackTicket.covered_interaction_id).where(
            SlackTicket.ticket_id == ticket_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def save_card(self, ticket_id: int, channel: str, ts: str, covered: int | None) -> None:
        now = utcnow()
        values = {"channel_id": channel, "ts": ts, "covered_interaction_id": covered, "updated_at": now}
        stmt = self._insert(SlackTicket).values(ticket_id=ticket_id, created_at=now, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[SlackTicket.ticket_id], set_=values)
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def ticket_for_thread(self, channel: str, ts: str) -> int | None:
        stmt = (
            select(Ticket.number)
            .join(SlackTicket, SlackTicket.ticket_id == Ticket.id)
            .where(SlackTicket.channel_id == channel, SlackTicket.ts == ts)
        )
        async with self._engine.connect() as conn:
            number = (await conn.execute(stmt)).scalar()
        return None if number is None else int(number)

    # -- card buttons and menus -----------------------------------------------------------------

    async def card_action(
        self,
        number: int,
        action: str,
        *,
        key: str,
        actor: str,
        agent: str | None = None,
        priority: str | None = None,
        queue: str | None = None,
    ) -> bool:
        """A card button or menu choice and its idempotency key, in one transaction.

        ``claim`` assigns ``agent``; ``resolve`` solves (the customer is asked for a rating);
        ``priority`` sets ``priority``; ``escalate`` sets ``priority`` and/or moves to ``queue``,
        then assigns round-robin there if nobody has the ticket (no one free: it waits).
        Returns False (and writes nothing) when ``key`` was already recorded.

        Raises:
            TicketError: the action cannot be done; nothing is written, the key neither.
        """
        config = self._config()

        async def change(conn: AsyncConnection, ticket: TicketRow, now: datetime) -> None:
            if action == "claim":
                if agent is None:
                    raise InvalidValue("claiming a ticket needs the agent who claims it")
                await lifecycle.set_assignee(conn, ticket, agent, actor, now)
            elif action == "resolve":
                await lifecycle.set_status(conn, config, ticket, "solved", actor, now)
            elif action in ("priority", "escalate"):
                if priority is not None and await lifecycle.set_priority(conn, ticket, priority, actor, now):
                    await sla.on_priority_change(conn, config, [ticket], now)
                if action == "escalate" and queue is not None:
                    await lifecycle.set_queue(conn, ticket, queue, actor, now)
                    if ticket["assignee"] is None:
                        with contextlib.suppress(TicketError):  # raised before it writes anything
                            await assignment.assign_round_robin(conn, ticket, actor, now)
            else:
                raise InvalidValue(f"unknown card action {action!r}")

        return await self._once(number, key, change)

    async def edit(self, number: int, change: TicketChange, *, key: str, actor: str) -> bool:
        """A field change from Slack (status, reopen, priority, tags, queue, assignee; card menus
        and ``/ticket`` subcommands) and its idempotency key, in one transaction: the steps of
        ``TicketDesk.update``. Returns False (and writes nothing) when ``key`` was already recorded.

        Raises:
            TicketError: the change cannot be made; nothing is written, the key neither.
        """
        config = self._config()
        return await self._once(number, key, lambda conn, t, now: apply_change(
            conn, config, t, change, actor, now))  # fmt: skip

    async def _claim(self, conn: AsyncConnection, key: str, interaction_id: int | None = None) -> bool:
        stmt = (
            self._insert(InboundDedup)
            .values(channel=DEDUP_CHANNEL, key=key[:300], interaction_id=interaction_id, created_at=utcnow())
            .on_conflict_do_nothing()
        )
        return bool((await conn.execute(stmt)).rowcount)

    # -- agent replies and notes from Slack ----------------------------------------------------------

    async def reply(
        self,
        number: int,
        text: str,
        *,
        agent: str,
        sender_name: str,
        key: str,
        attachments: tuple[dict[str, Any], ...] = (),
        macro: str | None = None,
        then: TicketChange | None = None,
    ) -> bool:
        """The steps of ``TicketDesk.reply`` plus the idempotency key, in one transaction.

        ``attachments``: files the agent posted with it (already stored), sent to the customer.
        ``macro``: the macro the text comes from (named on the ``reply`` event, which is then
        mirrored into the thread: the agent typed the macro's name, not its text); ``then``: the
        macro's actions, applied after the reply in the same transaction.
        Returns False (and writes nothing) when ``key`` was already recorded.
        """
        if not text.strip() and not attachments:
            raise InvalidValue("a reply needs some text")
        config = self._config()

        async def change(conn: AsyncConnection, ticket: TicketRow, now: datetime) -> None:
            if ticket["status"] == "closed":
                raise InvalidTransition(f"T-{ticket['number']} is closed; reply on its follow-up ticket")
            if ticket["conversation_id"] is None:
                raise InvalidValue(f"T-{ticket['number']} has no conversation to reply on")
            interaction_id = await outbound.send(
                conn, conversation_id=ticket["conversation_id"], text=text, now=now, ticket_id=ticket["id"],
                sender_role="agent", sender_name=sender_name, attachments=attachments,
            )  # fmt: skip
            await conn.execute(
                update(InboundDedup)
                .where(InboundDedup.channel == DEDUP_CHANNEL, InboundDedup.key == key[:300])
                .values(interaction_id=interaction_id)
            )
            data: dict[str, Any] = {"text": text, "source": "slack", "interaction_id": interaction_id}
            if attachments:
                data["files"] = [a["filename"] for a in attachments]
            if macro is not None:
                data.update(source="slack-macro", macro=macro)
            await record(conn, ticket["id"], f"agent:{agent}", "reply", data, now)
            await sla.on_agent_reply(conn, config, ticket, now)
            if ticket["status"] == "new":
                await lifecycle.set_status(conn, config, ticket, "open", f"agent:{agent}", now)
            if then is not None:
                await apply_change(conn, config, ticket, then, f"agent:{agent}", now)

        return await self._once(number, key, change)

    async def note(self, number: int, text: str, *, actor: str, key: str) -> bool:
        if not text.strip():
            raise InvalidValue("a note needs some text")

        async def change(conn: AsyncConnection, ticket: TicketRow, now: datetime) -> None:
            await record(conn, ticket["id"], actor, "note", {"text": text, "source": "slack"}, now)

        return await self._once(number, key, change)

    async def _once(
        self, number: int, key: str, change: Callable[[AsyncConnection, TicketRow, datetime], Any]
    ) -> bool:
        now = utcnow()
        async with self._engine.begin() as conn:
            if not await self._claim(conn, key):
                return False
            ticket = await load(conn, number)
            if ticket["intake_at"] is None:  # apply the SLA policy first, as TicketDesk does
                await sla.intake(conn, self._config(), now, ids=[ticket["id"]])
                ticket = await load(conn, number)
            await change(conn, ticket, now)
        self._wake()
        return True
