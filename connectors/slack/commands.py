"""``/ticket list|show T-1042|assign T-1042 @x|solve T-1042|search text`` and the App Home tab;
``status|reopen|priority|tag|untag|queue T-1042 …`` change one field, ``customer T-1042`` shows
the customer at a glance.

Answers are text for an ephemeral reply; only configured agents get anything but "not allowed".
"""

from __future__ import annotations

import uuid
from typing import Any

from connectors.slack.backend import AgentActions, MacroDesk, TicketBrowser
from connectors.slack.blocks import escape, home_view, ticket_list_text
from connectors.slack.customer_blocks import customer_text
from connectors.slack.edits import EditError, command_edit, done_text
from connectors.slack.identity import NOT_ALLOWED, AgentDirectory
from connectors.slack.macros import MACRO_VERBS, run_macro_command
from connectors.slack.translate import EDIT_VERBS, SlashCommand, parse_command
from connectors.slack.views import ActionRefused, AgentRef

__all__ = ["USAGE", "CommandRunner"]

USAGE = (
    "Usage: `/ticket list` · `/ticket show T-1042` · `/ticket assign T-1042 @someone` · "
    "`/ticket solve T-1042` · `/ticket search words` · `/ticket macros` · `/ticket macro T-1042 NAME` · "
    "`/ticket status T-1042 pending` · `/ticket reopen T-1042` · `/ticket priority T-1042 high` · "
    "`/ticket tag T-1042 vip refund` · `/ticket untag T-1042 refund` · `/ticket queue T-1042 tier2` · "
    "`/ticket customer T-1042`"
)
_LIMIT = 15


class CommandRunner:
    def __init__(
        self,
        *,
        tickets: TicketBrowser,
        actions: AgentActions,
        directory: AgentDirectory,
        macros: MacroDesk | None = None,
        console_url: str | None = None,
    ) -> None:
        self._console_url = console_url
        self._macros = macros
        self._tickets = tickets
        self._actions = actions
        self._directory = directory

    async def answer(self, user: str, text: str, *, key: str = "") -> str:
        """``key``: the request's idempotency key (Slack's ``trigger_id``), for changes that send."""
        verdict = await self._directory.resolve(user)
        if verdict.agent is None:
            return verdict.reason
        command = parse_command(text)
        if command.error is not None:
            return f"{command.error}. {USAGE}"
        try:
            if command.verb in MACRO_VERBS and self._macros is not None:  # connectors/slack/macros.py
                key = key or f"command:{user}:{uuid.uuid4()}"
                return await run_macro_command(command, verdict.agent, self._macros, key=key)
            if command.verb in EDIT_VERBS or command.verb == "customer":
                return await self._ticket_command(
                    command, verdict.agent, key=key or f"command:{user}:{uuid.uuid4()}"
                )
            return await self._run(command, verdict.agent)
        except ActionRefused as exc:
            return str(exc)

    async def _ticket_command(self, command: SlashCommand, agent: AgentRef, *, key: str) -> str:
        """``customer T-1042`` and the subcommands that change one field (connectors/slack/edits.py)."""
        number = int(str(command.ticket).removeprefix("T-").removeprefix("T"))
        if command.verb == "customer":
            facts = await self._tickets.customer(number, agent=agent)
            return customer_text(facts, console_url=self._console_url)
        try:
            edit = command_edit(command.verb, command.args)
        except EditError as exc:
            return f"{exc}. {USAGE}"
        done = await self._actions.edit(number, edit, agent=agent, key=key)
        return done_text(f"T-{number}", edit) if done else f"T-{number}: already done."

    async def _run(self, command: SlashCommand, agent: AgentRef) -> str:
        actor = f"agent:{agent.handle}"
        if command.verb == "list":
            mine = await self._tickets.open_tickets(agent.handle, limit=_LIMIT)
            unassigned = await self._tickets.open_tickets(None, limit=_LIMIT)
            return (
                ticket_list_text("Your open tickets", mine)
                + "\n"
                + ticket_list_text("Unassigned", unassigned)
            )
        if command.verb == "search":
            found = await self._tickets.search(command.query, limit=_LIMIT)
            return ticket_list_text(f"Tickets matching “{escape(command.query)}”", found)
        number = int(str(command.ticket).removeprefix("T-").removeprefix("T"))
        if command.verb == "show":
            card, trail = await self._tickets.show(number)
            head = (
                f"*{card.reference}* {escape(card.subject)}\n"
                f"{card.status} · {card.priority} · queue {card.queue}"
                f" · {escape(card.assignee or 'unassigned')} · {escape(card.customer)} via {card.channel}"
            )
            return head + ("\n" + "\n".join(trail) if trail else "")
        if command.verb == "solve":
            await self._actions.set_status(number, "solved", actor=actor)
            return f"T-{number} is solved; the customer is asked for a rating."
        if command.verb == "assign":
            handle = command.target_handle
            if command.target_user is not None:
                target = await self._directory.resolve(command.target_user)
                if target.agent is None:
                    return f"<@{command.target_user}> is not a Frontdesk agent. {NOT_ALLOWED.split('.')[0]}."
                handle = target.agent.handle
            await self._actions.assign(number, handle, actor=actor)
            return f"T-{number} is assigned to {escape(str(handle))}."
        return USAGE

    async def home(self, user: str) -> dict[str, Any]:
        verdict = await self._directory.resolve(user)
        if verdict.agent is None:
            return {
                "type": "home",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": verdict.reason}}],
            }
        mine = await self._tickets.open_tickets(verdict.agent.handle, limit=_LIMIT)
        unassigned = await self._tickets.open_tickets(None, limit=_LIMIT)
        return home_view(verdict.agent.name, mine, unassigned)
