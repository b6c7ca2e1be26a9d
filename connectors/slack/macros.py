"""``/ticket macros`` and ``/ticket macro T-1042 NAME``: agents' canned replies (``macros.yml``).

``macro: NAME`` written in a ticket's thread does the same as ``/ticket macro`` for that ticket
(:meth:`~connectors.slack.connector.SlackConnector._on_message`). Applying a macro sends its
reply to the customer and applies its actions in one transaction, with the request's
idempotency key (:class:`~connectors.slack.backend.MacroDesk`); the answer is for the agent only.
"""

from __future__ import annotations

from collections.abc import Sequence

from connectors.slack.backend import MacroDesk
from connectors.slack.blocks import escape
from connectors.slack.translate import SlashCommand
from connectors.slack.views import AgentRef

__all__ = ["MACRO_VERBS", "macros_text", "run_macro_command"]

MACRO_VERBS = ("macro", "macros")
NO_MACROS = "There are no macros yet: an admin adds them to the rulebook's macros.yml."
NEEDS_NAME = (
    "macro needs a macro name, e.g. `/ticket macro T-1042 refund-status` (`/ticket macros` lists them)."
)


def macros_text(macros: Sequence[tuple[str, str]]) -> str:
    if not macros:
        return NO_MACROS
    lines = [f"• `{escape(name)}` {escape(title)}" for name, title in macros]
    return (
        "*Macros* (apply one with `/ticket macro T-1042 NAME`, or write `macro: NAME` in the "
        "ticket's thread)\n" + "\n".join(lines)
    )


async def run_macro_command(command: SlashCommand, agent: AgentRef, desk: MacroDesk, *, key: str) -> str:
    """The answer to ``macros`` or ``macro T-1042 NAME``; raises ActionRefused when not applied."""
    if command.verb == "macros":
        return macros_text(await desk.macro_list())
    if not command.args:
        return NEEDS_NAME
    number = int(str(command.ticket).upper().removeprefix("T-").removeprefix("T"))
    name = command.args[0]
    if not await desk.apply_macro(number, name, agent=agent, key=key):
        return f"Macro `{escape(name)}` was already applied to T-{number} (a retry): nothing sent again."
    return f"Macro `{escape(name)}` sent to the customer of T-{number}, and its actions applied."
