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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

import charset_normalizer

from connectors.email.body import prefer_richer, split_uuencoded
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
    """Decode with the declared charset (mapped to its real-world superset), then fall back.

    With no charset declared, bytes that are not UTF-8 are 8-bit text in some legacy code page
    (mail software that forgot the parameter): ``charset-normalizer`` picks it, since decoding
    them as UTF-8 would turn every accented letter into a replacement character.
    """
    if not charset:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            guess = charset_normalizer.from_bytes(data).best()
            return str(guess) if guess is not None else data.decode("cp1252", errors="replace")
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


def _raw_header(msg: Message, name: str) -> str | None:
    """One header as written (encoded words left encoded, raw 8-bit read as UTF-8), unfolded."""
    raw = None
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            raw = value
            break
    if raw is None:
        return None
    raw = str(raw)
    if any(ord(c) > 127 for c in raw) and "\udc80" <= max(raw) <= "\udcff":
        raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return re.sub(r"\r?\n(?=[ \t])", "", raw)


def _decode_words(raw: str) -> str:
    """RFC 2047 encoded words decoded; never raises."""
    try:
        return str(make_header(decode_header(raw)))
    except Exception:  # malformed encoded words, unknown charsets in them
        return _decode_words_leniently(raw)


def _header(msg: Message, name: str) -> str | None:
    """One header, decoded (RFC 2047, raw 8-bit as UTF-8/CP1252); never raises."""
    raw = _raw_header(msg, name)
    if raw is None:
        return None
    return re.sub(r"\s*\r?\n\s*", " ", _decode_words(raw)).strip()


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


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs of an address header.

    The list is split *before* RFC 2047 decoding: an encoded display name may hide a comma
    (``=?utf-8?q?M=C3=BCller=2C_Bernd?=`` is "Müller, Bernd"), which must not split it.
    """
    raw = _raw_header(msg, name)
    if not raw:
        return []
    try:
        pairs = getaddresses([raw])
    except Exception:
        pairs = []
    found = [(_decode_words(n).strip(), a.strip().lower()) for n, a in pairs if "@" in a]
    if not found:
        match = re.search(r"[\w.+'=-]+@[\w-]+(?:\.[\w-]+)+", _decode_words(raw))
        if match:
            found = [("", match.group(0).lower())]
    return found


_ANGLE = re.compile(r"<([^<>]*)>")
_COMMENT = re.compile(r"\([^()]*\)")


def _spaced_sender(value: str | None) -> str | None:
    """The sender's address as written, if it has spaces (``ada @example.com``,
    ``"a b"@example.com``): the parser would glue or keep the pieces into an address nobody
    owns, so such a mail is refused instead of answered at a guess."""
    if not value:
        return None
    first = value.split(",", 1)[0] if "<" not in value else value
    angle = _ANGLE.findall(first)
    spec = angle[-1] if angle else _COMMENT.sub(" ", first)
    spec = spec.strip()
    if "@" not in spec:
        return None
    local, _at, domain = spec.rpartition("@")
    quoted = re.search(r'"[^"]*\s[^"]*"\s*$', local)
    if quoted or local != local.rstrip() or domain != domain.lstrip() or (angle and re.search(r"\s", spec)):
        return spec
    return None


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
    for header in ("from", "sender"):
        if _spaced_sender(headers.get(header)):
            raise Unparseable(
                f"the sender address in {header.title()}: has spaces in it (around the @ or in a"
                " quoted name before it), so no reply can be addressed to it"
            )
    senders = _addresses(msg, "from") or _addresses(msg, "sender") or _addresses(msg, "return-path")
    if not senders:
        raise Unparseable("no sender address in From:, Sender: or Return-Path:")
    from_name, from_address = senders[0]
    plain: list[str] = []
    html: list[str] = []
    attachments: list[MailPart] = []
    defects: list[str] = [type(d).__name__ for d in msg.defects]
    for index, part in _leaves(msg):
        ctype = part.get_content_type()
        name = _filename(part, index)
        if ctype == "message/rfc822" or (part.get_content_maintype() == "message" and not name):
            attachments.append(_embedded_mail(part, index, name))
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
            continue
        text, files = split_uuencoded(text)
        attachments += [MailPart(n, t, d) for n, t, d in files]
        plain.append(text)
    body = prefer_richer(
        "\n\n".join(p.strip() for p in plain if p.strip()), "\n\n".join(html_to_text(h) for h in html)
    )
    body = body.replace("\r\n", "\n").replace("\x00", "")
    reply_to = _addresses(msg, "reply-to")
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
        to_addresses=tuple(a for _n, a in _addresses(msg, "to") + _addresses(msg, "cc")),
        sha256=hashlib.sha256(raw).hexdigest(),
        defects=tuple(defects),
    )


def _leaves(msg: Message) -> Iterator[tuple[int, Message]]:
    """The non-multipart parts in order, numbered like ``walk()``; an attached mail
    (``message/rfc822``) is one part: its own text is not the sender's message."""
    stack = [msg]
    index = 0
    while stack:
        part = stack.pop()
        current = index
        index += 1
        if part.get_content_type() == "message/rfc822" and part is not msg:
            yield current, part
            continue
        if part.is_multipart():
            children = part.get_payload()
            stack.extend(reversed([c for c in children if isinstance(c, Message)]))
            continue
        yield current, part


def _embedded_mail(part: Message, index: int, name: str | None) -> MailPart:
    """An attached mail, named after its subject so an agent sees what was forwarded."""
    inner = part.get_payload()
    first = inner[0] if isinstance(inner, list) and inner else None
    try:
        data = first.as_bytes() if isinstance(first, Message) else _payload(part)
    except Exception:  # a broken embedded mail: keep its encoded bytes
        data = _payload(part)
    if not name and isinstance(first, Message):
        unsafe = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]', " ", _header(first, "subject") or "")
        subject = re.sub(r"\s+", " ", unsafe).strip(" .")
        name = f"{subject[:150].strip()}.eml" if subject else None
    return MailPart(name or f"message-{index}.eml", "message/rfc822", data)


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
