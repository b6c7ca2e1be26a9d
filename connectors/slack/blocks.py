"""Ticket cards, thread lines and the App Home view as Block Kit JSON: pure functions.

Everything a customer wrote is put into ``mrkdwn`` text escaped (``&``, ``<``, ``>``), so a
customer cannot mention ``@channel`` or forge links in the agents' Slack.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.slack.customer_blocks import glance_elements
from connectors.slack.mrkdwn import clip, escape
from connectors.slack.views import FeedItem, TicketCard, TicketLine

__all__ = [
    "ACTION_ASSIGNEE",
    "ACTION_CLAIM",
    "ACTION_CUSTOMER",
    "ACTION_ESCALATE",
    "ACTION_PRIORITY",
    "ACTION_QUEUE",
    "ACTION_RESOLVE",
    "ACTION_STATUS",
    "PRIORITIES",
    "STATUS_CHOICES",
    "actor_name",
    "card_blocks",
    "card_text",
    "clip",
    "escape",
    "home_view",
    "thread_line",
    "ticket_list_text",
]

ACTION_CLAIM = "ticket_claim"
ACTION_RESOLVE = "ticket_resolve"
ACTION_ESCALATE = "ticket_escalate"
ACTION_PRIORITY = "ticket_priority"
ACTION_STATUS = "ticket_status"  # the card's overflow menu: status choices and reopen
ACTION_QUEUE = "ticket_queue"
ACTION_ASSIGNEE = "ticket_assignee"  # a users_select: the ticket number is in its block_id
ACTION_CUSTOMER = "ticket_customer"  # opens the customer view (a modal)
STATUS_CHOICES = ("open", "pending", "on-hold", "solved", "closed")  # what an agent may set
_STATUS_LABEL = {"open": "Set open", "pending": "Set pending (waiting for the customer)",
                 "on-hold": "Set on hold (waiting for a third party)"}  # fmt: skip
PRIORITIES = ("low", "normal", "high", "urgent")
_PRIORITY_ICON = {"low": ":white_circle:", "normal": ":large_blue_circle:", "high": ":large_orange_circle:",
                  "urgent": ":red_circle:"}  # fmt: skip
_clip = clip


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


def card_blocks(
    card: TicketCard, *, users: Mapping[str, str], console_url: str | None = None
) -> list[dict[str, Any]]:
    """The ticket card: who, what, how urgent, the customer at a glance, the latest messages, and
    what an agent can do (buttons and the overflow menu; priority, queue and assignee menus)."""
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
    if card.customer_facts is not None:
        elements = glance_elements(card.customer_facts, console_url=console_url)
        blocks.append({"type": "context", "elements": elements})
    if card.last_messages:
        lines = [f"*{escape(m.name or m.role)}*: {escape(_clip(m.text, 400))}" for m in card.last_messages]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines))}})
    if card.status != "closed":
        blocks.extend(_actions(card, users))
    return blocks


def _actions(card: TicketCard, users: Mapping[str, str]) -> list[dict[str, Any]]:
    value = str(card.number)
    elements: list[dict[str, Any]] = [
        {"type": "button", "action_id": ACTION_CLAIM, "value": value,
         "text": {"type": "plain_text", "text": "Claim"}},
        {"type": "button", "action_id": ACTION_RESOLVE, "value": value, "style": "primary",
         "text": {"type": "plain_text", "text": "Resolve"}},
        {"type": "button", "action_id": ACTION_ESCALATE, "value": value, "style": "danger",
         "text": {"type": "plain_text", "text": "Escalate"}},
        {"type": "button", "action_id": ACTION_CUSTOMER, "value": value,
         "text": {"type": "plain_text", "text": "Customer"}},
        {"type": "overflow", "action_id": ACTION_STATUS, "options": _status_options(card)},
    ]  # fmt: skip
    menus: list[dict[str, Any]] = [
        {
            "type": "static_select",
            "action_id": ACTION_PRIORITY,
            "placeholder": {"type": "plain_text", "text": "Priority"},
            "initial_option": _option(card.number, card.priority),
            "options": [_option(card.number, p) for p in PRIORITIES],
        }
    ]
    queues = list(dict.fromkeys((card.queue, *card.queues)))[:100]  # a menu holds 100 options
    if len(queues) > 1:
        menus.append({
            "type": "static_select", "action_id": ACTION_QUEUE,
            "placeholder": {"type": "plain_text", "text": "Queue"},
            "initial_option": _option(card.number, card.queue),
            "options": [_option(card.number, q) for q in queues],
        })  # fmt: skip
    assignee: dict[str, Any] = {
        "type": "users_select",
        "action_id": ACTION_ASSIGNEE,
        "placeholder": {"type": "plain_text", "text": "Assign to…"},
    }
    if card.assignee is not None and card.assignee in users:
        assignee["initial_user"] = users[card.assignee]
    menus.append(assignee)
    return [
        {"type": "actions", "block_id": f"ticket-{card.number}", "elements": elements},
        {"type": "actions", "block_id": f"ticket-{card.number}-menus", "elements": menus},
    ]


def _status_options(card: TicketCard) -> list[dict[str, Any]]:
    """The overflow menu (2 to 5 options): the other waiting states of an unsolved ticket, or
    reopen and close for a solved one."""
    if card.status == "solved":
        choices = [("open", "Reopen"), ("closed", "Close (final)")]
    else:
        choices = [(s, label) for s, label in _STATUS_LABEL.items() if s != card.status]
    return [_option(card.number, status, label) for status, label in choices]


def _option(number: int, value: str, label: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": _clip(label or value, 75)}, "value": f"{number}:{value}"}


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
    if kind == "reply" and data.get("macro"):  # the agent typed the macro's name: show what was sent
        macro, sent = escape(str(data["macro"])), escape(_clip(str(data.get("text", ""))))
        return f":outbox_tray: *{who}* replied to the customer with macro `{macro}`: {sent}"
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
