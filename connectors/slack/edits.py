"""Ticket field changes from Slack: ``/ticket status|reopen|priority|tag|untag|queue`` and the
card's overflow and menus, as :class:`~connectors.slack.views.TicketEdit` values, and what the
agent is told once one is done. Pure functions; the change itself is one transaction in the
backend (``TicketDesk``'s steps plus the idempotency key), checked against the agent's role.
"""

from __future__ import annotations

from connectors.slack.blocks import PRIORITIES, STATUS_CHOICES
from connectors.slack.mrkdwn import escape
from connectors.slack.views import TicketEdit
from core.errors import FrontdeskError

__all__ = ["EditError", "command_edit", "done_text"]

_STATUS_WORDS = {"hold": "on-hold", "onhold": "on-hold", "on_hold": "on-hold", "solve": "solved",
                 "close": "closed", "reopen": "open", "open": "open"}  # fmt: skip


class EditError(FrontdeskError):
    """The subcommand's arguments are not a change (unknown status or priority); says which."""


def _status(words: tuple[str, ...]) -> str:
    word = "-".join(w.lower() for w in words)  # "on hold" → "on-hold"
    status = _STATUS_WORDS.get(word, word)
    if status not in STATUS_CHOICES:
        raise EditError(f"unknown status '{escape(' '.join(words))}'; use one of {', '.join(STATUS_CHOICES)}")
    return status


def command_edit(verb: str, args: tuple[str, ...]) -> TicketEdit:
    """The change a ``/ticket`` subcommand asks for (its ticket already parsed off).

    Raises:
        EditError: the arguments name no valid status or priority.
    """
    if verb == "reopen":
        return TicketEdit(status="open")
    if verb == "status":
        return TicketEdit(status=_status(args))
    if verb == "priority":
        priority = args[0].lower()
        if priority not in PRIORITIES or len(args) > 1:
            raise EditError(
                f"unknown priority '{escape(' '.join(args))}'; use one of {', '.join(PRIORITIES)}"
            )
        return TicketEdit(priority=priority)
    if verb == "tag":
        return TicketEdit(add_tags=args)
    if verb == "untag":
        return TicketEdit(remove_tags=args)
    if verb == "queue":
        return TicketEdit(queue=args[0])
    raise EditError(f"{escape(verb)} does not change a ticket")


def done_text(reference: str, edit: TicketEdit, *, assignee_name: str | None = None) -> str:
    """What the agent is told once ``edit`` is done (ephemerally; the card shows it to everyone)."""
    said: list[str] = []
    if edit.queue is not None:
        said.append(f"moved to queue {escape(edit.queue)}")
    if edit.set_assignee:
        said.append(
            f"assigned to {escape(assignee_name or edit.assignee or '')}" if edit.assignee else "unassigned"
        )
    if edit.priority is not None:
        said.append(f"priority {edit.priority}")
    if edit.add_tags:
        said.append("tagged " + " ".join(f"`{escape(t)}`" for t in edit.add_tags))
    if edit.remove_tags:
        said.append("untagged " + " ".join(f"`{escape(t)}`" for t in edit.remove_tags))
    if edit.status is not None:
        said.append(f"status {edit.status}")
    return f"{reference}: {', '.join(said) or 'nothing to change'}."
