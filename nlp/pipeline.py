"""The NLP entry point: text in, :class:`~nlp.types.Analysis` out.

Each stage (intents, sentiment, entities, FAQ) is independent and cheap, so one call runs
them all; a message that breaks one stage (a bug we have not met yet) still gets the other
three and a log line, because a customer message must never fail the conversation flow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import TypeVar

from nlp.entities import EntityExtractor
from nlp.faq import FaqMatcher
from nlp.intent_model import IntentModel, IntentResult
from nlp.sentiment import SentimentAnalyzer
from nlp.text import MAX_CHARS, clean
from nlp.types import (
    Analysis,
    AnalysisContext,
    Entity,
    EntityPattern,
    FaqCandidate,
    FaqEntry,
    GazetteerEntry,
    Sentiment,
)

__all__ = ["Pipeline"]

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
_NO_INTENT = IntentResult((), True)


class Pipeline:
    """Turns one message into an :class:`Analysis`; thread-safe, synchronous, never raises.

    Args:
        faqs: FAQ entries to match against.
        model: trained intent model; without one, every message is out of scope.
        sentiment_lexicon: admin words/phrases → valence (about -4..4) on top of the built-in lexicon.
        entity_patterns: admin entity patterns (regex or spaCy token patterns).
        gazetteers: known names (products) with synonyms.
        intent_limit: how many ranked intents to report.
        max_chars: analyse at most this many leading characters.
        today: clock for relative dates; injectable for tests.

    Raises:
        nlp.entities.InvalidPatternError: an admin entity pattern does not compile.
    """

    def __init__(
        self,
        *,
        faqs: Iterable[FaqEntry] = (),
        model: IntentModel | None = None,
        sentiment_lexicon: Mapping[str, float] | None = None,
        entity_patterns: Iterable[EntityPattern] = (),
        gazetteers: Iterable[GazetteerEntry] = (),
        intent_limit: int = 5,
        max_chars: int = MAX_CHARS,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._faq = FaqMatcher(faqs)
        self._model = model
        self._sentiment = SentimentAnalyzer(extra=sentiment_lexicon)
        self._entities = EntityExtractor(patterns=entity_patterns, gazetteers=gazetteers, today=today)
        self._intent_limit = intent_limit
        self._max_chars = max_chars

    @property
    def model(self) -> IntentModel | None:
        return self._model

    def with_model(self, model: IntentModel | None) -> Pipeline:
        """A pipeline sharing everything but the intent model (for hot swaps after retraining).

        The server keeps serving ``self`` until it replaces its reference with the result, so
        in-flight messages finish on the old model.
        """
        clone = object.__new__(Pipeline)
        clone.__dict__.update(self.__dict__)
        clone._model = model
        return clone

    def analyze(self, text: str, context: AnalysisContext) -> Analysis:
        if not isinstance(text, str):  # defensive: a connector bug must not crash the flow
            text = "" if text is None else str(text)
        body = clean(text, max_chars=self._max_chars)
        intents = self._intents(body)
        return Analysis(
            text=text,
            language=context.language or "en",
            intents=intents.intents,
            out_of_scope=intents.out_of_scope,
            sentiment=self._stage("sentiment", self._sentiment.score, body, Sentiment.neutral()),
            entities=self._stage("entities", self._entities.extract, body, _NO_ENTITIES),
            faq=self._stage("faq", self._faq.match, body, _NO_FAQ),
            model_version=self._model.version if self._model is not None else None,
        )

    def _intents(self, body: str) -> IntentResult:
        if self._model is None or not any(ch.isalnum() for ch in body):
            return _NO_INTENT
        model = self._model
        return self._stage("intents", lambda t: model.predict(t, limit=self._intent_limit), body, _NO_INTENT)

    @staticmethod
    def _stage(name: str, fn: Callable[[str], T], body: str, fallback: T) -> T:
        try:
            return fn(body)
        except Exception:
            _LOGGER.exception("nlp stage %s failed; using an empty result", name)
            return fallback


_NO_ENTITIES: tuple[Entity, ...] = ()
_NO_FAQ: tuple[FaqCandidate, ...] = ()
