"""The NLP entry point: text in, :class:`~nlp.types.Analysis` out.

Each stage (intents, sentiment, entities, FAQ) is independent and cheap, so one call runs
them all; a message that breaks one stage (a bug we have not met yet) still gets the other
three and a log line, because a customer message must never fail the conversation flow.

:meth:`Pipeline.analyze_many` gives exactly what ``analyze`` gives item by item, at a lower
cost per message: worker processes analyse batches, and fixed costs (one rapidfuzz call per
scorer, one ``nlp.pipe``, one vectorised softmax) are paid once per batch. A pipeline pickles as
its constructor inputs, so a worker rebuilds it instead of unpickling spaCy objects and caches.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from nlp.entities import EntityExtractor
from nlp.faq import FaqMatcher
from nlp.faq_similarity import DEFAULT_FUZZY_THRESHOLD, DEFAULT_SIMILARITY_THRESHOLD
from nlp.intent_model import IntentModel, IntentResult
from nlp.language import DEFAULT_LANGUAGES, LanguageDetector, primary_language
from nlp.sentiment import SentimentAnalyzer
from nlp.sentiment_model import SentimentModel, default_model
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
B = TypeVar("B")  # what a stage reads of a message: its text, or its text and languages
_NO_INTENT = IntentResult((), True)
_NEUTRAL = Sentiment.neutral()
_CALM = (_NEUTRAL, False, 0.0)  # sentiment, complaint, complaint confidence
_ALNUM = re.compile(r"[^\W_]")  # a character for which str.isalnum() is true (pinned by a test)


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What a pipeline is built from, minus the model: pickled instead of the built stages."""

    faqs: tuple[FaqEntry, ...]
    sentiment_lexicon: dict[str, float] | None
    entity_patterns: tuple[EntityPattern, ...]
    gazetteers: tuple[GazetteerEntry, ...]
    intent_limit: int
    max_chars: int
    today: Callable[[], date]
    faq_thresholds: tuple[float, float] = (DEFAULT_FUZZY_THRESHOLD, DEFAULT_SIMILARITY_THRESHOLD)
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    default_language: str = "en"


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
        today: clock for relative dates; injectable for tests (a module-level function or
            ``date.today`` if the pipeline is to be pickled).
        sentiment_model: trained sentiment and complaint classifier (see
            :func:`nlp.sentiment_model.train_sentiment`); ``None``: the shipped default.
        faq_thresholds: the fuzzy ratio and the cosine picked on a dev split (faq.yml
            ``settings``; ``frontdesk nlu evaluate --task faq``), both mapped to the answer point.
        languages: the languages detection chooses from (:mod:`nlp.language`); empty: none.
        default_language: the message's language when neither detection nor the channel's hint
            (``AnalysisContext.language``) gives one.

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
        sentiment_model: SentimentModel | None = None,
        faq_thresholds: tuple[float, float] = (DEFAULT_FUZZY_THRESHOLD, DEFAULT_SIMILARITY_THRESHOLD),
        languages: Iterable[str] = DEFAULT_LANGUAGES,
        default_language: str = "en",
    ) -> None:
        self._inputs = _Inputs(
            faqs=tuple(faqs),
            sentiment_lexicon=dict(sentiment_lexicon) if sentiment_lexicon is not None else None,
            entity_patterns=tuple(entity_patterns),
            gazetteers=tuple(gazetteers),
            intent_limit=intent_limit,
            max_chars=max_chars,
            today=today,
            faq_thresholds=faq_thresholds,
            languages=tuple(languages),
            default_language=default_language,
        )
        fuzzy, similar = faq_thresholds
        self._faq = FaqMatcher(
            self._inputs.faqs,
            fuzzy_threshold=fuzzy,
            similarity_threshold=similar,
            default_language=default_language,
        )
        self._model = model
        self._sentiment = SentimentAnalyzer(extra=self._inputs.sentiment_lexicon)
        self._feelings = sentiment_model or default_model()
        self._entities = EntityExtractor(
            patterns=self._inputs.entity_patterns, gazetteers=self._inputs.gazetteers, today=today
        )
        self._intent_limit = intent_limit
        self._max_chars = max_chars
        self._detector = LanguageDetector((*self._inputs.languages, default_language))
        self._default_language = default_language

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the constructor inputs; unpickling builds the stages afresh (spaCy included)."""
        return (_rebuild, (self._inputs, self._model, self._feelings))

    @property
    def model(self) -> IntentModel | None:
        return self._model

    @property
    def faq_matcher(self) -> FaqMatcher:
        return self._faq

    @property
    def sentiment_model(self) -> SentimentModel:
        return self._feelings

    @property
    def language_detector(self) -> LanguageDetector:
        return self._detector

    @property
    def cold(self) -> bool:
        """True while this process has not loaded the language models (see :meth:`warm`)."""
        return self._detector.cold

    def warm(self) -> None:
        """Load what the first message would otherwise load (the language models, seconds)."""
        self._detector.warm()

    def _faq_languages(self, detected: str | None, hint: str | None) -> tuple[str, ...]:
        """The FAQ variants a message is compared with: its detected language's, else those of
        the channel's hint and the default language (a short text may be either)."""
        if detected is not None:
            return (detected,)
        return (self._default_language,) if hint is None else (hint, self._default_language)

    def _match_faq(self, asked: tuple[str, tuple[str, ...]]) -> tuple[FaqCandidate, ...]:
        body, languages = asked
        return self._faq.match(body, languages=languages)

    def _match_faqs(self, asked: Sequence[tuple[str, tuple[str, ...]]]) -> list[tuple[FaqCandidate, ...]]:
        bodies = [body for body, _ in asked]
        return self._faq.match_many(bodies, languages=[languages for _, languages in asked])

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
        model = self._model
        intents = _NO_INTENT
        if model is not None and _ALNUM.search(body):
            intents = self._stage("intents", self._predict, body, _NO_INTENT)
        sentiment, complaint, complaint_confidence = self._stage("sentiment", self._feel, body, _CALM)
        detected = self._stage("language", self._detector.detect, body, None)
        searched = self._faq_languages(detected, primary_language(context.language))
        return Analysis(
            text=text,
            language=detected or primary_language(context.language) or self._default_language,
            detected_language=detected,
            intents=intents.intents,
            out_of_scope=intents.out_of_scope,
            sentiment=sentiment,
            entities=self._stage("entities", self._entities.extract, body, _NO_ENTITIES),
            faq=self._stage("faq", self._match_faq, (body, searched), _NO_FAQ),
            model_version=model.version if model is not None else None,
            complaint=complaint,
            complaint_confidence=complaint_confidence,
        )

    def analyze_many(self, items: Sequence[tuple[str, AnalysisContext]]) -> list[Analysis]:
        """``[self.analyze(text, context) for text, context in items]``, cheaper per message.

        Stages run batched; if a batched stage raises, that stage is redone message by message,
        so a message that breaks it gets the stage's empty result and the others are unaffected.
        """
        texts = [text if isinstance(text, str) else ("" if text is None else str(text)) for text, _ in items]
        hints = [primary_language(context.language) for _, context in items]
        bodies = [clean(text, max_chars=self._max_chars) for text in texts]
        model = self._model
        intents = [_NO_INTENT] * len(bodies)
        if model is not None:
            live = [i for i, body in enumerate(bodies) if _ALNUM.search(body)]
            predicted = self._batched(
                "intents", self._predict_each, self._predict, [bodies[i] for i in live], _NO_INTENT
            )
            for i, result in zip(live, predicted, strict=True):
                intents[i] = result
        feelings = [self._stage("sentiment", self._feel, body, _CALM) for body in bodies]
        entities = self._batched(
            "entities", self._entities.extract_many, self._entities.extract, bodies, _NO_ENTITIES
        )
        detected = self._batched("language", self._detector.detect_many, self._detector.detect, bodies, None)
        searched = [self._faq_languages(found, hint) for found, hint in zip(detected, hints, strict=True)]
        asked = list(zip(bodies, searched, strict=True))
        faqs = self._batched("faq", self._match_faqs, self._match_faq, asked, _NO_FAQ)
        version = model.version if model is not None else None
        return [
            Analysis(
                text=text,
                language=found or hint or self._default_language,
                detected_language=found,
                intents=intent.intents,
                out_of_scope=intent.out_of_scope,
                sentiment=feeling[0],
                entities=entities_found,
                faq=faq,
                model_version=version,
                complaint=feeling[1],
                complaint_confidence=feeling[2],
            )
            for text, hint, found, intent, feeling, entities_found, faq in zip(
                texts, hints, detected, intents, feelings, entities, faqs, strict=True
            )
        ]

    def _feel(self, body: str) -> tuple[Sentiment, bool, float]:
        """The classifier's sentiment and complaint, with the lexicon score as one of its inputs."""
        return self._feelings.predict(body, self._sentiment.score(body))

    def _predict(self, body: str) -> IntentResult:
        assert self._model is not None
        return self._model.predict(body, limit=self._intent_limit)

    def _predict_each(self, bodies: Sequence[str]) -> list[IntentResult]:
        assert self._model is not None
        return self._model.predict_each(bodies, limit=self._intent_limit)

    @staticmethod
    def _stage(name: str, fn: Callable[[B], T], body: B, fallback: T) -> T:
        try:
            return fn(body)
        except Exception:
            _LOGGER.exception("nlp stage %s failed; using an empty result", name)
            return fallback

    @classmethod
    def _batched(
        cls,
        name: str,
        many: Callable[[Sequence[B]], list[T]],
        one: Callable[[B], T],
        bodies: list[B],
        fallback: T,
    ) -> list[T]:
        """``many(bodies)``, or ``one`` per body (each with its own fallback) if the batch fails."""
        if len(bodies) > 1:
            try:
                results = many(bodies)
                if len(results) == len(bodies):
                    return results
                _LOGGER.error(
                    "nlp stage %s returned %d results for %d messages", name, len(results), len(bodies)
                )
            except Exception:
                _LOGGER.exception("batched nlp stage %s failed; retrying message by message", name)
        return [cls._stage(name, one, body, fallback) for body in bodies]


def _rebuild(inputs: _Inputs, model: IntentModel | None, feelings: SentimentModel | None = None) -> Pipeline:
    """Unpickling: a pipeline built from what the pickled one was built from."""
    return Pipeline(
        faqs=inputs.faqs,
        model=model,
        sentiment_lexicon=inputs.sentiment_lexicon,
        entity_patterns=inputs.entity_patterns,
        gazetteers=inputs.gazetteers,
        intent_limit=inputs.intent_limit,
        max_chars=inputs.max_chars,
        today=inputs.today,
        sentiment_model=feelings,
        faq_thresholds=inputs.faq_thresholds,
        languages=inputs.languages,
        default_language=inputs.default_language,
    )


_NO_ENTITIES: tuple[Entity, ...] = ()
_NO_FAQ: tuple[FaqCandidate, ...] = ()
