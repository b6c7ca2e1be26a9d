"""Making arbitrary customer text safe to analyse.

Customers paste anything: 100 KB log dumps, control characters from copy-paste, emoji-only
messages, mixed scripts. Every analyser works on the output of :func:`clean` so none of them
has to defend itself, and offsets stay valid because cleaning never changes the length of
the part it keeps (control characters become spaces instead of being dropped).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_CHARS", "clean", "fold"]

MAX_CHARS = 20_000
"""Text beyond this many characters is not analysed (it is still kept in ``Analysis.text``)."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def clean(text: str, *, max_chars: int = MAX_CHARS) -> str:
    """Truncate to ``max_chars`` and blank out control characters, keeping every offset.

    Lone surrogates (possible in text decoded with ``surrogateescape``) are replaced too,
    because spaCy and the regex engine refuse them.
    """
    head = text[:max_chars]
    head = _CONTROL.sub(" ", head)
    if any("\ud800" <= ch <= "\udfff" for ch in head):
        head = "".join(" " if "\ud800" <= ch <= "\udfff" else ch for ch in head)
    return head


def fold(text: str) -> str:
    """Case- and compatibility-fold for matching (full-width digits, ligatures, curly quotes)."""
    if text.isascii():  # the same result, cheaper: ASCII is NFKC-stable, and "`" is its only quote
        return text.replace("`", "'").lower()
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
