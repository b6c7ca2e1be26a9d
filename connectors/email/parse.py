"""Raw RFC 5322 bytes → :class:`ParsedMail`, with the standard library's ``email`` package.

Mail in the wild is often broken: wrong or unknown charsets, 8-bit bytes in headers,
malformed RFC 2047 words, addresses CPython's header parser cannot read. Every header and body
part is decoded with a fallback chain, so a single bad part degrades to replacement
characters instead of failing the whole mail. :class:`Unparseable` is raised only when
nothing usable is left (no sender address, or not a mail at all); the caller quarantines it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from connectors.email.html_text import html_to_text
from core.errors import FrontdeskError

__all__ = ["MailPart", "ParsedMail", "Unparseable", "decode_bytes", "parse_mail"]


class Unparseable(FrontdeskError):
    """Nothing usable could be read from the raw bytes; the reason says why."""


@dataclass(frozen=True, slots=True)
class MailPart:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass(frozen=True, slots=True)
class ParsedMail:
    from_address: str  # lower-cased
    from_name: str | None
    subject: str
    message_id: str | None  # "<id@host>", as written
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: datetime | None
    text: str  # the full body text (HTML converted), before quote stripping
    content_type: str
    attachments: tuple[MailPart, ...]
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased name → decoded value (first)
    reply_to_address: str | None = None
    to_addresses: tuple[str, ...] = ()
    sha256: str = ""
    defects: tuple[str, ...] = ()

    @property
    def dedup_key(self) -> str:
        """Message-ID together with the sender and a hash of the content; a hash of the raw
        bytes when the mail has no Message-ID.

        A Message-ID is the sender's to choose: two different mails (from another sender, or a
        broken client reusing one) can share it, and neither may be dropped. Only the same mail
        read twice (a re-read after a crash, a copy delivered to two of our addresses) shares
        all three; the content hash leaves out the headers that differ between such copies.
        """
        if self.message_id:
            return f"mid:{self.message_id.strip('<>')[:260]}:{self.content_hash}"
        return f"sha256:{self.sha256}"

    @property
    def content_hash(self) -> str:
        """Sender, subject, body text and attachments, hashed (16 hex digits)."""
        digest = hashlib.sha256()
        for text in (self.from_address, self.subject, self.text):
            digest.update(text.encode("utf-8", errors="replace") + b"\0")
        for part in self.attachments:
            digest.update(hashlib.sha256(part.data).digest())
        return digest.hexdigest()[:16]


# Charsets as mail software writes them → what actually decodes the bytes (WHATWG practice).
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-2022-jp": "iso2022_jp_ext",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "windows-874": "cp874",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
    "utf8": "utf-8",
    "x-user-defined": "cp1252",
}
_MSGID = re.compile(r"<[^<>\s]{1,900}>")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset (mapped to its real-world superset), then fall back."""
    candidates: list[str] = []
    if charset:
        name = charset.strip().strip('"').lower()
        candidates += [_CHARSET_ALIASES.get(name, name), name]
    candidates += ["utf-8"]
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    if charset and charset.strip().lower() in {"iso-2022-jp", "iso2022_jp"}:
        for candidate in ("iso2022_jp_2", "iso2022_jp_3", "cp932"):
            try:
                return data.decode(candidate)
            except (LookupError, UnicodeDecodeError):
                continue
    first = candidates[0]
    try:
        return data.decode(first, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _header(msg: Message, name: str) -> str | None:
    """One header, decoded (RFC 2047, raw 8-bit as UTF-8/CP1252); never raises."""
    raw = None
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            raw = value
            break
    if raw is None:
        return None
    if isinstance(raw, str) and any(ord(c) > 127 for c in raw) and "\udc80" <= max(raw) <= "\udcff":
        raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    try:
        text = str(make_header(decode_header(raw)))
    except Exception:  # malformed encoded words, unknown charsets in them
        text = _decode_words_leniently(str(raw))
    return re.sub(r"\s*\r?\n\s*", " ", text).strip()


def _decode_words_leniently(raw: str) -> str:
    def one(match: re.Match[str]) -> str:
        charset, encoding, payload = match.group(1), match.group(2).lower(), match.group(3)
        try:
            if encoding == "b":
                import base64

                data = base64.b64decode(payload + "=" * (-len(payload) % 4))
            else:
                import quopri

                data = quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"), header=True)
        except Exception:
            return match.group(0)
        return decode_bytes(data, charset.split("*", 1)[0])

    return re.sub(r"=\?([^?]+)\?([bBqQ])\?([^?]*)\?=", one, raw)


def _addresses(value: str | None) -> list[tuple[str, str]]:
    if not value:
        return []
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = []
    found = [(name, addr.strip().lower()) for name, addr in pairs if "@" in addr]
    if not found:
        match = re.search(r"[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+", value)
        if match:
            found = [("", match.group(0).lower())]
    return found


def _msgids(value: str | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MSGID.findall(value or "")))


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _filename(part: Message, index: int) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name:
        try:
            return str(make_header(decode_header(name)))
        except Exception:
            return _decode_words_leniently(name)
    return None


def _is_attachment(part: Message, filename: str | None) -> bool:
    disposition = (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
    if disposition == "attachment" or filename:
        return True
    return part.get_content_maintype() not in {"text", "multipart", "message"}


def parse_mail(raw: bytes) -> ParsedMail:
    if not raw.strip():
        raise Unparseable("empty message")
    try:
        msg = message_from_bytes(raw, policy=policy.compat32)
    except Exception as exc:  # pragma: no cover - the compat32 parser practically never raises
        raise Unparseable(f"the MIME structure cannot be read ({type(exc).__name__})") from None
    headers = {k.lower(): (_header(msg, k) or "") for k in dict.fromkeys(msg.keys())}
    senders = _addresses(headers.get("from")) or _addresses(headers.get("sender"))
    if not senders:
        senders = _addresses(headers.get("return-path"))
    if not senders:
        raise Unparseable("no sender address in From:, Sender: or Return-Path:")
    from_name, from_address = senders[0]
    plain: list[str] = []
    html: list[str] = []
    attachments: list[MailPart] = []
    defects: list[str] = [type(d).__name__ for d in msg.defects]
    for index, part in enumerate(msg.walk()):
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        name = _filename(part, index)
        if ctype == "message/rfc822" or (part.get_content_maintype() == "message" and not name):
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            try:
                data = first.as_bytes() if isinstance(first, Message) else _payload(part)
            except Exception:  # a broken embedded mail: keep its encoded bytes
                data = _payload(part)
            attachments.append(MailPart(name or f"message-{index}.eml", "message/rfc822", data))
            continue
        if _is_attachment(part, name):
            ext = ctype.split("/")[-1][:10]
            disposition = (part.get("Content-Disposition") or "").lower()
            attachments.append(
                MailPart(name or f"part-{index}.{ext}", ctype, _payload(part), inline="inline" in disposition)
            )
            continue
        text = decode_bytes(_payload(part), part.get_content_charset())
        if ctype == "text/html":
            html.append(text)
        else:
            plain.append(text)
    if plain and any(p.strip() for p in plain):
        body = "\n\n".join(p.strip() for p in plain if p.strip())
    elif html:
        body = "\n\n".join(html_to_text(h) for h in html)
    else:
        body = ""
    body = body.replace("\r\n", "\n").replace("\x00", "")
    reply_to = _addresses(headers.get("reply-to"))
    return ParsedMail(
        from_address=from_address,
        from_name=from_name.strip() or None,
        subject=headers.get("subject", ""),
        message_id=(_msgids(headers.get("message-id")) or (None,))[0],
        in_reply_to=_msgids(headers.get("in-reply-to")),
        references=_msgids(headers.get("references")),
        date=_date(headers.get("date")),
        text=body,
        content_type=msg.get_content_type(),
        attachments=tuple(attachments),
        headers=headers,
        reply_to_address=reply_to[0][1] if reply_to else None,
        to_addresses=tuple(a for _n, a in _addresses(headers.get("to")) + _addresses(headers.get("cc"))),
        sha256=hashlib.sha256(raw).hexdigest(),
        defects=tuple(defects),
    )


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
