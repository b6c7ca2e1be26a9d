"""The customer at a glance as Block Kit: a line on the ticket card, the "Customer" modal and the
``/ticket customer`` answer. Pure functions over :class:`~connectors.slack.glance.CustomerFacts`.

Everything the customer or a channel supplied (name, addresses, subjects, tags, attributes) is
escaped for ``mrkdwn`` (``&``, ``<``, ``>``), so it can neither mention ``@channel`` nor forge a
link in the agents' Slack.
"""

from __future__ import annotations

from typing import Any

from connectors.slack.glance import CustomerFacts
from connectors.slack.mrkdwn import clip, escape

__all__ = ["CUSTOMER_VIEW", "console_link", "customer_modal", "customer_text", "glance_elements"]

CUSTOMER_VIEW = "ticket_customer_view"  # the modal's callback_id
_CARD_ATTRIBUTES = 3  # attributes shown on the card (all of them in the view, up to _VIEW_ITEMS)
_VIEW_ITEMS = 20


def console_link(console_url: str | None, reference: str, label: str = "Open in console") -> str | None:
    """A mrkdwn link to the console's page of ticket ``reference``, or None without ``console_url``."""
    if not console_url:
        return None
    return f"<{escape(console_url)}/console/tickets/{reference}|{label}>"


def _channels(facts: CustomerFacts) -> str:
    names = dict.fromkeys(i.channel for i in facts.identities)
    return ", ".join(escape(n) for n in names) or "no channel"


def _trend(facts: CustomerFacts) -> str:
    if not facts.messages:
        return "no messages yet"
    share = round(100 * facts.negative / facts.messages)
    complaints = f"{facts.complaints} complaint{'s' if facts.complaints != 1 else ''}"
    return f"last {facts.messages} messages: {share}% negative, {complaints}"


def _csat(facts: CustomerFacts) -> str:
    if facts.last_csat is None:
        return "no rating yet"
    number, score = facts.last_csat
    return f"{score}/5 (T-{number})"


def _value(value: Any, limit: int = 60) -> str:
    return escape(clip(value if isinstance(value, str) else str(value), limit))


def _tags(facts: CustomerFacts) -> str:
    return " ".join(f"`{escape(clip(t, 60))}`" for t in facts.tags[:_VIEW_ITEMS])


def glance_elements(facts: CustomerFacts, *, console_url: str | None) -> list[dict[str, Any]]:
    """The card's customer line: one context block's elements (at most 10, each short)."""
    earlier = f"{facts.past_total} earlier ticket{'s' if facts.past_total != 1 else ''}"
    if facts.past_tickets:
        earlier += ": " + ", ".join(f"T-{t.number} {t.status}" for t in facts.past_tickets[:2])
    texts = [
        f":bust_in_silhouette: on {_channels(facts)}",
        earlier,
        f"CSAT {_csat(facts)}",
        f"{':warning: ' if facts.complaints or facts.negative * 2 > facts.messages else ''}{_trend(facts)}",
    ]
    if facts.tags:
        texts.append(_tags(facts))
    attributes = list(facts.attributes.items())[:_CARD_ATTRIBUTES]
    if attributes:
        texts.append(" · ".join(f"{_value(k, 30)}: {_value(v, 40)}" for k, v in attributes))
    link = console_link(console_url, facts.reference)
    if link:
        texts.append(link)
    return [{"type": "mrkdwn", "text": clip(t, 500)} for t in texts]


def _sections(facts: CustomerFacts, *, console_url: str | None) -> list[tuple[str, str]]:
    """(title, mrkdwn body) of each part of the full view, shared by the modal and the text answer."""
    who = [f"*{escape(facts.name)}*" + (" (erased)" if facts.erased else "")]
    if facts.email:
        who.append(f"email {escape(facts.email)}")
    if facts.claimed_email and facts.claimed_email != facts.email:
        who.append(f"says {escape(facts.claimed_email)} (unverified)")
    if facts.phone:
        who.append(f"phone {escape(facts.phone)}")
    identities = [
        f"• {escape(i.channel)}: {_value(i.external_id, 80)}"
        + (f" ({_value(i.display_name, 60)})" if i.display_name else "")
        for i in facts.identities[:_VIEW_ITEMS]
    ]
    past = [
        f"• T-{t.number} [{escape(t.status)}] {_value(t.subject, 80)}"
        + (f" — CSAT {t.csat_score}/5" if t.csat_score is not None else "")
        for t in facts.past_tickets
    ]
    more = facts.past_total - len(facts.past_tickets)
    if more > 0:
        past.append(f"… and {more} more")
    attributes = [
        f"• {_value(k, 40)}: {_value(v, 120)}" for k, v in list(facts.attributes.items())[:_VIEW_ITEMS]
    ]
    link = console_link(console_url, facts.reference, f"{facts.reference} in the console")
    parts = [
        ("Customer", " · ".join(who)),
        ("Channels", "\n".join(identities) or "none known"),
        (f"Past tickets ({facts.past_total})", "\n".join(past) or "none"),
        ("Last CSAT", _csat(facts)),
        ("Sentiment and complaints", _trend(facts)),
        ("Tags", _tags(facts) or "none"),
        ("Attributes", "\n".join(attributes) or "none"),
    ]
    if link:
        parts.append(("Console", link))
    return parts


def customer_modal(facts: CustomerFacts, *, console_url: str | None) -> dict[str, Any]:
    """The "Customer" modal (``views.open``) of ticket ``facts.number``."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(f"{facts.name} · {facts.reference}", 150)},
        }
    ]
    for title, body in _sections(facts, console_url=console_url):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(f"*{title}*\n{body}")}})
    return {
        "type": "modal",
        "callback_id": CUSTOMER_VIEW,
        "private_metadata": str(facts.number),
        "title": {"type": "plain_text", "text": "Customer"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": blocks,
    }


def customer_text(facts: CustomerFacts, *, console_url: str | None) -> str:
    """``/ticket customer T-1042``: the same view as text, for an ephemeral answer."""
    lines = [f"*{title}*: {body}" if "\n" not in body else f"*{title}*\n{body}"
             for title, body in _sections(facts, console_url=console_url)]  # fmt: skip
    return clip(f"*{facts.reference}*\n" + "\n".join(lines), 3900)
