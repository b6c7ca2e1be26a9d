"""Which conversation a mail belongs to, from its headers and subject (pure).

A thread is named by its root Message-ID: the first entry of ``References`` (RFC 5322 keeps
the root first), else ``In-Reply-To``, else the mail's own Message-ID, so a new mail opens a
thread and every reply in it lands in the same conversation. A ticket reference in the
subject (``[T-1042]``) and Message-IDs the backend already knows (our replies, earlier mails)
take precedence; the connector asks the backend about them.
"""

from __future__ import annotations

import re

from connectors.email.parse import ParsedMail

__all__ = ["candidate_ids", "fallback_thread", "format_subject", "ticket_number"]

_TICKET = re.compile(r"\[\s*T-(\d{1,12})\s*\]", re.IGNORECASE)


def ticket_number(subject: str) -> int | None:
    match = _TICKET.search(subject)
    return int(match.group(1)) if match else None


def candidate_ids(mail: ParsedMail) -> tuple[str, ...]:
    """Message-IDs this mail answers, nearest first (In-Reply-To, then References newest first)."""
    return tuple(dict.fromkeys((*mail.in_reply_to, *reversed(mail.references))))


def fallback_thread(mail: ParsedMail) -> str:
    if mail.references:
        return mail.references[0]
    if mail.in_reply_to:
        return mail.in_reply_to[0]
    if mail.message_id:
        return mail.message_id
    return f"<sha256.{mail.sha256[:40]}@frontdesk.invalid>"


def format_subject(subject: str | None, *, ticket: str | None = None) -> str:
    """``Re: <subject>`` once, with the ticket reference if there is one and it is not there yet."""
    base = (subject or "").strip() or "Your message"
    if not re.match(r"^(re|aw|sv|antw|r)\s*:", base, re.IGNORECASE):
        base = f"Re: {base}"
    if ticket and f"[{ticket}]".lower() not in base.lower():
        base = f"{base} [{ticket}]"
    return base
