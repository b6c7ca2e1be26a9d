"""A parsed mail → :class:`InboundMessage` (pure; threading and files are decided before).

The customer text is the new part of the mail (quotes and signature stripped); the raw mail
and the full text stay available through the attachments and ``raw_ref``. Metadata carries
what an email reply needs beyond the contract's fields: the References chain and the
Reply-To address.

A mail has no buttons: our reply lists its quick replies' labels, and a customer who answers
with one of them (nothing else, whatever the case, spacing, bullet or full stop) sends that
button's payload, as pressing it in the web chat would. The payload is what the rules are
written against ("Returns" may stand for "I want to return something").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from connectors.email.channel_name import CHANNEL
from connectors.email.parse import ParsedMail
from connectors.email.quotes import strip_quotes
from core.contracts import Attachment, InboundMessage, QuickReply

__all__ = ["CHANNEL", "MAX_TEXT_CHARS", "answered_button", "inbound_message"]

MAX_TEXT_CHARS = 20_000


def inbound_message(
    mail: ParsedMail,
    *,
    thread_id: str,
    attachments: tuple[Attachment, ...],
    raw_ref: str | None,
    received_at: datetime,
    buttons: Sequence[QuickReply] = (),
) -> InboundMessage:
    """``buttons``: the quick replies of the reply this mail answers (see the module)."""
    text = strip_quotes(mail.text)[:MAX_TEXT_CHARS].strip()
    text = answered_button(text, buttons) or text
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


_AROUND_LABEL = " \t\r\n*-•>.!\"'"  # a bullet copied from our list, quotes, a full stop
_SPACES = re.compile(r"\s+")


def answered_button(text: str, buttons: Sequence[QuickReply]) -> str | None:
    """The payload of the button whose label is all ``text`` says, if any."""
    if not buttons or len(text) > 200:
        return None
    said = _label_key(text)
    if not said:
        return None
    for button in buttons:
        if _label_key(button.label) == said:
            return button.payload
    return None


def _label_key(text: str) -> str:
    return _SPACES.sub(" ", text.strip(_AROUND_LABEL)).casefold()
