"""Value types of the NLP stage.

These are the whole contract between ``nlp`` and its callers: the rule engine reads an
:class:`Analysis`, the bot passes an :class:`AnalysisContext`, and the rulebook loader hands
in :class:`FaqEntry` / :class:`TrainingExample` values. Everything is frozen so that one
analysis can be shared by every rule without anyone writing into it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = [
    "Analysis",
    "AnalysisContext",
    "Analyzer",
    "Entity",
    "EntityPattern",
    "FaqCandidate",
    "FaqEntry",
    "FaqTranslation",
    "GazetteerEntry",
    "IntentScore",
    "Sentiment",
    "SentimentExample",
    "SentimentLabel",
    "TrainingExample",
]

SentimentLabel = Literal["negative", "neutral", "positive"]


@dataclass(frozen=True, slots=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Sentiment:
    score: float  # in [-1, 1]
    label: SentimentLabel

    @classmethod
    def neutral(cls) -> Sentiment:
        return cls(score=0.0, label="neutral")


@dataclass(frozen=True, slots=True)
class Entity:
    type: str  # "email", "phone", "money", "date", "order_ref", "ticket_ref", or an admin type
    text: str  # exactly as written in the message
    value: str  # normalized (lower-cased email, E.164-ish phone, ISO date, "12.50 EUR", ...)
    start: int  # character offsets into Analysis.text
    end: int


@dataclass(frozen=True, slots=True)
class EntityPattern:
    """An admin-defined entity type, written as a regular expression or a spaCy token pattern.

    Exactly one of ``regex`` and ``tokens`` is set. ``value`` fixes the normalized value
    (otherwise it is the matched text, or the ``value`` group of the regex when it has one).
    """

    type: str
    regex: str | None = None
    tokens: tuple[Mapping[str, Any], ...] | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    """One known name (a product, a store) and the ways customers write it."""

    type: str
    value: str  # canonical name, used as Entity.value
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One FAQ: its questions and ``examples`` (paraphrases, matched the same way) and answer.

    ``label`` is what a customer sees when the FAQ is offered as a choice (never its id). These
    four are in ``language`` (``""``: written plainly, in the rulebook's default language);
    ``translations`` holds the FAQ in the other languages the rulebook writes it in.
    """

    id: str
    questions: tuple[str, ...]
    answer: str
    label: str = ""
    examples: tuple[str, ...] = ()
    language: str = ""
    translations: tuple[FaqTranslation, ...] = ()

    def variants(self) -> list[tuple[str, str]]:
        """``(language, text)`` of every question and example, this entry's own first."""
        own = [(self.language, text) for text in (*self.questions, *self.examples)]
        return own + [(t.language, text) for t in self.translations for text in (*t.questions, *t.examples)]

    def answers(self) -> dict[str, str]:
        """The answer per language (a translation without one keeps the default's)."""
        return {self.language: self.answer} | {t.language: t.answer for t in self.translations if t.answer}

    def labels(self) -> dict[str, str]:
        """The label per language (a translation without one keeps the default's)."""
        return {self.language: self.label} | {t.language: t.label for t in self.translations if t.label}


@dataclass(frozen=True, slots=True)
class FaqTranslation:
    """An FAQ's texts in one more language; an empty field falls back to the default language's."""

    language: str
    questions: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    answer: str = ""
    label: str = ""


@dataclass(frozen=True, slots=True)
class FaqCandidate:
    faq_id: str
    question: str  # the variant that matched best
    answer: str
    score: float  # in [0, 1]


@dataclass(frozen=True, slots=True)
class TrainingExample:
    text: str
    intent: str


@dataclass(frozen=True, slots=True)
class SentimentExample:
    """A labelled message for the sentiment and complaint classifier (a complaint is negative)."""

    text: str
    label: SentimentLabel
    complaint: bool = False


@dataclass(frozen=True, slots=True)
class AnalysisContext:
    channel: str = "webchat"
    language: str | None = None  # the channel's hint (Telegram's language_code, the browser's)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the NLP stage understood of one message; never mutated after creation."""

    text: str
    # The message's language: detected, else the channel's hint, else the rulebook's default.
    language: str = "en"
    intents: tuple[IntentScore, ...] = ()  # ranked, best first
    out_of_scope: bool = True  # no intent above the confidence threshold
    sentiment: Sentiment = field(default_factory=Sentiment.neutral)
    entities: tuple[Entity, ...] = ()
    faq: tuple[FaqCandidate, ...] = ()  # ranked, best first
    model_version: str | None = None
    complaint: bool = False  # the customer complains (about us), not merely sounds negative
    complaint_confidence: float = 0.0  # the classifier's probability of a complaint, 0..1
    detected_language: str | None = None  # what the text alone says (nlp/language.py); None: unsure

    @property
    def intent(self) -> IntentScore | None:
        """The top intent, or ``None`` when the message is out of scope."""
        if self.out_of_scope or not self.intents:
            return None
        return self.intents[0]

    @property
    def best_faq(self) -> FaqCandidate | None:
        return self.faq[0] if self.faq else None

    def entities_of(self, type_: str) -> Sequence[Entity]:
        return [e for e in self.entities if e.type == type_]


class Analyzer(Protocol):
    """Anything that turns text into an Analysis. Pure CPU work: synchronous on purpose."""

    def analyze(self, text: str, context: AnalysisContext) -> Analysis: ...
