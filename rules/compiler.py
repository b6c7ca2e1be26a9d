"""Turning a validated ``when`` (:class:`~rules.schema.ConditionSpec`) into a predicate tree.

This is also where the checks that need the rest of the rulebook happen: unknown intents and
calendars, invalid regexes and time zones. Problems are collected with the YAML path they
belong to (the loader turns that path into a line) instead of stopping at the first one, so
``frontdesk rules check`` lists everything to fix in one run.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from core.calendars import Calendar
from rules import conditions as c
from rules.schema import (
    ComplaintCond,
    ConditionSpec,
    ConversationCond,
    CustomerCond,
    FaqCond,
    FieldCond,
    IntentCond,
    SentimentCond,
    TicketCond,
    TimeCond,
)

__all__ = ["Env", "Loc", "compile_condition", "suggest"]

Loc = tuple[int | str, ...]


def suggest(name: str, known: Collection[str]) -> str:
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""


@dataclass(slots=True, kw_only=True)
class Env:
    calendars: Mapping[str, Calendar]
    zone: ZoneInfo
    known_intents: frozenset[str] | None  # None: no intents file, any name is accepted
    problems: list[tuple[Loc, str]] = field(default_factory=list)

    def problem(self, loc: Loc, message: str) -> None:
        self.problems.append((loc, message))


def compile_condition(spec: ConditionSpec | None, env: Env, loc: Loc) -> c.Predicate:
    """Compile ``spec``; several keys in one mapping all have to hold."""
    if spec is None:
        return c.All([])
    parts: list[c.Predicate] = []
    if spec.all is not None:
        parts.append(c.All([compile_condition(s, env, (*loc, "all", i)) for i, s in enumerate(spec.all)]))
    if spec.any is not None:
        parts.append(c.Any([compile_condition(s, env, (*loc, "any", i)) for i, s in enumerate(spec.any)]))
    if spec.not_ is not None:
        parts.append(c.Not(compile_condition(spec.not_, env, (*loc, "not"))))
    if spec.channel is not None:
        channels = frozenset(spec.channel)
        parts.append(
            c.Leaf(
                f"channel is {c.names_label(channels)}",
                lambda s: s.facts.channel in channels,
                lambda s: f"channel is {s.facts.channel}",
            )
        )
    if spec.intent is not None:
        parts.append(_intent(spec.intent, env, (*loc, "intent")))
    if spec.out_of_scope is not None:
        want = spec.out_of_scope
        parts.append(
            c.Leaf(
                f"out_of_scope is {want}",
                lambda s: s.analysis.out_of_scope is want,
                lambda s: f"out_of_scope is {s.analysis.out_of_scope}",
            )
        )
    if spec.sentiment is not None:
        parts.append(_sentiment(spec.sentiment))
    if spec.complaint is not None:
        parts.append(_complaint(spec.complaint))
    if spec.entity is not None:
        e = spec.entity
        if e.matches is not None and _bad_regex(e.matches, env, (*loc, "entity", "matches")):
            return c.All([])
        parts.append(c.entity(e.type, e.equals, e.matches))
    if spec.faq is not None:
        parts.append(_faq(spec.faq))
    if spec.text is not None:
        t = spec.text
        if t.contains is not None:
            parts.append(c.text_contains(t.contains, case_sensitive=t.case_sensitive))
        if t.regex is not None and not _bad_regex(t.regex, env, (*loc, "text", "regex")):
            parts.append(c.text_regex(t.regex, case_sensitive=t.case_sensitive))
    if spec.customer is not None:
        parts.extend(_customer(spec.customer))
    if spec.conversation is not None:
        parts.extend(_conversation(spec.conversation))
    if spec.ticket is not None:
        parts.extend(_ticket(spec.ticket))
    if spec.time is not None:
        parts.extend(_time(spec.time, env, (*loc, "time")))
    if spec.slot is not None:
        slot = spec.slot
        if slot.matches is None or not _bad_regex(slot.matches, env, (*loc, "slot", "matches")):
            parts.append(c.slot(slot.name, present=slot.present, equals=slot.equals, matches=slot.matches))
    return parts[0] if len(parts) == 1 else c.All(parts)


def _bad_regex(pattern: str, env: Env, loc: Loc) -> bool:
    try:
        re.compile(pattern)
    except re.error as exc:
        env.problem(loc, f"invalid regular expression {pattern!r}: {exc}")
        return True
    return False


def _intent(spec: IntentCond, env: Env, loc: Loc) -> c.Predicate:
    names = frozenset(spec.is_ or ())
    if env.known_intents is not None:
        for i, name in enumerate(spec.is_ or ()):
            if name not in env.known_intents:
                env.problem((*loc, "is", i), f"unknown intent {name!r}{suggest(name, env.known_intents)}")
    low, high = spec.min_confidence, spec.max_confidence
    guess = spec.best_guess
    label = ("best-guess intent" if guess else "intent") + (
        f" is {c.names_label(names)}" if names else " (any)"
    )
    if low is not None or high is not None:
        label += " with " + c.range_label("confidence", low, high)

    def test(s: c.Subject) -> bool:
        i = (s.analysis.intents[0] if s.analysis.intents else None) if guess else s.intent
        return i is not None and (not names or i.name in names) and c.in_range(i.confidence, low, high)

    def actual(s: c.Subject) -> str:
        i = (s.analysis.intents[0] if s.analysis.intents else None) if guess else s.intent
        if i is None:
            top = s.analysis.intents[0] if s.analysis.intents else None
            return "out of scope" + (f" (best guess {top.name} {top.confidence:.2f})" if top else "")
        return f"intent is {i.name} ({i.confidence:.2f})"

    return c.Leaf(label, test, actual)


def _sentiment(spec: SentimentCond) -> c.Predicate:
    labels = frozenset(spec.label or ())
    low, high = spec.min, spec.max
    parts = []
    if labels:
        parts.append(f"sentiment is {c.names_label(labels)}")
    if low is not None or high is not None:
        parts.append(c.range_label("sentiment score", low, high))
    return c.Leaf(
        " and ".join(parts) or "any sentiment",
        lambda s: (
            (not labels or s.analysis.sentiment.label in labels)
            and c.in_range(s.analysis.sentiment.score, low, high)
        ),
        lambda s: f"sentiment is {s.analysis.sentiment.label} ({s.analysis.sentiment.score:+.2f})",
    )


def _complaint(spec: ComplaintCond) -> c.Predicate:
    want, low, high = spec.is_, spec.min_confidence, spec.max_confidence
    label = "a complaint" if want else "not a complaint"
    if low is not None or high is not None:
        label += " with " + c.range_label("complaint confidence", low, high)
    return c.Leaf(
        label,
        lambda s: s.analysis.complaint is want and c.in_range(s.analysis.complaint_confidence, low, high),
        lambda s: (
            ("a complaint" if s.analysis.complaint else "not a complaint")
            + f" ({s.analysis.complaint_confidence:.2f})"
        ),
    )


def _faq(spec: FaqCond) -> c.Predicate:
    ids = frozenset(spec.id or ())
    low, high = spec.min_score, spec.max_score
    label = "best FAQ" + (f" is {c.names_label(ids)}" if ids else "")
    if low is not None or high is not None:
        label += " with " + c.range_label("score", low, high)

    def test(s: c.Subject) -> bool:
        best = s.analysis.best_faq
        if best is None:
            return not ids and low is None
        return (not ids or best.faq_id in ids) and c.in_range(best.score, low, high)

    def actual(s: c.Subject) -> str:
        best = s.analysis.best_faq
        return f"best FAQ is {best.faq_id} ({best.score:.2f})" if best else "no FAQ candidates"

    return c.Leaf(label, test, actual)


def _customer(spec: CustomerCond) -> list[c.Predicate]:
    out: list[c.Predicate] = []
    if spec.tag is not None:
        tags = frozenset(spec.tag)
        out.append(
            c.Leaf(
                f"customer tagged {c.names_label(tags)}",
                lambda s: not tags.isdisjoint(s.facts.customer.tags),
                lambda s: f"customer tags: {c.names_label(s.facts.customer.tags) or 'none'}",
            )
        )
    if spec.attribute is not None:
        name, equals, present = spec.attribute.name, spec.attribute.equals, spec.attribute.present
        wanted = frozenset(v.lower() for v in equals) if equals is not None else None

        def test(s: c.Subject) -> bool:
            value = s.facts.customer.attributes.get(name)
            if wanted is not None:
                return value is not None and str(value).lower() in wanted
            return (value is not None) is (present is not False)

        label = (
            f"customer {name} is {c.names_label(wanted)}"
            if wanted is not None
            else (f"customer has {name}" if present is not False else f"customer has no {name}")
        )
        out.append(
            c.Leaf(label, test, lambda s: f"{name} is {s.facts.customer.attributes.get(name, '(not set)')}")
        )
    if spec.first_contact is not None:
        first = spec.first_contact
        out.append(
            c.Leaf(
                f"first contact is {first}",
                lambda s: s.facts.customer.first_contact is first,
                lambda s: f"first contact is {s.facts.customer.first_contact}",
            )
        )
    if spec.open_tickets is not None:
        low, high = spec.open_tickets.min, spec.open_tickets.max
        out.append(
            c.Leaf(
                c.range_label("open tickets", low, high),
                lambda s: c.in_range(s.facts.customer.open_tickets, low, high),
                lambda s: f"customer has {s.facts.customer.open_tickets} open tickets",
            )
        )
    return out


def _conversation(spec: ConversationCond) -> list[c.Predicate]:
    out: list[c.Predicate] = []
    if spec.handed_off is not None:
        want = spec.handed_off
        out.append(
            c.Leaf(
                f"handed off is {want}",
                lambda s: s.facts.conversation.handed_off is want,
                lambda s: f"handed off is {s.facts.conversation.handed_off}",
            )
        )
    if spec.has_open_ticket is not None:
        has = spec.has_open_ticket
        out.append(
            c.Leaf(
                f"has open ticket is {has}",
                lambda s: s.facts.conversation.has_open_ticket is has,
                lambda s: f"has open ticket is {s.facts.conversation.has_open_ticket}",
            )
        )
    if spec.turns is not None:
        low, high = spec.turns.min, spec.turns.max
        out.append(
            c.Leaf(
                c.range_label("turns", low, high),
                lambda s: c.in_range(s.facts.conversation.turns, low, high),
                lambda s: f"turn {s.facts.conversation.turns}",
            )
        )
    if spec.language is not None:
        languages = frozenset(spec.language)
        out.append(
            c.Leaf(
                f"language is {c.names_label(languages)}",
                lambda s: s.language in languages,
                lambda s: f"language is {s.language}",
            )
        )
    return out


def _ticket(spec: TicketCond) -> list[c.Predicate]:
    out: list[c.Predicate] = [
        _field(name, cond)
        for name, cond in (("status", spec.status), ("priority", spec.priority), ("queue", spec.queue))
        if cond is not None
    ]
    if spec.tag is not None:
        tags = frozenset(spec.tag)
        out.append(
            c.Leaf(
                f"ticket tagged {c.names_label(tags)}",
                lambda s: s.facts.ticket is not None and not tags.isdisjoint(s.facts.ticket.tags),
                _ticket_tags,
            )
        )
    if spec.tag_added is not None:
        added = frozenset(spec.tag_added)

        def test(s: c.Subject) -> bool:
            t = s.facts.ticket
            return (
                t is not None
                and t.previous_tags is not None
                and not added.isdisjoint(t.tags - t.previous_tags)
            )

        out.append(c.Leaf(f"tag {c.names_label(added)} added to ticket", test, _ticket_tags))
    return out


def _ticket_tags(s: c.Subject) -> str:
    t = s.facts.ticket
    return "not a ticket event" if t is None else f"ticket tags: {c.names_label(t.tags) or 'none'}"


def _field(name: str, spec: FieldCond) -> c.Predicate:
    now = frozenset(spec.is_ or ())
    before = frozenset(spec.changed_from or ())
    after = frozenset(spec.changed_to or ())
    changed = spec.changed
    if after or before:
        changed = True
    bits = [f"ticket {name} is {c.names_label(now)}"] if now else []
    if before:
        bits.append(f"{name} changed from {c.names_label(before)}")
    if after:
        bits.append(f"{name} changed to {c.names_label(after)}")
    if changed is not None and not before and not after:
        bits.append(f"{name} {'changed' if changed else 'unchanged'}")

    def test(s: c.Subject) -> bool:
        t = s.facts.ticket
        if t is None:
            return False
        value = getattr(t, name)
        if now and value not in now:
            return False
        if changed is not None and (name in t.previous) is not changed:
            return False
        if before and t.previous.get(name) not in before:
            return False
        return not after or value in after

    def actual(s: c.Subject) -> str:
        t = s.facts.ticket
        if t is None:
            return "not a ticket event"
        old = t.previous.get(name)
        return f"{name} is {getattr(t, name)}" + (f" (was {old})" if old is not None else " (unchanged)")

    return c.Leaf(" and ".join(bits), test, actual)


def _time(spec: TimeCond, env: Env, loc: Loc) -> list[c.Predicate]:
    out: list[c.Predicate] = []
    try:
        zone = c.resolve_zone(spec.timezone, env.zone)
    except ValueError as exc:
        env.problem((*loc, "timezone"), str(exc))
        return out
    for key, name, inside in (
        ("business_hours", spec.business_hours, True),
        ("outside_business_hours", spec.outside_business_hours, False),
    ):
        if name is None:
            continue
        calendar = env.calendars.get(name)
        if calendar is None:
            known = ", ".join(sorted(env.calendars)) or "none defined in calendars.yml"
            env.problem(
                (*loc, key), f"unknown calendar {name!r}{suggest(name, env.calendars)}; calendars: {known}"
            )
            continue
        if spec.timezone is None:
            zone = calendar.zone
        out.append(c.business_hours(calendar, inside=inside))
    if spec.weekday is not None:
        out.append(c.weekday(frozenset(spec.weekday), zone))
    if spec.between is not None:
        try:
            out.append(c.between(spec.between, zone))
        except ValueError as exc:
            env.problem((*loc, "between"), str(exc))
    return out
