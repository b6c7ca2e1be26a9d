"""Compiling a rule's ``when`` into a predicate tree that says why it matched or why not.

Compilation happens once at load: regexes are compiled, calendars resolved, names put in
frozensets, so matching a message is a few closure calls per rule (the bench checks 1,000 rules
stay under a millisecond). :meth:`Predicate.ok` is the fast path the bot uses;
:meth:`Predicate.why_not` is only called by the trace (``frontdesk rules test``) and names the
first condition that failed together with what the message actually had.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from core.calendars import WEEKDAYS, Calendar, parse_span, parse_zone, within
from nlp.types import Analysis, IntentScore
from rules.facts import RuleFacts, conversation_language

__all__ = ["All", "Any", "Leaf", "Not", "Predicate", "Subject", "subject_of"]


@dataclass(frozen=True, slots=True)
class Subject:
    """One message (or ticket event) prepared for matching: computed once, read by every rule."""

    analysis: Analysis
    facts: RuleFacts
    intent: IntentScore | None
    text_lower: str
    entities: Mapping[str, tuple[str, ...]]
    entities_lower: Mapping[str, frozenset[str]]
    language: str


def subject_of(analysis: Analysis, facts: RuleFacts) -> Subject:
    entities: dict[str, tuple[str, ...]] = {}
    for e in analysis.entities:
        entities[e.type] = (*entities.get(e.type, ()), e.value)
    return Subject(
        analysis=analysis,
        facts=facts,
        intent=analysis.intent,
        text_lower=analysis.text.lower(),
        entities=entities,
        entities_lower={k: frozenset(v.lower() for v in vs) for k, vs in entities.items()},
        language=conversation_language(analysis, facts.conversation.language),
    )


class Predicate:
    """A node of the condition tree.

    ``ok`` is a plain closure stored on the instance (not a method): the hot path is one call per
    rule, with ``and``/``or`` chains built once at load instead of generator expressions.
    """

    __slots__ = ("label", "ok")

    def __init__(self, label: str, ok: Callable[[Subject], bool]) -> None:
        self.label = label
        self.ok = ok

    def why_not(self, s: Subject) -> str:
        """Why :attr:`ok` is false (only meaningful when it is)."""
        raise NotImplementedError

    def why(self, s: Subject) -> str:
        """Why :attr:`ok` is true (used to explain a failed ``not``)."""
        return self.label


class Leaf(Predicate):
    __slots__ = ("_actual",)

    def __init__(self, label: str, test: Callable[[Subject], bool], actual: Callable[[Subject], str]) -> None:
        super().__init__(label, test)
        self._actual = actual

    def why_not(self, s: Subject) -> str:
        return f"needs {self.label}, but {self._actual(s)}"

    def why(self, s: Subject) -> str:
        return self._actual(s)


def _always(s: Subject) -> bool:
    return True


def _never(s: Subject) -> bool:
    return False


def _conjunction(tests: tuple[Callable[[Subject], bool], ...]) -> Callable[[Subject], bool]:
    if not tests:
        return _always
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda s: a(s) and b(s)
    if len(tests) == 3:
        a, b, c = tests
        return lambda s: a(s) and b(s) and c(s)

    def every(s: Subject) -> bool:  # a plain loop: faster than all() over a generator
        for test in tests:  # noqa: SIM110
            if not test(s):
                return False
        return True

    return every


def _disjunction(tests: tuple[Callable[[Subject], bool], ...]) -> Callable[[Subject], bool]:
    if not tests:
        return _never
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        a, b = tests
        return lambda s: a(s) or b(s)

    def some(s: Subject) -> bool:  # a plain loop: faster than any() over a generator
        for test in tests:  # noqa: SIM110
            if test(s):
                return True
        return False

    return some


class All(Predicate):
    __slots__ = ("children",)

    def __init__(self, children: list[Predicate]) -> None:
        self.children = tuple(children)
        super().__init__(
            " and ".join(c.label for c in children) or "always", _conjunction(tuple(c.ok for c in children))
        )

    def why_not(self, s: Subject) -> str:
        return next(c.why_not(s) for c in self.children if not c.ok(s))

    def why(self, s: Subject) -> str:
        return "; ".join(c.why(s) for c in self.children) or "no conditions (always matches)"


class Any(Predicate):
    __slots__ = ("children",)

    def __init__(self, children: list[Predicate]) -> None:
        self.children = tuple(children)
        super().__init__(
            "any of (" + " | ".join(c.label for c in children) + ")",
            _disjunction(tuple(c.ok for c in children)),
        )

    def why_not(self, s: Subject) -> str:
        return "none of: " + "; ".join(c.why_not(s) for c in self.children)

    def why(self, s: Subject) -> str:
        return next(c.why(s) for c in self.children if c.ok(s))


class Not(Predicate):
    __slots__ = ("child",)

    def __init__(self, child: Predicate) -> None:
        self.child = child
        test = child.ok
        super().__init__(f"not ({child.label})", lambda s: not test(s))

    def why_not(self, s: Subject) -> str:
        return f"not: {self.child.why(s)}"

    def why(self, s: Subject) -> str:
        return f"not: {self.child.why_not(s)}"


# Leaf factories, one per condition kind. Each returns a Leaf whose label says what is required.


def names_label(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


def in_range(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def range_label(what: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{what} between {low:g} and {high:g}"
    return f"{what} ≥ {low:g}" if low is not None else f"{what} ≤ {high:g}"


def resolve_zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    return default if name is None else parse_zone(name)


def business_hours(calendar: Calendar, *, inside: bool) -> Leaf:
    word = "within" if inside else "outside"
    return Leaf(
        f"{word} business hours of {calendar.name!r}",
        lambda s: calendar.is_open(s.facts.now) is inside,
        lambda s: (
            f"it is {s.facts.now.astimezone(calendar.zone):%a %H:%M %Z}"
            + (" (open)" if calendar.is_open(s.facts.now) else " (closed)")
        ),
    )


def weekday(days: frozenset[str], zone: ZoneInfo) -> Leaf:
    indices = frozenset(WEEKDAYS.index(d) for d in days)
    return Leaf(
        f"weekday in {', '.join(d for d in WEEKDAYS if d in days)}",
        lambda s: s.facts.now.astimezone(zone).weekday() in indices,
        lambda s: f"it is {WEEKDAYS[s.facts.now.astimezone(zone).weekday()]} in {zone.key}",
    )


def between(text: str, zone: ZoneInfo) -> Leaf:
    span = parse_span(text)
    return Leaf(
        f"time between {text} ({zone.key})",
        lambda s: within(s.facts.now.astimezone(zone).time().replace(tzinfo=None), span),
        lambda s: f"it is {s.facts.now.astimezone(zone):%H:%M}",
    )


def text_contains(words: list[str], *, case_sensitive: bool) -> Leaf:
    needles = tuple(words if case_sensitive else (w.lower() for w in words))
    pattern = re.compile("|".join(re.escape(n) for n in needles))  # one C call instead of a loop

    def actual(s: Subject) -> str:
        found = pattern.search(s.analysis.text if case_sensitive else s.text_lower)
        return f"text contains {found.group(0)!r}" if found else "the text has none of them"

    def sensitive(s: Subject) -> bool:
        return pattern.search(s.analysis.text) is not None

    def insensitive(s: Subject) -> bool:
        return pattern.search(s.text_lower) is not None

    label = f"text contains {' or '.join(map(repr, needles))}"
    return Leaf(label, sensitive if case_sensitive else insensitive, actual)


def text_regex(pattern: str, *, case_sensitive: bool) -> Leaf:
    compiled = re.compile(pattern, 0 if case_sensitive else re.IGNORECASE)
    return Leaf(
        f"text matches /{pattern}/",
        lambda s: compiled.search(s.analysis.text) is not None,
        lambda s: (
            f"text matches at {m.group(0)!r}" if (m := compiled.search(s.analysis.text)) else "no match"
        ),
    )


def entity(type_: str, equals: list[str] | None, matches: str | None) -> Leaf:
    if equals is not None:
        wanted = frozenset(v.lower() for v in equals)
        return Leaf(
            f"entity {type_} equals {names_label(wanted)}",
            lambda s: not wanted.isdisjoint(s.entities_lower.get(type_, ())),
            lambda s: _entity_actual(s, type_),
        )
    if matches is not None:
        compiled = re.compile(matches)
        return Leaf(
            f"entity {type_} matches /{matches}/",
            lambda s: any(compiled.fullmatch(v) for v in s.entities.get(type_, ())),
            lambda s: _entity_actual(s, type_),
        )
    return Leaf(f"entity {type_} present", lambda s: type_ in s.entities, lambda s: _entity_actual(s, type_))


def _entity_actual(s: Subject, type_: str) -> str:
    values = s.entities.get(type_)
    if values:
        return f"found {', '.join(values)}"
    found = ", ".join(sorted(s.entities)) or "none"
    return f"no {type_} entity (entities found: {found})"


def slot(name: str, *, present: bool | None, equals: list[str] | None, matches: str | None) -> Leaf:
    """A value the customer gave to a rule's ``ask`` (``when: {slot: order_number}``)."""
    wanted = frozenset(v.lower() for v in equals) if equals is not None else None
    compiled = re.compile(matches) if matches is not None else None
    want_present = present is not False

    def test(s: Subject) -> bool:
        value = s.facts.conversation.slots.get(name)
        if value is None:
            return not want_present and wanted is None and compiled is None
        if wanted is not None and value.lower() not in wanted:
            return False
        if compiled is not None and compiled.fullmatch(value) is None:
            return False
        return want_present

    if wanted is not None:
        label = f"slot {name} is {names_label(wanted)}"
    elif compiled is not None:
        label = f"slot {name} matches /{matches}/"
    else:
        label = f"slot {name} {'filled' if want_present else 'empty'}"
    return Leaf(label, test, lambda s: f"slot {name} is {s.facts.conversation.slots.get(name, '(empty)')}")
