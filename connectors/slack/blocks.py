"""Ticket cards, thread lines and the App Home view as Block Kit JSON: pure functions.

Everything a customer wrote is put into ``mrkdwn`` text escaped (``&``, ``<``, ``>``), so a
customer cannot mention ``@channel`` or forge links in the agents' Slack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.slack.views import FeedItem, TicketCard, TicketLine

__all__ = [
    "ACTION_CLAIM",
    "ACTION_ESCALATE",
    "ACTION_PRIORITY",
    "ACTION_RESOLVE",
    "PRIORITIES",
    "actor_name",
    "card_blocks",
    "card_text",
    "escape",
    "home_view",
    "thread_line",
    "ticket_list_text",
]

ACTION_CLAIM = "ticket_claim"
ACTION_RESOLVE = "ticket_resolve"
ACTION_ESCALATE = "ticket_escalate"
ACTION_PRIORITY = "ticket_priority"
PRIORITIES = ("low", "normal", "high", "urgent")
_PRIORITY_ICON = {"low": ":white_circle:", "normal": ":large_blue_circle:", "high": ":large_orange_circle:",
                  "urgent": ":red_circle:"}  # fmt: skip
_MAX_TEXT = 2900  # a section's text may have 3000 characters


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(at: datetime | None) -> str:
    if at is None:
        return "—"
    stamp = int(at.timestamp())
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{at.strftime('%Y-%m-%d %H:%M UTC')}>"


def _who(handle: str | None, users: Mapping[str, str]) -> str:
    if handle is None:
        return "unassigned"
    user = users.get(handle)
    return f"<@{user}>" if user else escape(handle)


def actor_name(actor: str | None) -> str:
    """``agent:alice`` → ``alice``; ``rule:vip`` → ``rule vip``; ``system`` → ``Frontdesk``."""
    if not actor or actor.startswith("system"):
        return "Frontdesk"
    kind, _, who = actor.partition(":")
    if kind in ("agent", "operator"):
        return who
    return f"{kind} {who}".strip()


def card_text(card: TicketCard) -> str:
    """The notification/fallback text of a card (Slack shows it where blocks cannot render)."""
    return f"{card.reference} [{card.status}, {card.priority}] {card.customer}: {card.subject}"


def card_blocks(card: TicketCard, *, users: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ticket card: who, what, how urgent, the latest messages, and what an agent can do."""
    icon = _PRIORITY_ICON.get(card.priority, "")
    fields = [
        f"*Customer*\n{escape(card.customer)}",
        f"*Channel*\n{escape(card.channel)}",
        f"*Status*\n{card.status}",
        f"*Priority*\n{icon} {card.priority}",
        f"*Intent*\n{escape(card.intent or '—')}",
        f"*Sentiment*\n{escape(card.sentiment or '—')}",
        f"*Assignee*\n{_who(card.assignee, users)}",
        f"*SLA due*\n{_when(card.sla_due)}",
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(f"{card.reference}: {card.subject}", 150)},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    if card.tags:
        tags = " ".join(f"`{escape(t)}`" for t in card.tags)
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"queue *{escape(card.queue)}* · {tags}"}],
            }
        )
    else:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"queue *{escape(card.queue)}*"}]}
        )
    if card.last_messages:
        lines = [f"*{escape(m.name or m.role)}*: {escape(_clip(m.text, 400))}" for m in card.last_messages]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines))}})
    if card.status != "closed":
        blocks.append(_actions(card))
    return blocks


def _actions(card: TicketCard) -> dict[str, Any]:
    value = str(card.number)
    elements: list[dict[str, Any]] = [
        {"type": "button", "action_id": ACTION_CLAIM, "value": value,
         "text": {"type": "plain_text", "text": "Claim"}},
        {"type": "button", "action_id": ACTION_RESOLVE, "value": value, "style": "primary",
         "text": {"type": "plain_text", "text": "Resolve"}},
        {"type": "button", "action_id": ACTION_ESCALATE, "value": value, "style": "danger",
         "text": {"type": "plain_text", "text": "Escalate"}},
        {
            "type": "static_select",
            "action_id": ACTION_PRIORITY,
            "placeholder": {"type": "plain_text", "text": "Priority"},
            "initial_option": _option(card.number, card.priority),
            "options": [_option(card.number, p) for p in PRIORITIES],
        },
    ]  # fmt: skip
    return {"type": "actions", "block_id": f"ticket-{card.number}", "elements": elements}


def _option(number: int, priority: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": priority}, "value": f"{number}:{priority}"}


def thread_line(item: FeedItem, *, users: Mapping[str, str], assignee: str | None) -> str | None:
    """What one trail entry says in the ticket's thread, or None for entries shown on the card only."""
    who = escape(actor_name(item.actor))
    data = item.data
    if item.source == "interaction":
        text = escape(_clip(item.text))
        if item.direction == "in":
            name, channel = escape(item.name or "Customer"), escape(item.channel or "?")
            return f":speech_balloon: *{name}* ({channel}): {text}"
        if item.role == "agent":
            return None  # mirrored from its `reply` event, which knows where it came from
        label = "Bot" if item.role == "bot" else "Frontdesk"
        return f":robot_face: *{label}* to the customer: {text}"
    if data.get("source") == "slack":
        return None  # written in this thread: never echo it back
    mention = _who(assignee, users) if assignee else "nobody is assigned"
    kind = item.kind
    if kind == "reply":
        return f":outbox_tray: *{who}* replied to the customer: {escape(_clip(str(data.get('text', ''))))}"
    if kind == "note":
        return f":memo: Note by *{who}*: {escape(_clip(str(data.get('text', ''))))}"
    if kind == "status":
        return f"Status {data.get('from')} → *{data.get('to')}* (by {who})"
    if kind == "assignee":
        target = data.get("to")
        return f"Assigned to {_who(target, users)} (by {who})" if target else f"Unassigned (by {who})"
    if kind == "priority":
        return f"Priority {data.get('from')} → *{data.get('to')}* (by {who})"
    if kind == "queue":
        return f"Moved to queue *{escape(str(data.get('to')))}* (by {who})"
    if kind == "sla_warning":
        return f":warning: SLA *{data.get('target')}* is due {_when(_parse(data.get('due_at')))}: {mention}"
    if kind == "sla_breach":
        return f":rotating_light: SLA *{data.get('target')}* breached: {mention}"
    if kind == "escalated":
        return f":arrow_double_up: Escalated by *{escape(str(data.get('rule')))}*: {mention}"
    if kind == "csat":
        return f":star: Customer rated {data.get('score')}/5"
    if kind == "closing":  # "thanks, all good now" after the solve (rules/closing.py)
        return f":wave: Customer closed the loop ({escape(str(data.get('intent')))}); the ticket stays solved"
    return None


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def ticket_list_text(title: str, tickets: Sequence[TicketLine]) -> str:
    if not tickets:
        return f"{title}: none"
    lines = [
        f"• *T-{t.number}* [{t.status}, {t.priority}] {escape(_clip(t.subject, 80))} — due {_when(t.sla_due)}"
        for t in tickets
    ]
    return f"*{title}*\n" + "\n".join(lines)


def home_view(agent: str, mine: Sequence[TicketLine], unassigned: Sequence[TicketLine]) -> dict[str, Any]:
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"Frontdesk: {agent}"}},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": _clip(ticket_list_text("Your open tickets", mine))}},
            {"type": "divider"},
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": _clip(ticket_list_text("Unassigned", unassigned))}},
        ],
    }  # fmt: skip
