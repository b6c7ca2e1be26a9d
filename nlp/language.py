"""Which language a message is written in, when its text says so clearly enough.

Detection uses Lingua (``lingua-language-detector``: n-gram models for 75 languages, shipped in
the wheel; nothing is downloaded). It chooses only among the languages that matter: the
detectable defaults (:data:`DEFAULT_LANGUAGES`) plus the rulebook's default language and the
languages its responses are written in. Fewer candidates are faster, lighter and more accurate.

Short texts carry little evidence: "ok", "T-1042" or an order number fit every language about
equally. Such a text gets no language (``None``) rather than a wrong one:

- tokens with a digit, ``@`` or ``/`` (order and ticket references, emails, links) are dropped;
  fewer than :data:`MIN_LETTERS` letters left: no language;
- Lingua must put its best language at least :data:`MIN_RELATIVE_DISTANCE` ahead of the next one
  (its *minimum relative distance*), otherwise it answers no language.

Lingua runs in high-accuracy mode: the low-accuracy mode, three times faster, called short
English messages ("where is my order 12345?") German with confidence. The models (about 33 MB
of memory per language) are loaded once per process, on the first detection or on
:meth:`LanguageDetector.warm`, and shared by every detector of the same languages, so a
rulebook reload costs nothing here. A detector pickles as its language codes.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import lingua

__all__ = [
    "DEFAULT_LANGUAGES",
    "MIN_LETTERS",
    "MIN_RELATIVE_DISTANCE",
    "LanguageDetector",
    "primary_language",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl")
"""Always detectable, whatever the rulebook is written in."""

MIN_RELATIVE_DISTANCE = 0.2
"""Lingua's minimum relative distance. On 120 short support messages in the eight default
languages and 15 texts that tell nothing ("ok", "T-1042", "thx", an email address), with the
letter count below: no wrong language at 0.15, 0.2 or 0.25, and 5, 7 or 9 messages without
one ("the zipper is broken"); without it, 0.1 called "ok" Polish and "thx" French."""

MIN_LETTERS = 4
"""Fewer letters than this (after dropping references): no language ("ok", "hi", "thx")."""

_MAX_CHARS = 400  # enough evidence; a pasted log or a long mail costs no more than this
_NOT_WORDS = re.compile(r"\S*[\d@/]\S*")  # references, emails, links, amounts
_LOCK = threading.Lock()
_BUILT: dict[tuple[frozenset[str], float], lingua.LanguageDetector] = {}  # per process


def primary_language(tag: str | None) -> str | None:
    """``"de-DE"`` → ``"de"``, ``"pt_BR"`` → ``"pt"``; ``None`` or nonsense → ``None``."""
    if not tag:
        return None
    head = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return head if len(head) in (2, 3) and head.isalpha() and head.isascii() else None


class LanguageDetector:
    """``detect(text)``: the text's ISO 639-1 code among ``languages``, or ``None``.

    Args:
        languages: ISO 639-1 codes (``"de"``, or tags such as ``"pt-BR"``); codes Lingua does
            not know are left out (logged once). Fewer than two: nothing is ever detected.
        min_relative_distance: see :data:`MIN_RELATIVE_DISTANCE`.
    """

    def __init__(
        self, languages: Iterable[str], *, min_relative_distance: float = MIN_RELATIVE_DISTANCE
    ) -> None:
        codes = {code for code in (primary_language(tag) for tag in languages) if code}
        known = frozenset(code for code in codes if _lingua_language(code) is not None)
        if codes - known:
            _LOGGER.info("language detection does not know %s; left out", ", ".join(sorted(codes - known)))
        self.languages = tuple(sorted(known))
        self.min_relative_distance = min_relative_distance
        self._key = (known, min_relative_distance)
        self._detector: lingua.LanguageDetector | None = None

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled as its codes: the models are loaded in the process that detects."""
        return (_rebuild, (self.languages, self.min_relative_distance))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LanguageDetector) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    @property
    def enabled(self) -> bool:
        return len(self.languages) >= 2

    @property
    def cold(self) -> bool:
        """True while this process has not loaded the models yet (the first detection would)."""
        return self.enabled and self._detector is None and self._key not in _BUILT

    def warm(self) -> None:
        """Load the models now (about two seconds for eight languages) instead of on first use."""
        if self.enabled:
            self._lingua()

    def detect(self, text: str) -> str | None:
        if not self.enabled:
            return None
        words = _NOT_WORDS.sub(" ", text[:_MAX_CHARS])
        if sum(1 for ch in words if ch.isalpha()) < MIN_LETTERS:
            return None
        found = self._lingua().detect_language_of(words)
        return found.iso_code_639_1.name.lower() if found is not None else None

    def detect_many(self, texts: Sequence[str]) -> list[str | None]:
        return [self.detect(text) for text in texts]

    def _lingua(self) -> lingua.LanguageDetector:
        detector = self._detector
        if detector is None:
            with _LOCK:  # one load per process, however many threads ask at once
                detector = _BUILT.get(self._key)
                if detector is None:
                    detector = _BUILT[self._key] = _build(self.languages, self.min_relative_distance)
            self._detector = detector
        return detector


def _build(codes: Sequence[str], distance: float) -> lingua.LanguageDetector:
    from lingua import LanguageDetectorBuilder

    languages = [language for language in map(_lingua_language, codes) if language is not None]
    return (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_minimum_relative_distance(distance)
        .with_preloaded_language_models()
        .build()
    )


def _lingua_language(code: str) -> lingua.Language | None:
    from lingua import IsoCode639_1, Language

    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
    except ValueError:
        return None


def _rebuild(languages: tuple[str, ...], distance: float) -> LanguageDetector:
    return LanguageDetector(languages, min_relative_distance=distance)
