"""Rulebook texts split by language, and the checks of their language keys.

Any customer-visible text of the rulebook (a response, an FAQ's label, questions, examples and
answer, an intent's label and examples, a button's label) is written either plainly, in the
default language (``settings.default_language`` of ``rules.yml``), or as a mapping from language
code to the text(s)::

    label:
      en: Opening hours
      de: Öffnungszeiten

:func:`by_language` turns either form into ``{language: value}`` (``""`` for a plain value);
:func:`pick` chooses the conversation's language, else the default language, else the first
one written, so a missing translation falls back silently. :func:`language_problems` reports
unknown language codes and empty translations with their ``file:line``; :func:`missing` lists
the languages a text lacks, for ``frontdesk rules check``'s warnings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from core.language_codes import language_problem
from core.yamlfile import RulebookError, line_of
from rules.decision import QuickReplyButton
from rules.schema import ButtonSpec

__all__ = [
    "buttons_by_language",
    "by_language",
    "check_languages",
    "language_problems",
    "languages_of",
    "missing",
    "missing_translations",
    "pick",
    "rule_language_problems",
]

T = TypeVar("T")


def by_language(value: T | Mapping[str, T]) -> dict[str, T]:
    """``{language: value}`` of a plain or split value (``""``: written plainly, the default)."""
    if isinstance(value, Mapping):
        return dict(value)
    return {"": value}


def pick(variants: Mapping[str, T], language: str | None, default_language: str) -> T:
    """``variants`` in ``language`` (``de-AT`` falls back to ``de``), else in the default
    language, else the first language written (a plain value is ``""``)."""
    if language:
        for code in (language, language.split("-")[0]):
            if found := variants.get(code):
                return found
    for code in (default_language, ""):
        if found := variants.get(code):
            return found
    return next(iter(variants.values()))


def buttons_by_language(
    specs: Sequence[ButtonSpec], default_language: str
) -> dict[str, tuple[QuickReplyButton, ...]]:
    """The buttons in each language their labels are written in, and under ``""`` in the default
    language (for :func:`pick` with ``""`` as the default). A button without a payload sends its
    label in the language shown."""
    split = [by_language(b.label) for b in specs]
    return {
        language: tuple(
            QuickReplyButton(label, b.payload or label)
            for b, labels in zip(specs, split, strict=True)
            for label in (pick(labels, language or default_language, default_language),)
        )
        for language in ("", *sorted(languages_of(split)))
    }


def languages_of(values: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Every language code some of ``values`` is written in (plain values aside)."""
    return frozenset(code for value in values for code in value if code)


def missing(value: Mapping[str, Any], languages: Iterable[str], default_language: str) -> list[str]:
    """The languages of ``languages`` a split ``value`` has no translation for (a plain value
    is not split, so it lacks none: it is the text for everyone)."""
    if "" in value or not value:
        return []
    return sorted(code for code in languages if code not in value and code != default_language)


def language_problems(data: Any, loc: Sequence[int | str], filename: str) -> list[str]:
    """``file:line`` problems of the raw YAML value at ``loc`` in ``data``, if it is split by
    language: an unknown language code, a language with no text, a mapping with no language."""
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return []
    if not isinstance(node, Mapping):
        return []
    where = _dotted(loc)
    if not node:
        return [f"{filename}:{line_of(data, loc)}: {where}: no language given (write en: ..., de: ...)"]
    problems = []
    for code, texts in node.items():
        at = f"{filename}:{line_of(data, (*loc, code))}: {where}.{code}"
        if (why := language_problem(code)) is not None:
            problems.append(f"{at}: {why}")
        elif texts is None or (isinstance(texts, str | list | Mapping) and not _filled(texts)):
            problems.append(
                f"{at}: no text for language {code!r} (write it, or leave {code} out: "
                "the default language is used)"
            )
    return problems


def _filled(texts: str | list[Any] | Mapping[Any, Any]) -> bool:
    if isinstance(texts, str):
        return bool(texts.strip())
    return any(str(t).strip() for t in texts) if isinstance(texts, list) else bool(texts)


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def rule_language_problems(data: Any, filename: str) -> list[str]:
    """Language problems of the texts and button labels in ``rules.yml``'s actions."""
    rules = data.get("rules") if isinstance(data, Mapping) else None
    problems: list[str] = []
    for i, rule in enumerate(rules if isinstance(rules, list) else ()):
        then = rule.get("then") if isinstance(rule, Mapping) else None
        for j, action in enumerate(then if isinstance(then, list) else ()):
            if not isinstance(action, Mapping):
                continue
            at: tuple[int | str, ...] = ("rules", i, "then", j)
            replies = [(*at, "reply"), (*at, "clarify"), (*at, "clarify", "otherwise")]
            replies += [(*at, "ask", key) for key in ("prompt", "retry", "give_up", "cancelled")]
            for loc in replies:
                for text_loc in _texts_of(data, loc):
                    problems.extend(language_problems(data, text_loc, filename))
    return problems


def _texts_of(data: Any, loc: tuple[int | str, ...]) -> list[tuple[int | str, ...]]:
    """The locations of a reply's text, its ``existing_ticket`` text and its button labels."""
    node = data
    for part in loc:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return []
    if not isinstance(node, Mapping):
        return []
    found: list[tuple[int | str, ...]] = [(*loc, "text"), (*loc, "existing_ticket", "text")]
    buttons = node.get("buttons")
    found += [(*loc, "buttons", b, "label") for b in range(len(buttons) if isinstance(buttons, list) else 0)]
    return found


def missing_translations(texts: Mapping[str, Mapping[str, Any]], default_language: str) -> str | None:
    """One warning naming the texts (``responses.greeting``, ...) written in fewer languages
    than the rulebook uses elsewhere, or ``None`` when every split text has them all."""
    languages = languages_of(texts.values())
    lacking = {
        name: gaps for name, value in texts.items() if (gaps := missing(value, languages, default_language))
    }
    if not lacking:
        return None
    shown = "; ".join(f"{name} ({', '.join(gaps)})" for name, gaps in list(lacking.items())[:8])
    more = f"; and {len(lacking) - 8} more" if len(lacking) > 8 else ""
    return (
        f"{len(lacking)} {'text has' if len(lacking) == 1 else 'texts have'} no translation into every "
        "language the rulebook uses (customers "
        f"writing in those get the {default_language!r} text): {shown}{more}"
    )


def check_languages(data: Any, filename: str, top: str, keys: tuple[str, ...] | None) -> None:
    """Raise the language problems of every text under ``data[top]`` (each key of a mapping,
    or ``keys`` of each item of a list)."""
    items = data.get(top) if isinstance(data, dict) else None
    problems: list[str] = []
    if isinstance(items, dict):
        for name in items:
            problems.extend(language_problems(data, (top, name), filename))
    elif isinstance(items, list):
        for i in range(len(items)):
            for key in keys or ():
                problems.extend(language_problems(data, (top, i, key), filename))
    if problems:
        raise RulebookError(problems)
