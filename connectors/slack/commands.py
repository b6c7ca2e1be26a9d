"""``/ticket list|show T-1042|assign T-1042 @x|solve T-1042|search text`` and the App Home tab.

Answers are text for an ephemeral reply; only configured agents get anything but "not allowed".
"""

from __future__ import annotations

from typing import Any

from connectors.slack.backend import AgentActions, TicketBrowser
from connectors.slack.blocks import escape, home_view, ticket_list_text
from connectors.slack.identity import NOT_ALLOWED, AgentDirectory
from connectors.slack.translate import SlashCommand, parse_command
from connectors.slack.views import ActionRefused, AgentRef

__all__ = ["USAGE", "CommandRunner"]

USAGE = (
    "Usage: `/ticket list` · `/ticket show T-1042` · `/ticket assign T-1042 @someone` · "
    "`/ticket solve T-1042` · `/ticket search words`"
)
_LIMIT = 15


class CommandRunner:
    def __init__(self, *, tickets: TicketBrowser, actions: AgentActions, directory: AgentDirectory) -> None:
        self._tickets = tickets
        self._actions = actions
        self._directory = directory

    async def answer(self, user: str, text: str) -> str:
        verdict = await self._directory.resolve(user)
        if verdict.agent is None:
            return verdict.reason
        command = parse_command(text)
        if command.error is not None:
            return f"{command.error}. {USAGE}"
        try:
            return await self._run(command, verdict.agent)
        except ActionRefused as exc:
            return str(exc)

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
