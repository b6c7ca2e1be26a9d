"""A parsed mail → :class:`InboundMessage` (pure; threading and files are decided before).

The customer text is the new part of the mail (quotes and signature stripped); the raw mail
and the full text stay available through the attachments and ``raw_ref``. Metadata carries
what an email reply needs beyond the contract's fields: the References chain and the
Reply-To address.
"""

from __future__ import annotations

from datetime import datetime

from bot.contracts import Attachment, InboundMessage
from connectors.email.parse import ParsedMail
from connectors.email.quotes import strip_quotes

__all__ = ["CHANNEL", "MAX_TEXT_CHARS", "inbound_message"]

CHANNEL = "email"
MAX_TEXT_CHARS = 20_000


def inbound_message(
    mail: ParsedMail,
    *,
    thread_id: str,
    attachments: tuple[Attachment, ...],
    raw_ref: str | None,
    received_at: datetime,
) -> InboundMessage:
    text = strip_quotes(mail.text)[:MAX_TEXT_CHARS].strip()
    if not text:
        names = [
            a.filename
            for a in attachments
            if a.content_type != "message/rfc822" or a.filename != "original.eml"
        ]
        text = f"(sent {', '.join(names)})" if names else (mail.subject.strip() or "(empty message)")
    references = (*mail.references, *(m for m in mail.in_reply_to if m not in mail.references))
    metadata = {"references": " ".join((*references, *((mail.message_id,) if mail.message_id else ())))}
    if mail.reply_to_address and mail.reply_to_address != mail.from_address:
        metadata["reply_to_address"] = mail.reply_to_address
    return InboundMessage(
        channel=CHANNEL,
        external_user_id=mail.from_address,
        external_thread_id=thread_id,
        text=text,
        idempotency_key=mail.dedup_key,
        received_at=received_at,
        sender_name=mail.from_name,
        sender_email=mail.from_address,
        subject=mail.subject or None,
        reply_to=mail.in_reply_to[0] if mail.in_reply_to else None,
        external_message_id=mail.message_id,
        attachments=attachments,
        raw_ref=raw_ref,
        metadata=metadata,
    )
