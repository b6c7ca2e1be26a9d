"""Entity extraction: built-in types by regular expression, admin types through spaCy.

Emails, phone numbers, money, dates and order/ticket references have rigid shapes that a
regular expression states more precisely than a token pattern. Admin-defined gazetteers
(product names) and token patterns go into a spaCy ``EntityRuler`` on a blank English
pipeline, which matches case-insensitively on tokens, so "iphone 15" does not fire inside
"iphone 150". Overlaps are resolved longest-first, so "order 12345" is one order reference
and not also a phone number.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

import spacy

from core.errors import FrontdeskError
from nlp._patterns import BUILTIN, NEEDS_AT, NEEDS_DIGIT, Normalizer
from nlp.types import Entity, EntityPattern, GazetteerEntry

__all__ = ["EntityExtractor", "InvalidPatternError"]

_LOGGER = logging.getLogger(__name__)
_DIGIT = re.compile(r"\d")  # the same digits as the built-in expressions' \d


class InvalidPatternError(FrontdeskError, ValueError):
    """An admin pattern cannot be compiled; the message names the entity type."""


class EntityExtractor:
    """Finds entities in text; safe on any input and cheap when there are no admin patterns.

    Args:
        patterns: admin entity patterns (regex or spaCy token patterns).
        gazetteers: known names with synonyms, matched case-insensitively on whole tokens.
        today: clock for relative dates ("tomorrow"); injectable for tests.

    Raises:
        InvalidPatternError: a regex or token pattern is invalid.
    """

    def __init__(
        self,
        *,
        patterns: Iterable[EntityPattern] = (),
        gazetteers: Iterable[GazetteerEntry] = (),
        today: Callable[[], date] = date.today,
    ) -> None:
        self._today = today
        self._regexes: list[tuple[str, re.Pattern[str], Normalizer | str | None]] = []
        ruler_patterns: list[dict[str, Any]] = []
        for pattern in patterns:
            if pattern.regex is not None:
                try:
                    compiled = re.compile(pattern.regex)
                except re.error as exc:
                    raise InvalidPatternError(f"entity {pattern.type!r}: invalid regex: {exc}") from None
                self._regexes.append((pattern.type, compiled, pattern.value))
            elif pattern.tokens:
                entry: dict[str, Any] = {"label": pattern.type, "pattern": [dict(t) for t in pattern.tokens]}
                if pattern.value:
                    entry["id"] = pattern.value
                ruler_patterns.append(entry)
        for gaz in gazetteers:
            for name in (gaz.value, *gaz.synonyms):
                if name.strip():
                    ruler_patterns.append({"label": gaz.type, "pattern": name, "id": gaz.value})
        self._nlp: Any = None
        self._needles: re.Pattern[str] | None = None
        if ruler_patterns:
            nlp = spacy.blank("en")
            ruler: Any = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
            try:
                ruler.add_patterns(ruler_patterns)
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidPatternError(f"invalid token pattern: {exc}") from None
            self._nlp = nlp
            self._needles = _needles(nlp, ruler_patterns)

    def extract(self, text: str) -> tuple[Entity, ...]:
        """All non-overlapping entities in ``text``, in reading order."""
        return self._extract(text, _spans(self._nlp(text)) if self._needs_spacy(text) else ())

    def extract_many(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        """``[extract(t) for t in texts]``, running spaCy once (``nlp.pipe``) over those that need it."""
        need = [i for i, text in enumerate(texts) if self._needs_spacy(text)]
        spans: dict[int, list[_Found]] = {}
        if need:
            docs = self._nlp.pipe([texts[i] for i in need])
            spans = {i: _spans(doc) for i, doc in zip(need, docs, strict=True)}
        return [self._extract(text, spans.get(i, ())) for i, text in enumerate(texts)]

    def _needs_spacy(self, text: str) -> bool:
        """Whether the ruler could find anything: blank text or no needle means it cannot."""
        if self._nlp is None or not text.strip():
            return False
        return self._needles is None or self._needles.search(text.lower()) is not None

    def _extract(self, text: str, ruler_spans: Sequence[_Found]) -> tuple[Entity, ...]:
        found: list[_Found] = []  # start, end, priority, type, value
        today = self._today()
        priority = 0
        for type_, compiled, fixed in self._regexes:
            for m in compiled.finditer(text):
                if m.end() > m.start():
                    value = fixed if isinstance(fixed, str) else _group_value(m)
                    found.append((m.start(), m.end(), priority, type_, value))
            priority += 1
        found.extend((start, end, priority, label, value) for start, end, _, label, value in ruler_spans)
        priority += 1
        digits = _DIGIT.search(text) is not None
        for type_, compiled, normalize in BUILTIN:
            if (not digits and type_ in NEEDS_DIGIT) or (type_ in NEEDS_AT and "@" not in text):
                priority += 1  # cannot match (see nlp._patterns); scanning is most of the cost
                continue
            for m in compiled.finditer(text):
                normalized = normalize(m, today)
                if normalized is not None:
                    start, end = _strip_span(text, m.start(), m.end())
                    found.append((start, end, priority, type_, normalized))
            priority += 1
        return _resolve(text, found)


_Found = tuple[int, int, int, str, str]


def _spans(doc: Any) -> list[_Found]:
    return [(ent.start_char, ent.end_char, 0, ent.label_, ent.ent_id_ or ent.text) for ent in doc.ents]


def _needles(nlp: Any, ruler_patterns: list[dict[str, Any]]) -> re.Pattern[str] | None:
    """What a message must contain, lower-cased, for the ruler to match anything in it.

    Every match starts at a token whose ``lower_`` equals the pattern's first token: the first
    token of a phrase pattern (tokenized as the ruler does), or the ``LOWER`` value of a token
    pattern's first, non-optional token. ``lower_`` is ``str.lower()`` of the token's text, and
    that text is a slice of the message, so the needle occurs in ``message.lower()`` (lower-casing
    is per character except for Greek capital sigma, hence no prefilter for needles with a sigma).
    ``None``: some pattern could start anywhere (``OP``, ``IN``, ``IS_DIGIT``, ...), so spaCy
    always runs.
    """
    firsts: set[str] = set()
    for entry in ruler_patterns:
        pattern = entry["pattern"]
        if isinstance(pattern, str):
            doc = nlp.make_doc(pattern)
            if len(doc) == 0:
                return None
            firsts.add(doc[0].lower_)
            continue
        spec = {str(key).upper(): value for key, value in pattern[0].items()} if pattern else {}
        value = spec.get("LOWER")
        if "OP" in spec or not isinstance(value, str):
            return None
        firsts.add(value)
    if any(not first or "\u03c3" in first or "\u03c2" in first for first in firsts):  # small sigmas
        return None
    return re.compile("|".join(re.escape(first) for first in sorted(firsts)))


def _group_value(m: re.Match[str]) -> str:
    if "value" in m.re.groupindex and m.group("value"):
        return m.group("value")
    return m.group(0)


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1] in " \t\n.,":
        end -= 1
    return start, end


def _resolve(text: str, found: list[tuple[int, int, int, str, str]]) -> tuple[Entity, ...]:
    """Keep the longest match at each place; on equal length the higher-priority type wins."""
    taken: list[tuple[int, int]] = []
    kept: list[Entity] = []
    for start, end, _prio, type_, value in sorted(found, key=lambda f: (f[0] - f[1], f[2], f[0])):
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        taken.append((start, end))
        kept.append(Entity(type=type_, text=text[start:end], value=value, start=start, end=end))
    return tuple(sorted(kept, key=lambda e: e.start))
