"""The card's overflow menu (status choices, reopen), its queue and assignee menus, and its
**Customer** button (a modal through ``views.open``).

A change is one transaction with its idempotency key (``user + action_ts + action_id``, as for
the buttons), checked against the agent's account role by the backend; a refusal (a viewer, a
transition the lifecycle forbids, an unknown queue) is shown to the agent ephemerally and
writes nothing, so Slack's retry is refused again or, once the cause is fixed, done once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from connectors.slack.api import SlackApi, SlackRefused, SlackUnavailable
from connectors.slack.backend import AgentActions, TicketBrowser
from connectors.slack.customer_blocks import customer_modal, customer_text
from connectors.slack.identity import AgentDirectory
from connectors.slack.translate import CardAction
from connectors.slack.views import ActionRefused, AgentRef, TicketEdit

__all__ = ["MENU_ACTIONS", "CardMenus"]

_LOGGER = logging.getLogger(__name__)
MENU_ACTIONS = ("status", "queue", "assignee", "customer")

Ephemeral = Callable[[str | None, str, str], Awaitable[None]]  # (channel, user, text)


class CardMenus:
    def __init__(
        self,
        *,
        api: SlackApi,
        actions: AgentActions,
        tickets: TicketBrowser,
        directory: AgentDirectory,
        ephemeral: Ephemeral,
        console_url: str | None = None,
    ) -> None:
        self._api = api
        self._actions = actions
        self._tickets = tickets
        self._directory = directory
        self._ephemeral = ephemeral
        self._console_url = console_url

    async def handle(self, action: CardAction, agent: AgentRef) -> bool:
        """Do ``action`` (one of :data:`MENU_ACTIONS`); True when the ticket changed."""
        try:
            if action.action == "customer":
                await self._customer(action, agent)
                return False
            edit = await self._edit(action)
            if edit is None:
                return False
            return await self._actions.edit(action.number, edit, agent=agent, key=action.key)
        except ActionRefused as exc:  # nothing written, the key neither: a retry is refused again
            await self._ephemeral(action.channel, action.user, str(exc))
            return False

    async def _edit(self, action: CardAction) -> TicketEdit | None:
        if action.value is None:
            return None
        if action.action == "status":
            return TicketEdit(status=action.value)
        if action.action == "queue":
            return TicketEdit(queue=action.value)
        target = await self._directory.resolve(action.value)  # the Slack user picked in the menu
        if target.agent is None:
            raise ActionRefused(
                f"<@{action.value}> is not a Frontdesk agent, so T-{action.number} stays as it is."
            )
        return TicketEdit(set_assignee=True, assignee=target.agent.handle)

    async def _customer(self, action: CardAction, agent: AgentRef) -> None:
        facts = await self._tickets.customer(action.number, agent=agent)
        if action.trigger_id:
            view = customer_modal(facts, console_url=self._console_url)
            try:
                await self._api.call("views.open", retry=False, trigger_id=action.trigger_id, view=view)
                return
            except (SlackRefused, SlackUnavailable) as exc:  # e.g. expired_trigger_id (3 s)
                _LOGGER.info("slack: customer view not opened (%s); answering ephemerally", exc)
        await self._ephemeral(
            action.channel, action.user, customer_text(facts, console_url=self._console_url)
        )
