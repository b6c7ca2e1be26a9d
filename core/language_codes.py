"""The language codes a rulebook may split its texts by: ISO 639-1, optionally with a region.

``de``, ``fr``, ``es``, ``pt-BR``: two lower-case letters naming a language ISO 639-1 knows, and
an optional two-letter region. :func:`language_problem` says what is wrong with any other key
(``ger``, ``DE``, ``dk``) with a "did you mean" hint, for the ``file:line`` errors of the loaders.
"""

from __future__ import annotations

import difflib
import re

__all__ = ["ISO_639_1", "language_problem"]

ISO_639_1 = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu
    hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb
    lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om
    or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw
    ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
    """.split()  # noqa: SIM905 (a table reads better than 184 quoted strings)
)
"""Every two-letter language code of ISO 639-1."""

_CODE = re.compile(r"^([a-z]{2})(?:-[A-Za-z]{2})?$")
_COMMON = {"ger": "de", "deu": "de", "fre": "fr", "fra": "fr", "spa": "es", "eng": "en", "dk": "da"}


def language_problem(code: object) -> str | None:
    """Why ``code`` is not a language code (``None`` when it is one)."""
    text = str(code)
    match = _CODE.match(text)
    if match is not None and match.group(1) in ISO_639_1:
        return None
    low = text.strip().lower()
    hint = _COMMON.get(low) or (low[:2] if _CODE.match(low) and low[:2] in ISO_639_1 else None)
    if hint is None:
        close = difflib.get_close_matches(low, sorted(ISO_639_1), n=1)
        hint = close[0] if close else None
    tail = f" (did you mean {hint!r}?)" if hint else ""
    return f"unknown language code {text!r}{tail}: use a two-letter ISO 639-1 code such as en, de, fr, es"
