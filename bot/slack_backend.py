"""The Slack connector's backend: ticket cards and the feed from ticketing's read models,
agents' actions through the ticket desk (the same operations as ``frontdesk tickets``) and
:class:`~ticketing.slack_threads.SlackThreads` (idempotency keys, card positions).

Every change an agent makes from Slack (reply, note, button, ``/ticket assign|solve``) is
checked against the account the agent is linked to (``frontdesk accounts link-slack``, or the
account named like the agent's handle or with it as email): it must be enabled and hold
``tickets:write`` (:mod:`core.roles`), else the agent sees why, ephemerally, and nothing is written.

A thin adapter: ticketing reads and writes, :mod:`connectors.slack.feed` merges the feed, this
module turns ticketing's rows into the connector's values and its errors into ``ActionRefused``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from bot.attachment_files import SLACK_AREA, AttachmentFiles
from bot.slack_glance import customer_facts, ticket_change
from bot.slack_macros import SlackMacros
from connectors.slack.feed import build_feed
from connectors.slack.glance import CustomerFacts
from connectors.slack.views import (
    ActionRefused,
    AgentRef,
    CardRef,
    Feed,
    MessageLine,
    SlackDeletion,
    TicketCard,
    TicketEdit,
    TicketLine,
)
from core.contracts import Attachment
from rules.macros import Macros
from ticketing.access_audit import AccessAudit
from ticketing.accounts import Accounts, check_allowed
from ticketing.agent_views import AgentViews
from ticketing.audit_feed import AuditFeed
from ticketing.channel_state import ChannelState
from ticketing.customers import Customers
from ticketing.errors import NotPermitted, TicketError
from ticketing.lifecycle import UNSOLVED
from ticketing.slack_messages import SlackMessages
from ticketing.slack_threads import SlackThreads
from ticketing.ticket_rows import TicketRow
from ticketing.tickets import TicketDesk, TicketFilter

__all__ = ["SlackBackendImpl"]

T = TypeVar("T")

CHANNEL = "slack"
SLACK_USER = "slack:"  # a find_agent candidate naming the Slack user (connectors/slack/identity.py)


class SlackBackendImpl:
    def __init__(
        self,
        *,
        desk: TicketDesk,
        threads: SlackThreads,
        messages: SlackMessages,
        views: AgentViews,
        feed: AuditFeed,
        state: ChannelState,
        accounts: Accounts,
        customers: Customers,
        files: AttachmentFiles,
        macros: Callable[[], Macros] = Macros,
        access: AccessAudit | None = None,
    ) -> None:
        self._access = access  # customer views are recorded as ``customer.read``, as in the API
        self._accounts = accounts
        self._macros = SlackMacros(threads=threads, views=views, macros=macros, permit=self._permit)
        self._files = files
        self._customers = customers
        self._desk = desk
        self._threads = threads
        self._messages = messages
        self._views = views
        self._feed = feed
        self._state = state

    # -- projection -----------------------------------------------------------------------------

    async def load_cursor(self) -> tuple[int, int] | None:
        value = await self._state.get(CHANNEL, "projection")
        return None if value is None else (int(value["event_id"]), int(value["interaction_id"]))

    async def save_cursor(self, event_id: int, interaction_id: int) -> None:
        await self._state.put(CHANNEL, "projection", {"event_id": event_id, "interaction_id": interaction_id})

    async def head(self) -> tuple[int, int]:
        return await self._feed.head()

    async def feed(self, *, after_event: int, after_interaction: int, limit: int) -> Feed:
        after = (after_event, after_interaction)
        rows = await self._feed.read(after_event=after[0], after_interaction=after[1], limit=limit)
        feed = build_feed(
            rows.events, rows.scanned, rows.interactions, after=after, ends=rows.ends, limit=limit
        )
        return replace(feed, waiting=rows.waiting)

    async def card(self, ticket_id: int, *, last_messages: int, glance: bool = False) -> TicketCard:
        facts = await self._views.card(ticket_id, last_messages=last_messages)
        t, analysis, recent = facts.ticket, facts.first_analysis, facts.recent
        sentiment = analysis.get("sentiment")
        lines = tuple(
            MessageLine(r.sender_role, r.sender_name, r.text, r.created_at) for r in reversed(recent)
        )
        name = facts.customer_name or facts.identity_name or facts.customer_email
        claim = facts.customer_claimed_email
        if claim and claim != facts.customer_email:
            # Agents must not take a typed address for the customer's: it is what they confirm.
            claim = f"{claim} (unverified)"
            name = f"{name} · {claim}" if name else claim
        name = name or f"customer {t['customer_id']}"
        customer: CustomerFacts | None = None
        queues: tuple[str, ...] = ()
        if glance:
            seen = await self._views.glance(ticket_id)
            customer = customer_facts(seen, number=t["number"], name=name)
            queues = tuple(await self._views.queue_names())
        return TicketCard(
            id=ticket_id, number=t["number"], subject=t["subject"], status=t["status"],
            priority=t["priority"], queue=t["queue"], assignee=t["assignee"], customer=name,
            channel=t["channel"], intent=analysis.get("intent"),
            sentiment=sentiment.get("label") if isinstance(sentiment, dict) else None,
            sla_due=facts.target_due, tags=tuple(t["tags"] or ()),
            last_messages=lines[-last_messages:] if last_messages else (),
            last_interaction_id=recent[0].id if recent else None, customer_facts=customer, queues=queues,
        )  # fmt: skip

    async def card_ref(self, ticket_id: int) -> CardRef | None:
        found = await self._threads.card(ticket_id)
        return None if found is None else CardRef(*found)

    async def save_card_ref(self, ticket_id: int, ref: CardRef) -> None:
        await self._threads.save_card(ticket_id, ref.channel, ref.ts, ref.covered_interaction_id)

    async def ticket_for_thread(self, channel: str, ts: str) -> int | None:
        return await self._threads.ticket_for_thread(channel, ts)

    def single_consumer(self, name: str) -> AbstractAsyncContextManager[None]:
        return self._state.single_consumer(name)

    # -- where customers' messages are in Slack, for erasing them (ticketing/slack_messages.py) --

    async def posted(self, ticket_id: int, channel: str, ts: str, *, kind: str, shows: datetime) -> None:
        await self._messages.posted(ticket_id, channel, ts, kind=kind, shows=shows)

    async def deletions_due(self, *, limit: int) -> list[SlackDeletion]:
        return [
            SlackDeletion(d.id, d.channel, d.ts, d.kind, d.attempts)
            for d in await self._messages.due(limit=limit)
        ]

    async def deletion_done(self, deletion_id: int) -> None:
        await self._messages.deleted(deletion_id)

    async def deletion_later(self, deletion_id: int, error: str) -> None:
        await self._messages.retry_later(deletion_id, error)

    async def deletion_refused(self, deletion_id: int, error: str) -> None:
        await self._messages.refused(deletion_id, error)

    # -- customers writing in Slack --------------------------------------------------------------

    async def claim_email(
        self, channel: str, external_user_id: str, external_thread_id: str, *, name: str | None, email: str
    ) -> None:
        ref = await self._customers.resolve(channel, external_user_id, external_thread_id, display_name=name)
        await self._customers.identify(ref, name=None, email=email)  # a claim: links nobody

    # -- files both ways (connectors/slack/files.py) --------------------------------------------

    async def store_file(self, *, filename: str, content_type: str, data: bytes) -> str:
        return await self._files.put(SLACK_AREA, filename, data)

    async def read_file(self, storage_key: str) -> bytes | None:
        return await self._files.read(storage_key)

    # -- agents ---------------------------------------------------------------------------------

    async def find_agent(self, candidates: tuple[str, ...]) -> AgentRef | None:
        if not candidates:
            return None
        if candidates[0].startswith(SLACK_USER):  # an account linked to that Slack user wins
            linked = await self._accounts.agent_for_slack_user(candidates[0].removeprefix(SLACK_USER))
            candidates = (linked, *candidates[1:]) if linked else candidates[1:]
        if not candidates:
            return None
        names = await self._views.agent_names(candidates)
        for handle in candidates:
            if handle in names:
                return AgentRef(handle, names[handle])
        return None

    async def _permit(self, handle: str, permission: str = "tickets:write") -> None:
        account = await self._accounts.for_agent(handle)
        if account is None:
            raise ActionRefused(
                f"no Frontdesk account is linked to agent {handle}; ask an admin to run "
                "frontdesk accounts link-slack ACCOUNT YOUR_SLACK_USER_ID"
            )
        try:
            check_allowed(account, permission)
        except NotPermitted as exc:
            raise ActionRefused(str(exc)) from None

    # -- actions --------------------------------------------------------------------------------
    async def reply(
        self, number: int, text: str, *, agent: AgentRef, key: str, attachments: tuple[Attachment, ...] = ()
    ) -> bool:
        await self._permit(agent.handle)
        files = tuple(a.stored() for a in attachments)
        return await _refusing(
            self._threads.reply(
                number, text, agent=agent.handle, sender_name=agent.name, key=key, attachments=files
            )
        )

    async def note(self, number: int, text: str, *, agent: AgentRef, key: str) -> bool:
        await self._permit(agent.handle)
        return await _refusing(self._threads.note(number, text, actor=f"agent:{agent.handle}", key=key))

    async def macro_list(self) -> list[tuple[str, str]]:
        return self._macros.listing()

    async def apply_macro(self, number: int, name: str, *, agent: AgentRef, key: str) -> bool:
        return await self._macros.apply(number, name, agent=agent, key=key)  # bot/slack_macros.py

    async def card_action(
        self,
        number: int,
        action: str,
        *,
        agent: AgentRef,
        key: str,
        priority: str | None = None,
        queue: str | None = None,
    ) -> bool:
        await self._permit(agent.handle)
        actor = f"agent:{agent.handle}"
        change = self._threads.card_action(
            number, action, key=key, actor=actor, agent=agent.handle, priority=priority, queue=queue
        )
        return await _refusing(change)

    async def assign(self, number: int, handle: str | None, *, actor: str) -> None:
        await self._permit(actor.removeprefix("agent:"))
        await _refusing(self._desk.assign(number, handle, actor=actor))

    async def set_status(self, number: int, status: str, *, actor: str) -> None:
        await self._permit(actor.removeprefix("agent:"))
        await _refusing(self._desk.set_status(number, status, actor=actor))

    async def edit(self, number: int, edit: TicketEdit, *, agent: AgentRef, key: str) -> bool:
        await self._permit(agent.handle)
        change = ticket_change(edit)
        return await _refusing(self._threads.edit(number, change, key=key, actor=f"agent:{agent.handle}"))

    async def customer(self, number: int, *, agent: AgentRef) -> CustomerFacts:
        await self._permit(agent.handle, "customers:read")
        ticket = await _refusing(self._desk.get(number))
        card = await self.card(ticket["id"], last_messages=0, glance=True)
        assert card.customer_facts is not None  # asked for with glance=True
        if self._access is not None:
            account = await self._accounts.for_agent(agent.handle)
            await self._access.record(
                actor=f"agent:{agent.handle}", account_id=account.id if account else None,
                action="customer.read", customer_id=ticket["customer_id"], ticket_id=ticket["id"],
                source="slack", detail={"ticket": card.reference},
            )  # fmt: skip
        return card.customer_facts

    async def show(self, number: int) -> tuple[TicketCard, list[str]]:
        ticket = await _refusing(self._desk.get(number))
        events = await self._desk.events(number)
        card = await self.card(ticket["id"], last_messages=0)
        trail = [
            f"{e['created_at']:%Y-%m-%d %H:%M} {e['actor']}: {e['kind']} {_short(e['data'])}"
            for e in events[-8:]
        ]
        return card, trail

    async def open_tickets(self, handle: str | None, *, limit: int) -> list[TicketLine]:
        if handle is None:
            rows = await self._views.unassigned(limit=limit)
        else:
            rows = await self._desk.find(TicketFilter(status=UNSOLVED, assignee=handle, limit=limit))
        return await self._lines(rows)

    async def search(self, text: str, *, limit: int) -> list[TicketLine]:
        return await self._lines(await self._views.search(text, limit=limit))

    async def _lines(self, rows: list[TicketRow]) -> list[TicketLine]:
        due = await self._views.target_due([r["id"] for r in rows])
        return [
            TicketLine(r["number"], r["subject"], r["status"], r["priority"], r["assignee"], due.get(r["id"]))
            for r in rows
        ]


async def _refusing(operation: Awaitable[T]) -> T:
    try:
        return await operation
    except TicketError as exc:
        raise ActionRefused(str(exc)) from None


def _short(data: Any) -> str:
    text = ", ".join(f"{k}={v}" for k, v in (data or {}).items())
    return text if len(text) <= 120 else text[:119] + "…"
