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
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import spacy

from nlp._patterns import BUILTIN, Normalizer
from nlp.types import Entity, EntityPattern, GazetteerEntry

__all__ = ["EntityExtractor", "InvalidPatternError"]

_LOGGER = logging.getLogger(__name__)


class InvalidPatternError(ValueError):
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
        if ruler_patterns:
            nlp = spacy.blank("en")
            ruler: Any = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
            try:
                ruler.add_patterns(ruler_patterns)
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidPatternError(f"invalid token pattern: {exc}") from None
            self._nlp = nlp

    def extract(self, text: str) -> tuple[Entity, ...]:
        """All non-overlapping entities in ``text``, in reading order."""
        found: list[tuple[int, int, int, str, str]] = []  # start, end, priority, type, value
        today = self._today()
        priority = 0
        for type_, compiled, fixed in self._regexes:
            for m in compiled.finditer(text):
                if m.end() > m.start():
                    value = fixed if isinstance(fixed, str) else _group_value(m)
                    found.append((m.start(), m.end(), priority, type_, value))
            priority += 1
        if self._nlp is not None and text.strip():
            doc = self._nlp(text)
            for ent in doc.ents:
                found.append((ent.start_char, ent.end_char, priority, ent.label_, ent.ent_id_ or ent.text))
        priority += 1
        for type_, compiled, normalize in BUILTIN:
            for m in compiled.finditer(text):
                normalized = normalize(m, today)
                if normalized is not None:
                    start, end = _strip_span(text, m.start(), m.end())
                    found.append((start, end, priority, type_, normalized))
            priority += 1
        return _resolve(text, found)


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
