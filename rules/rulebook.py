"""Loading the rulebook directory into one immutable :class:`Rulebook`.

Files (all optional but ``faq.yml``): ``faq.yml`` (question variants and examples → answer,
each with a customer-facing ``label``; a missing label is a warning, see :mod:`rules.labels`) and
``responses.yml`` (the bot's own texts, several variants each). A broken file raises
:class:`~core.yamlfile.RulebookError` with ``file:line`` problems; the caller keeps serving
the previous rulebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.yamlfile import RulebookError, line_of, load_yaml, validate
from nlp.faq_similarity import DEFAULT_FUZZY_THRESHOLD, DEFAULT_SIMILARITY_THRESHOLD
from nlp.types import FaqEntry
from rules.labels import fallback_label

__all__ = ["DEFAULT_RESPONSES", "Rulebook", "load_rulebook"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_][a-z0-9_-]*$", max_length=64)]

DEFAULT_RESPONSES: dict[str, tuple[str, ...]] = {
    "fallback_new_ticket": (
        "I'm not sure I can answer that myself, so I've passed it to our team as ticket {ticket}. "
        "Someone will reply right here.",
    ),
    "fallback_existing_ticket": (
        "Thanks, I've added that to your ticket {ticket}. Our team will reply right here.",
    ),
    "clarify": ("I'm not quite sure what you mean. Is it one of these?",),
    "reply_limit": ("I've passed our conversation to a member of our team, who will reply right here.",),
    "handed_off": ("A member of our team has your conversation and will reply here shortly.",),
    "internal_error": (
        "Sorry, something went wrong on our side. Please try again in a moment (reference {reference}).",
    ),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Faq(_Strict):
    id: Slug
    label: Text | None = None
    questions: list[Text] = Field(min_length=1)
    examples: list[Text] = []
    answer: Text


class _FaqSettings(_Strict):
    fuzzy_threshold: float = Field(DEFAULT_FUZZY_THRESHOLD, gt=0, lt=1)
    similarity_threshold: float = Field(DEFAULT_SIMILARITY_THRESHOLD, gt=0, lt=1)


class _FaqFile(_Strict):
    settings: _FaqSettings = _FaqSettings()
    faq: list[_Faq]


Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")]


class _ResponsesFile(_Strict):
    responses: dict[Slug, list[Text] | dict[Language, list[Text]]]


@dataclass(frozen=True, slots=True)
class Rulebook:
    """``responses`` holds each text's variants in the default (first-listed) language;
    ``localized`` has them per language (``""`` when a response is not split by language)."""

    faqs: tuple[FaqEntry, ...]
    responses: MappingProxyType[str, tuple[str, ...]]
    source: Path
    localized: MappingProxyType[str, MappingProxyType[str, tuple[str, ...]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    faq_thresholds: tuple[float, float] = (DEFAULT_FUZZY_THRESHOLD, DEFAULT_SIMILARITY_THRESHOLD)
    warnings: tuple[str, ...] = ()  # ``file:line: ...`` that do not stop the rulebook loading


def load_rulebook(directory: Path) -> Rulebook:
    faq_path = directory / "faq.yml"
    if not faq_path.is_file():
        raise RulebookError(
            [f"{faq_path}:0: file not found (every rulebook needs a faq.yml; see docs/rulebook.md)"]
        )
    faq_data = load_yaml(faq_path)
    faq_file = validate(_FaqFile, faq_data, filename=str(faq_path), error=RulebookError)
    problems = []
    warnings = []
    seen: set[str] = set()
    for i, entry in enumerate(faq_file.faq):
        if entry.id in seen:
            problems.append(
                f"{faq_path}:{line_of(faq_data, ('faq', i, 'id'))}: faq id {entry.id!r} is used twice"
            )
        seen.add(entry.id)
        if entry.label is None:
            warnings.append(
                f"{faq_path}:{line_of(faq_data, ('faq', i))}: faq {entry.id!r} has no label: customers "
                f"see its first question {fallback_label(entry.questions)!r} where it is offered "
                "(add `label:`)"
            )
    if problems:
        raise RulebookError(problems)
    localized = {k: MappingProxyType({"": v}) for k, v in DEFAULT_RESPONSES.items()}
    responses_path = directory / "responses.yml"
    if responses_path.is_file():
        data = load_yaml(responses_path)
        parsed = validate(_ResponsesFile, data, filename=str(responses_path), error=RulebookError)
        for key, value in parsed.responses.items():
            by_language = (
                {lang: tuple(v) for lang, v in value.items() if v}
                if isinstance(value, dict)
                else ({"": tuple(value)} if value else {})
            )
            if by_language:
                localized[key] = MappingProxyType(by_language)
    responses = {key: next(iter(by_language.values())) for key, by_language in localized.items()}
    faqs = tuple(
        FaqEntry(
            e.id, tuple(e.questions), e.answer, e.label or fallback_label(e.questions), tuple(e.examples)
        )
        for e in faq_file.faq
    )
    settings = faq_file.settings
    return Rulebook(
        faqs=faqs,
        responses=MappingProxyType(responses),
        source=directory,
        localized=MappingProxyType(localized),
        faq_thresholds=(settings.fuzzy_threshold, settings.similarity_threshold),
        warnings=tuple(warnings),
    )
