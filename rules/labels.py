"""Customer-facing labels for intents and FAQs, and the check that internal names stay inside.

Why: a clarifying button once read "Greet" and a football question got "Did you mean… Product
availability": the intent's name in title case is not something a customer asked. Every intent
(``label:`` in ``intents.yml``, or ``settings.intent_labels`` in ``rules.yml``, which wins) and
every FAQ (``label:`` in ``faq.yml``) has a label. Without one, the label is its first example or
question as the admin wrote it (a customer's own words), never the name, and the loader warns
with ``file:line``. Intents with ``clarify: false`` (small talk) are never offered as a choice.

:func:`check_internal_names` reports replies and buttons that would show an intent name or FAQ
id as written (``order_status``), and ``{intent}`` (the name) in a reply.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from core.yamlfile import SourceError, line_of, load_yaml

__all__ = [
    "IntentDisplay",
    "check_responses",
    "check_rule_texts",
    "check_text",
    "fallback_label",
    "intent_display",
]

_OOS = frozenset({"oos", "out_of_scope"})  # as rules.intents_file.OOS_INTENTS (no import cycle)
_INTENT_VARIABLE = re.compile(r"\{intent(?:\|[^{}]*)?\}")


def fallback_label(texts: Sequence[str]) -> str:
    """The first example or question, first letter upper-cased: words a customer would use."""
    first = next((t.strip() for t in texts if t.strip()), "")
    return first[:1].upper() + first[1:80]


@dataclass(frozen=True, slots=True)
class IntentDisplay:
    """What customers see of the intents: labels (fallbacks filled in) and what clarify may offer.

    ``labels`` are in the first language written (plain: the default); ``translations`` has,
    per intent whose label is split by language, the label per language.
    """

    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    offered: frozenset[str] | None = None  # None: no intents file, every intent may be offered
    warnings: tuple[str, ...] = ()
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))


def intent_display(directory: Path, overrides: Mapping[str, str] | None = None) -> IntentDisplay:
    """Labels of ``intents.yml``'s intents; ``overrides`` (``settings.intent_labels``) win.

    Lenient on purpose: :func:`rules.intents_file.load_intents` reports the file's errors.
    """
    path = directory / "intents.yml"
    overrides = overrides or {}
    if not path.is_file():
        return IntentDisplay(MappingProxyType(dict(overrides)))
    try:
        data = load_yaml(path)
    except SourceError:
        return IntentDisplay(MappingProxyType(dict(overrides)))
    intents = data.get("intents") if isinstance(data, dict) else None
    labels: dict[str, str] = {}
    translations: dict[str, Mapping[str, str]] = {}
    offered: set[str] = set()
    warnings: list[str] = []
    for i, item in enumerate(intents if isinstance(intents, list) else ()):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or item["name"] in _OOS:
            continue
        name = item["name"]
        if item.get("clarify", True) is not False:
            offered.add(name)
        written = item.get("label")
        if isinstance(written, Mapping) and name not in overrides:
            split = {str(k): v.strip() for k, v in written.items() if isinstance(v, str) and v.strip()}
            if split:
                translations[name] = MappingProxyType(split)
                written = next(iter(split.values()))
        label = overrides.get(name) or _text(written)
        if not label:
            label = fallback_label(_examples(item.get("examples")))
            if name not in overrides:
                warnings.append(
                    f"{path}:{line_of(data, ('intents', i))}: intent {name!r} has no label: customers "
                    f"see its first example {label!r} where it is offered (add `label:`)"
                )
        labels[name] = label
    return IntentDisplay(
        MappingProxyType(labels), frozenset(offered), tuple(warnings), MappingProxyType(translations)
    )


def check_text(text: str, names: Collection[str]) -> str | None:
    """Why ``text`` (a reply, a button) would show an internal name, or ``None``."""
    if _INTENT_VARIABLE.search(text):
        return "{intent} shows the intent's internal name to the customer; say it in words instead"
    for name in names:
        if "_" in name and re.search(rf"(?<![\w{{.]){re.escape(name)}(?![\w}}])", text, re.IGNORECASE):
            return f"shows the internal name {name!r} to the customer; write its label instead"
        if text.strip() == name:
            return f"shows the internal name {name!r} to the customer; write its label instead"
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _examples(value: Any) -> list[str]:
    if isinstance(value, Mapping):  # split by language: the first language's
        return _examples(next(iter(value.values()), []))
    if isinstance(value, str):  # Rasa block
        return [line.strip()[1:].strip() for line in value.splitlines() if line.strip().startswith("-")]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return []


def variants_of(value: Any) -> list[str]:
    """Every text of a ``Variants`` value (a text, a list, or a language → list mapping)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in variants_of(v)]
    if isinstance(value, Iterable):
        return [t for v in value for t in variants_of(v)]
    return []


def check_rule_texts(then: Sequence[Any], names: Collection[str], report: Any, loc: tuple[Any, ...]) -> None:
    """Report inline replies, clarify texts (and its ``otherwise``) and buttons of a rule's ``then``
    that show a name.

    ``report(loc, message)`` is the loader's :meth:`rules.compiler.Env.problem`.
    """
    for j, action in enumerate(then):
        clarify = getattr(action, "clarify", None)
        specs: list[tuple[tuple[str, ...], Any]] = [
            ((kind,), getattr(action, kind, None)) for kind in ("reply", "clarify")
        ]
        specs.append((("clarify", "otherwise"), getattr(clarify, "otherwise", None)))
        for keys, spec in specs:
            if spec is None:
                continue
            at = (*loc, j, *keys)
            for text in variants_of(getattr(spec, "text", None)):
                if (why := check_text(text, names)) is not None:
                    report((*at, "text"), why)
            for b, button in enumerate(getattr(spec, "buttons", ()) or ()):
                for key in ("label", "payload"):
                    for value in variants_of(getattr(button, key, None)):
                        if (why := check_text(value, names)) is not None:
                            report((*at, "buttons", b, key), f"button {why}")


def check_responses(directory: Path, names: Collection[str]) -> list[str]:
    """``file:line`` problems of ``responses.yml`` texts that would show an internal name."""
    path = directory / "responses.yml"
    if not path.is_file():
        return []
    try:
        data = load_yaml(path)
    except SourceError:
        return []  # the rulebook loader reports it
    responses = data.get("responses") if isinstance(data, dict) else None
    problems: list[str] = []
    for key, value in responses.items() if isinstance(responses, dict) else ():
        for text in variants_of(value):
            if (why := check_text(text, names)) is not None:
                problems.append(f"{path}:{line_of(data, ('responses', key))}: responses.{key}: {why}")
    return problems
