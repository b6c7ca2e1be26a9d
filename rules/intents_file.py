"""The NLU part of the rulebook: intents with examples, entity patterns, sentiment words.

Three files, each optional, each validated with ``file:line`` errors through
:mod:`core.yamlfile` so an admin's typo names its line and the previous model keeps serving:

* ``intents.yml``: ``intents:`` as a list of ``{name, label, clarify, examples}`` (examples as a
  list, or a Rasa-style block of ``- example`` lines; ``label`` is what customers see, read by
  :mod:`rules.labels`), plus optional ``settings.oos_threshold``; an intent
  named ``oos`` or ``out_of_scope`` holds examples of what the bot does *not* handle: the
  model learns them as a class of their own, and a message it puts there is out of scope
  (``out_of_scope: true`` for rules), never an intent;
* ``entities.yml``: ``entities:`` with ``type`` and one of ``regex``, ``tokens`` (spaCy token
  pattern) or ``names`` (a gazetteer);
* ``sentiment.yml``: ``lexicon:`` mapping a word or phrase to a valence in [-4, 4], and
  ``examples:`` with ``complaint`` / ``negative`` / ``neutral`` / ``positive`` lists of messages
  that retrain the sentiment and complaint classifier.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.yamlfile import LineDict, RulebookError, SourceError, line_of, load_yaml, validate
from nlp.types import EntityPattern, GazetteerEntry, SentimentExample, SentimentLabel, TrainingExample
from rules.localized import check_languages

__all__ = [
    "OOS_INTENTS",
    "IntentsFile",
    "NluRulebook",
    "load_entities",
    "load_intents",
    "load_nlu_rulebook",
    "load_sentiment",
    "load_sentiment_file",
]

INTENTS_FILE = "intents.yml"
ENTITIES_FILE = "entities.yml"
SENTIMENT_FILE = "sentiment.yml"
OOS_INTENTS = frozenset({"oos", "out_of_scope"})
"""Intent names whose examples teach the model what is out of scope."""
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Examples = list[str] | str  # a list, or a Rasa block of "- example" lines


class _Intent(_Strict):
    name: str
    # what customers see (rules.labels); per language: {en: ..., de: ...} (rules.localized)
    label: str | dict[str, str] | None = Field(default=None, min_length=1)
    clarify: bool = True  # offered as a clarifying choice (small talk: false)
    examples: Examples | dict[str, Examples] = Field(min_length=1)  # per language: all are learnt

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("intent names start with a letter and use letters, digits, _ . - only")
        return value

    def example_list(self) -> list[str]:
        """Every language's examples, then every language's label (a pressed clarifying button
        sends its label, in the language it was shown in)."""
        groups = self.examples.values() if isinstance(self.examples, dict) else [self.examples]
        texts = [text for group in groups for text in _example_texts(group)]
        if texts:
            labels = self.label.values() if isinstance(self.label, dict) else [self.label or ""]
            texts += [label.strip() for label in labels if label.strip() and label.strip() not in texts]
        return texts


def _example_texts(examples: Examples) -> list[str]:
    if isinstance(examples, str):  # Rasa block: "- example" per line
        lines = (line.strip() for line in examples.splitlines())
        return [line[1:].strip() for line in lines if line.startswith("-") and line[1:].strip()]
    return [str(e).strip() for e in examples if str(e).strip()]


class _IntentSettings(_Strict):
    oos_threshold: float | None = Field(default=None, ge=0.0, le=1.0)


class _IntentsDoc(_Strict):
    settings: _IntentSettings | None = None
    intents: list[_Intent] = Field(min_length=1)


class _Name(_Strict):
    name: str = Field(min_length=1)
    synonyms: list[str] = []


class _Entity(_Strict):
    type: str = Field(min_length=1)
    regex: str | None = None
    tokens: list[dict[str, Any]] | None = None
    names: list[_Name | str] | None = None


class _EntitiesDoc(_Strict):
    entities: list[_Entity] = []


_GROUP_LABELS: dict[str, SentimentLabel] = {
    "complaint": "negative",
    "negative": "negative",
    "neutral": "neutral",
    "positive": "positive",
}


class _SentimentExamples(_Strict):
    complaint: list[str] = []
    negative: list[str] = []
    neutral: list[str] = []
    positive: list[str] = []


class _SentimentDoc(_Strict):
    lexicon: dict[str, float] = {}
    examples: _SentimentExamples | None = None

    @field_validator("lexicon")
    @classmethod
    def _in_range(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not -4.0 <= v <= 4.0]
        if bad:
            raise ValueError(f"valences must be between -4 and 4 (check {', '.join(bad[:3])})")
        return value


@dataclass(frozen=True, slots=True)
class IntentsFile:
    examples: tuple[TrainingExample, ...]
    oos_threshold: float | None = None  # None: fitted during training
    oos_label: str | None = None  # the intent (of OOS_INTENTS) whose examples are out of scope


@dataclass(frozen=True, slots=True)
class NluRulebook:
    """Everything ``nlp`` needs from the rulebook directory."""

    intents: IntentsFile | None
    entity_patterns: tuple[EntityPattern, ...] = ()
    gazetteers: tuple[GazetteerEntry, ...] = ()
    sentiment_lexicon: dict[str, float] | None = None
    sentiment_examples: tuple[SentimentExample, ...] = ()


def load_intents(path: Path) -> IntentsFile:
    """Parse and validate ``intents.yml``.

    Raises:
        RulebookError: with every problem as ``file:line: ...``.
    """
    data = _load(path)
    check_languages(data, str(path), "intents", ("label", "examples"))
    doc = validate(_IntentsDoc, data, filename=str(path), error=RulebookError)
    problems: list[str] = []
    seen: dict[str, int] = {}
    examples: list[TrainingExample] = []
    oos_label: str | None = None
    for i, intent in enumerate(doc.intents):
        line = line_of(data, ("intents", i))
        if intent.name in OOS_INTENTS:
            if oos_label is not None and oos_label != intent.name:
                problems.append(
                    f"{path}:{line}: give out-of-scope examples under one name, {oos_label!r} "
                    f"(line {seen[oos_label]}) or {intent.name!r}, not both"
                )
                continue
            oos_label = intent.name
        if intent.name in seen:
            problems.append(
                f"{path}:{line}: intent {intent.name!r} is defined twice (first at line {seen[intent.name]})"
            )
            continue
        seen[intent.name] = line
        texts = intent.example_list()
        if not texts:
            problems.append(f"{path}:{line}: intent {intent.name!r} has no examples")
        examples.extend(TrainingExample(text=t, intent=intent.name) for t in texts)
    if problems:
        raise RulebookError(problems)
    threshold = doc.settings.oos_threshold if doc.settings else None
    if oos_label is not None and len(seen) < 2:
        problems.append(f"{path}:1: {oos_label!r} examples need at least one real intent besides them")
        raise RulebookError(problems)
    return IntentsFile(examples=tuple(examples), oos_threshold=threshold, oos_label=oos_label)


def load_entities(path: Path) -> tuple[tuple[EntityPattern, ...], tuple[GazetteerEntry, ...]]:
    """Parse ``entities.yml`` into patterns and gazetteer entries; regexes are compiled here."""
    data = _load(path)
    doc = validate(_EntitiesDoc, data, filename=str(path), error=RulebookError)
    patterns: list[EntityPattern] = []
    names: list[GazetteerEntry] = []
    problems: list[str] = []
    for i, entity in enumerate(doc.entities):
        line = line_of(data, ("entities", i))
        given = [k for k in ("regex", "tokens", "names") if getattr(entity, k) is not None]
        if len(given) != 1:
            problems.append(
                f"{path}:{line}: entity {entity.type!r}: give exactly one of regex, tokens, names"
            )
            continue
        if entity.regex is not None:
            try:
                re.compile(entity.regex)
            except re.error as exc:
                problems.append(f"{path}:{line_of(data, ('entities', i, 'regex'))}: invalid regex: {exc}")
                continue
            patterns.append(EntityPattern(type=entity.type, regex=entity.regex))
        elif entity.tokens is not None:
            patterns.append(EntityPattern(type=entity.type, tokens=tuple(entity.tokens)))
        else:
            for item in entity.names or ():
                if isinstance(item, str):
                    names.append(GazetteerEntry(type=entity.type, value=item))
                else:
                    names.append(GazetteerEntry(entity.type, item.name, tuple(item.synonyms)))
    if problems:
        raise RulebookError(problems)
    return tuple(patterns), tuple(names)


def load_sentiment(path: Path) -> dict[str, float]:
    return load_sentiment_file(path)[0]


def load_sentiment_file(path: Path) -> tuple[dict[str, float], tuple[SentimentExample, ...]]:
    """The lexicon and the labelled examples of ``sentiment.yml``.

    Raises:
        RulebookError: invalid shape, an empty example, or one message under two labels.
    """
    data = _load(path)
    doc = validate(_SentimentDoc, data, filename=str(path), error=RulebookError)
    examples: list[SentimentExample] = []
    problems: list[str] = []
    seen: dict[str, tuple[str, int]] = {}
    groups = doc.examples.model_dump() if doc.examples else {}
    for group, texts in groups.items():
        label = _GROUP_LABELS[group]
        for i, text in enumerate(texts):
            line = line_of(data, ("examples", group, i))
            key = " ".join(text.lower().split())
            if not key:
                problems.append(f"{path}:{line}: examples.{group}[{i}]: empty example")
                continue
            first = seen.setdefault(key, (group, line))
            if first[0] != group:
                problems.append(
                    f"{path}:{line}: {text!r} is listed under {group} and under {first[0]} (line {first[1]})"
                )
                continue
            if first[1] == line:
                examples.append(SentimentExample(text.strip(), label, group == "complaint"))
    if problems:
        raise RulebookError(problems)
    return dict(doc.lexicon), tuple(examples)


def load_nlu_rulebook(directory: Path) -> NluRulebook:
    """Load whichever of the three files exist; collects the problems of all of them.

    Raises:
        RulebookError: any file is invalid (all problems, each ``file:line: ...``).
    """
    problems: list[str] = []
    intents: IntentsFile | None = None
    patterns: Sequence[EntityPattern] = ()
    gazetteers: Sequence[GazetteerEntry] = ()
    lexicon: dict[str, float] | None = None
    feelings: tuple[SentimentExample, ...] = ()
    try:
        if (directory / INTENTS_FILE).is_file():
            intents = load_intents(directory / INTENTS_FILE)
    except SourceError as exc:
        problems.extend(exc.problems)
    try:
        if (directory / ENTITIES_FILE).is_file():
            patterns, gazetteers = load_entities(directory / ENTITIES_FILE)
    except SourceError as exc:
        problems.extend(exc.problems)
    try:
        if (directory / SENTIMENT_FILE).is_file():
            lexicon, feelings = load_sentiment_file(directory / SENTIMENT_FILE)
    except SourceError as exc:
        problems.extend(exc.problems)
    if problems:
        raise RulebookError(problems)
    return NluRulebook(intents, tuple(patterns), tuple(gazetteers), lexicon, feelings)


def _load(path: Path) -> Any:
    try:
        data = load_yaml(path)
    except RulebookError:
        raise
    except SourceError as exc:
        raise RulebookError(exc.problems) from None
    if data is None:
        data = LineDict()
        data.line, data.key_lines = 1, {}
    return data
