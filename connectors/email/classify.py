"""Which mails must never be answered: auto-replies, bounces, mailing lists, our own mail.

Answering an out-of-office notice with an auto-reply starts a mail loop; answering a bounce
or a list post spams people who never wrote to support. Classification is a pure function of
the parsed headers (RFC 3834 ``Auto-Submitted``, the de-facto ``X-Autoreply``/``Precedence``
family, RFC 3464 delivery reports, RFC 2369/2919 list headers) plus subject patterns of
common out-of-office messages.
"""

from __future__ import annotations

import re

from connectors.email.parse import ParsedMail

__all__ = ["Noise", "classify"]


class Noise:
    AUTO_REPLY = "auto-reply"
    BOUNCE = "bounce"
    MAILING_LIST = "mailing-list"
    OWN_MAIL = "own-mail"
    LOOP = "loop"


_OOO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoreply|abwesenheit|"
    r"automatische antwort|réponse automatique|absence|fuera de la oficina|respuesta automática|"
    r"risposta automatica|fuori sede|afwezig|automatisch antwoord|自動応答|自动回复|vacation)",
    re.IGNORECASE,
)
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|bounces?)([+@])", re.IGNORECASE)


def classify(mail: ParsedMail, *, own_address: str) -> str | None:
    """The kind of noise this mail is, or None for a mail a person wrote to support."""
    h = mail.headers
    own = own_address.lower()
    if mail.from_address == own:
        return Noise.OWN_MAIL
    if own in h.get("x-loop", "").lower():
        return Noise.LOOP
    if mail.content_type == "multipart/report" or _BOUNCE_SENDER.match(mail.from_address):
        return Noise.BOUNCE
    if h.get("return-path", "").strip() == "<>" and "delivery" in mail.subject.lower():
        return Noise.BOUNCE
    auto = h.get("auto-submitted", "").strip().lower()
    if auto and not auto.startswith("no"):
        return Noise.AUTO_REPLY
    if any(k in h for k in ("x-autoreply", "x-autorespond", "x-autoresponder")):
        return Noise.AUTO_REPLY
    if any(v in h.get("x-auto-response-suppress", "").lower() for v in ("all", "oof", "autoreply")):
        return Noise.AUTO_REPLY
    precedence = h.get("precedence", "").strip().lower()
    if precedence in {"auto_reply", "auto-reply"}:
        return Noise.AUTO_REPLY
    if precedence in {"bulk", "junk", "list"}:
        return Noise.MAILING_LIST
    if "list-id" in h or "list-unsubscribe" in h or "list-post" in h or "mailing-list" in h:
        return Noise.MAILING_LIST
    if _OOO_SUBJECT.match(mail.subject):
        return Noise.AUTO_REPLY
    return None
