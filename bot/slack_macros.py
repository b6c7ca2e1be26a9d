"""Macros from Slack: ``macro: NAME`` in a ticket's thread and ``/ticket macro T-1042 NAME``.

The macro comes from the live rulebook (``macros.yml``, :mod:`rules.macros`; a reload swaps it
with the rest), its variables from the ticket as stored (:mod:`ticketing.macro_facts`). The
reply and the actions go through :meth:`ticketing.slack_threads.SlackThreads.reply`, the path
of an agent's reply in the thread: one transaction with the idempotency key (Slack's
``event_id``, or the slash command's ``trigger_id``), the ``reply`` event naming the macro, then
the actions as the agent. A variable the ticket has no value for (and no ``|fallback``) refuses
the macro before anything is written: the agent is told which, the customer gets nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from connectors.slack.views import ActionRefused, AgentRef
from rules.macros import Macro, MacroContext, Macros, fill
from ticketing.agent_views import AgentViews
from ticketing.errors import TicketError
from ticketing.macro_facts import MacroFacts
from ticketing.slack_threads import SlackThreads
from ticketing.tickets import TicketChange

__all__ = ["SlackMacros"]


class SlackMacros:
    def __init__(
        self,
        *,
        threads: SlackThreads,
        views: AgentViews,
        macros: Callable[[], Macros],
        permit: Callable[[str], Awaitable[None]],
    ) -> None:
        self._threads = threads
        self._views = views
        self._macros = macros
        self._permit = permit

    def listing(self) -> list[tuple[str, str]]:
        return [(m.name, m.title) for m in self._macros()]

    async def apply(self, number: int, name: str, *, agent: AgentRef, key: str) -> bool:
        """Raises ActionRefused (nothing written) when the macro cannot be sent as it is."""
        await self._permit(agent.handle)
        macro = self._find(name)
        try:
            facts = await self._views.macro_facts(number)
        except TicketError as exc:
            raise ActionRefused(str(exc)) from None
        filled = fill(macro, _context(facts, agent))
        if not filled.ok:
            missing = ", ".join(f"{{{n}}}" for n in filled.missing)
            raise ActionRefused(
                f"Macro `{macro.name}` was not sent: T-{number} has no value for {missing}. "
                "Reply by hand (or ask the customer first), or give the variable a fallback in "
                "macros.yml, e.g. `{order_number|your order}`."
            )
        try:
            return await self._threads.reply(
                number, filled.text, agent=agent.handle, sender_name=agent.name, key=key,
                macro=macro.name, then=_change(macro),
            )  # fmt: skip
        except TicketError as exc:  # nothing written, the key neither: a retry is refused again
            raise ActionRefused(str(exc)) from None

    def _find(self, name: str) -> Macro:
        if not name.strip():
            raise ActionRefused("Write the macro's name after `macro:`; `/ticket macros` lists them.")
        macros = self._macros()
        macro = macros.get(name)
        if macro is not None:
            return macro
        hint = macros.suggest(name)
        if not len(macros):
            raise ActionRefused("There are no macros yet: an admin adds them to the rulebook's macros.yml.")
        raise ActionRefused(
            f"There is no macro `{name}`" + (f" (did you mean `{hint}`?)" if hint else "")
            + "; `/ticket macros` lists them."
        )  # fmt: skip


def _context(facts: MacroFacts, agent: AgentRef) -> MacroContext:
    return MacroContext(
        ticket=f"T-{facts.number}", subject=facts.subject, status=facts.status, priority=facts.priority,
        queue=facts.queue, channel=facts.channel, customer_name=facts.customer_name,
        customer_email=facts.customer_email, attributes=facts.attributes, slots=facts.slots,
        entities=facts.entities, agent_name=agent.name,
    )  # fmt: skip


def _change(macro: Macro) -> TicketChange | None:
    if not macro.actions():
        return None
    return TicketChange(status=macro.status, priority=macro.priority, add_tags=macro.tags)
