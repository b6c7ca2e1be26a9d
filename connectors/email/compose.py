"""An :class:`OutboundMessage` → the MIME mail the customer's client threads correctly (pure).

``In-Reply-To`` names the customer's mail and ``References`` carries the thread root plus
that mail, so Gmail, Outlook and Apple Mail show the reply in the same thread. The
Message-ID is derived from the interaction id, so a retried delivery sends the same id (the
customer's client shows it once). Bot replies carry ``Auto-Submitted: auto-replied`` and
system mails (the CSAT question) ``Auto-Submitted: auto-generated`` (RFC 3834), both with
``X-Auto-Response-Suppress: All``, so well-behaved auto-responders do not answer them; agents'
mails carry neither. ``X-Loop`` lets us recognise our own mail coming back. Text is sent as
plain text with an HTML alternative.

A mail has no buttons, so a reply's quick replies (a clarifying question's choices, the CSAT
scale) are listed under the text for the customer to answer with: a reply that repeats a label
reaches the rules as pressing that button would in the web chat (the default payload is the
label). No mailto: links: they would start a new thread instead of answering this one.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import TypeGuard

from connectors.email.threads import format_subject
from core.contracts import Attachment, OutboundMessage, QuickReply, SenderRole

__all__ = ["compose", "message_id_for"]


# RFC 3834: a bot reply answers the customer's mail ("auto-replied"); a system mail (the CSAT
# question, other notices no person wrote) answers nothing ("auto-generated"). Agents' mails
# are written by people and carry neither.
_AUTO_SUBMITTED = {SenderRole.BOT: "auto-replied", SenderRole.SYSTEM: "auto-generated"}


def message_id_for(message: OutboundMessage, *, domain: str) -> str:
    tag = hashlib.sha256(f"{message.conversation_id}:{message.interaction_id}:{domain}".encode()).hexdigest()
    return f"<frontdesk.{message.interaction_id}.{tag[:16]}@{domain}>"


def _is_msgid(value: str | None) -> TypeGuard[str]:
    return value is not None and value.startswith("<") and value.endswith(">") and "@" in value


def compose(
    message: OutboundMessage,
    *,
    from_address: str,
    from_name: str,
    domain: str,
    files: Sequence[tuple[Attachment, bytes]] = (),
) -> tuple[EmailMessage, str]:
    """The mail to send and its Message-ID; ``files`` (an agent's attachments with their bytes)
    are attached after the text."""
    mail = EmailMessage()
    message_id = message_id_for(message, domain=domain)
    recipient = message.metadata.get("reply_to_address") or message.external_user_id
    mail["From"] = formataddr((message.sender_name or from_name, from_address))
    mail["To"] = recipient
    mail["Subject"] = format_subject(message.subject, ticket=message.metadata.get("ticket") or None)
    mail["Date"] = format_datetime(message.created_at)
    mail["Message-ID"] = message_id
    chain = [r for r in message.metadata.get("references", "").split() if _is_msgid(r)]
    if _is_msgid(message.external_thread_id) and message.external_thread_id not in chain:
        chain.insert(0, message.external_thread_id)
    if _is_msgid(message.in_reply_to):
        mail["In-Reply-To"] = message.in_reply_to
        if message.in_reply_to not in chain:
            chain.append(message.in_reply_to)
    if chain:
        mail["References"] = " ".join(chain[-20:] if len(chain) <= 20 else [chain[0], *chain[-19:]])
    automatic = _AUTO_SUBMITTED.get(message.sender_role)
    if automatic is not None:
        mail["Auto-Submitted"] = automatic
        mail["X-Auto-Response-Suppress"] = "All"
    mail["X-Loop"] = from_address
    mail.set_content(message.text + _options_text(message.quick_replies))
    mail.add_alternative(_html(message.text, message.quick_replies), subtype="html")
    for attachment, data in files:
        maintype, _, subtype = attachment.content_type.split(";", 1)[0].strip().lower().partition("/")
        if not (maintype and subtype) or maintype in ("multipart", "message"):
            maintype, subtype = "application", "octet-stream"  # bytes as they are, never re-encoded
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return mail, message_id


_SHORT = 3  # labels this short (a rating scale) go on one line


def _one_line(options: tuple[QuickReply, ...]) -> bool:
    return all(len(q.label) <= _SHORT for q in options)


def _options_text(options: tuple[QuickReply, ...]) -> str:
    labels = [q.label for q in options]
    if not labels:
        return ""
    if _one_line(options):
        return "\n\nReply with one of: " + " / ".join(labels)
    return "\n\nYou can reply with one of these:\n" + "\n".join(f"  * {label}" for label in labels)


def _html(text: str, options: tuple[QuickReply, ...]) -> str:
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "\n".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    labels = [html.escape(q.label) for q in options]
    if labels and _one_line(options):
        body += f"\n<p>Reply with one of: {' / '.join(labels)}</p>"
    elif labels:
        items = "".join(f"<li>{label}</li>" for label in labels)
        body += f"\n<p>You can reply with one of these:</p>\n<ul>{items}</ul>"
    return f'<!doctype html>\n<html><body style="font-family: sans-serif">\n{body}\n</body></html>\n'
