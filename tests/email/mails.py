"""Factory for raw customer mails (PTB ``make_message`` style: defaults plus overrides)."""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.utils import format_datetime

from core.contracts import utcnow

_ids = itertools.count(1)


def make_mail(
    text: str = "what are your opening hours?",
    *,
    sender: str = "ada@example.com",
    name: str = "Ada Lovelace",
    subject: str = "Question",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{name} <{sender}>"
    mail["To"] = "support@acme.example"
    mail["Subject"] = subject
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = message_id or f"<m{next(_ids)}.{id(mail)}@example.com>"
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = references
    for key, value in (headers or {}).items():
        mail[key] = value
    mail.set_content(text)
    return mail.as_bytes()
