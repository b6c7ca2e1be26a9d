"""Choosing and cleaning a mail's body text (pure functions, used by :mod:`parse`).

Two shapes of real-world mail need more than decoding: a ``multipart/alternative`` whose text
part is only the sender's signature while the HTML part holds the message, and files pasted
into a text part as inline uuencode (``begin 644 name`` … ``end``) by older clients and
scripts. Neither may reach the stored text as it stands.
"""

from __future__ import annotations

import binascii
import mimetypes
import re

__all__ = ["prefer_richer", "split_uuencoded"]

_WORD = re.compile(r"\w+")
_URL = re.compile(r"\b(?:https?|mailto):\S+", re.IGNORECASE)
# The HTML alternative is preferred when it has at least this many times the text part's words
# and at least _MIN_EXTRA_WORDS more: an HTML twin of the same message is never that much
# longer (its link targets are left out of the count), a full message beside a signature is.
_RICHER_FACTOR = 2
_MIN_EXTRA_WORDS = 10


def _words(text: str) -> int:
    return len(_WORD.findall(_URL.sub(" ", text)))


def prefer_richer(plain: str, html_text: str) -> str:
    """``plain``, unless the HTML alternative (as text) says substantially more (see above)."""
    if not plain.strip():
        return html_text
    have, other = _words(plain), _words(html_text)
    if other >= _RICHER_FACTOR * have and other - have >= _MIN_EXTRA_WORDS:
        return html_text
    return plain


_BEGIN = re.compile(r"^begin ([0-7]{3,4}) (\S.*?)\s*$")
_LINE_END = re.compile(r"\r?\n")


def split_uuencoded(text: str) -> tuple[str, list[tuple[str, str, bytes]]]:
    """The text without its inline uuencoded blocks, and the files they held.

    Each file is ``(filename, content type guessed from the name, bytes)``. A block that does
    not decode is left in the text as it was: a line that merely starts with "begin 644 " must
    not lose the rest of the message.
    """
    lines = _LINE_END.split(text)
    kept: list[str] = []
    files: list[tuple[str, str, bytes]] = []
    i = 0
    while i < len(lines):
        match = _BEGIN.match(lines[i])
        if match:
            decoded = _decode_block(lines, i + 1)
            if decoded is not None:
                data, end = decoded
                name = match.group(2).replace("/", "_").replace("\\", "_")[:200] or "file"
                ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
                files.append((name, ctype, data))
                i = end + 1
                continue
        kept.append(lines[i])
        i += 1
    if not files:
        return text, []
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip(), files


def _decode_block(lines: list[str], start: int) -> tuple[bytes, int] | None:
    """The bytes of the block from ``start`` up to its ``end`` line, and that line's index."""
    data = bytearray()
    for index in range(start, len(lines)):
        line = lines[index]
        if line.strip() == "end":
            return bytes(data), index
        if not line.strip():
            continue
        try:
            data += binascii.a2b_uu(line)
        except binascii.Error:
            try:  # some encoders pad lines oddly: decode the length the first byte declares
                size = (ord(line[0]) - 32) & 63
                data += binascii.a2b_uu(line[: 1 + (size + 2) // 3 * 4])
            except (binascii.Error, IndexError):
                return None
    return None
