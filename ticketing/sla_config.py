"""``sla.yml`` + ``escalations.yml`` (+ the calendars they name) → one immutable :class:`SlaConfig`.

Admins edit these files by hand, so they go through the same line-aware loader as the rest of
the rulebook (``core.yamlfile``; ticketing imports that small module and the calendar parser
from ``rules`` and nothing else of it). Every problem, including a policy that names a
calendar ``calendars.yml`` does not define and a calendar whose slots overlap, is reported as
``file:line: path: message`` in one :class:`~core.yamlfile.RulebookError`; nothing is half
loaded. Policies and escalations match tickets with :class:`TicketMatch`, first policy wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from core.calendars import parse_calendar
from core.yamlfile import RulebookError, SourceError, line_of, load_yaml, validate
from ticketing.business_hours import BusinessCalendar, CalendarProblem, business_calendar

__all__ = ["EscalationRule", "Policy", "SlaConfig", "TicketMatch", "load_sla_config", "parse_duration"]

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_][a-z0-9_-]*$", max_length=64)]
Priority = Literal["low", "normal", "high", "urgent"]
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")


def parse_duration(value: Any) -> float:
    """``"30m"``, ``"4h"``, ``"1h30m"``, ``"2d"`` (days of 24 wall hours) or minutes as a number
    → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value) * 60
    match = _DURATION.match(str(value)) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"invalid duration {value!r} (write it like 30m, 4h, 1h30m or 2d)")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return float(((days * 24 + hours) * 60 + minutes) * 60)


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Names = Annotated[tuple[str, ...], BeforeValidator(_listify)]


class TicketMatch(_Strict):
    """Conditions on a ticket; all given ones must hold. Lists mean "any of"."""

    tags: Names = ()  # every one of these tags
    any_tag: Names = ()
    priority: Annotated[tuple[Priority, ...], BeforeValidator(_listify)] = ()
    queue: Names = ()
    channel: Names = ()
    sentiment: Literal["negative", "neutral", "positive"] | None = None  # of the first message
    complaint: bool | None = None  # the first message is a complaint (nlp's complaint signal)

    def matches(self, ticket: Mapping[str, Any]) -> bool:
        tags = set(ticket.get("tags") or ())
        return (
            all(t in tags for t in self.tags)
            and (not self.any_tag or any(t in tags for t in self.any_tag))
            and (not self.priority or ticket.get("priority") in self.priority)
            and (not self.queue or ticket.get("queue") in self.queue)
            and (not self.channel or ticket.get("channel") in self.channel)
            and (self.sentiment is None or ticket.get("sentiment") == self.sentiment)
            and (self.complaint is None or bool(ticket.get("complaint")) == self.complaint)
        )


class Targets(_Strict):
    first_reply: Duration | None = None
    next_reply: Duration | None = None
    resolution: Duration | None = None


class Policy(_Strict):
    name: Name
    calendar: Name
    when: TicketMatch = Field(default_factory=TicketMatch)
    targets: dict[Priority, Targets]
    warn_before: Duration | None = None  # a warning this much business time before each breach


class NotifyAction(_Strict):
    slack: Annotated[str, StringConstraints(pattern=r"^#?[\w-]+$")]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class EscalationAction(_Strict):
    set_priority: Priority | None = None
    assign_queue: Name | None = None
    assign: str | None = None  # an agent handle
    add_tags: Names | None = None
    notify: NotifyAction | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> EscalationAction:
        given = [n for n in type(self).model_fields if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                f"each action has exactly one kind, got {len(given)}: put them in separate items"
            )
        return self


class After(_Strict):
    no_first_reply: Duration | None = None  # business time since the ticket was opened
    unsolved: Duration | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> After:
        if (self.no_first_reply is None) == (self.unsolved is None):
            raise ValueError("give exactly one of no_first_reply or unsolved")
        return self


class EscalationRule(_Strict):
    name: Name
    when: TicketMatch = Field(default_factory=TicketMatch)
    after: After
    then: list[EscalationAction] = Field(min_length=1)

    @property
    def delay(self) -> float:
        return float(
            self.after.no_first_reply if self.after.no_first_reply is not None else self.after.unsolved or 0
        )


class CsatSettings(_Strict):
    enabled: bool = True
    question: str = "How did we do with {ticket}? Please rate us from 1 (bad) to 5 (great)."
    thanks: str = "Thank you for your feedback!"


class SlaSettings(_Strict):
    autoclose_after: Duration = 4 * 24 * 3600.0  # solved → closed, wall-clock time
    csat: CsatSettings = Field(default_factory=CsatSettings)


class _SlaFile(_Strict):
    settings: SlaSettings = Field(default_factory=SlaSettings)
    policies: list[Policy] = Field(default_factory=list)


class _EscalationsFile(_Strict):
    escalations: list[EscalationRule] = Field(default_factory=list)


class _CalendarSpec(_Strict):
    timezone: str
    hours: dict[str, Annotated[list[str], BeforeValidator(_listify)]]
    closed: list[date] = Field(default_factory=list)


class _CalendarsFile(_Strict):
    calendars: dict[Name, _CalendarSpec]


@dataclass(frozen=True)
class SlaConfig:
    settings: SlaSettings = field(default_factory=SlaSettings)
    policies: Sequence[Policy] = ()
    escalations: Sequence[EscalationRule] = ()
    calendars: Mapping[str, BusinessCalendar] = field(default_factory=dict)

    def policy_for(self, ticket: Mapping[str, Any]) -> Policy | None:
        """The first policy whose conditions hold (order in sla.yml is priority)."""
        return next((p for p in self.policies if p.when.matches(ticket)), None)

    def calendar(self, name: str | None) -> BusinessCalendar | None:
        return self.calendars.get(name) if name else None


def load_sla_config(directory: Path) -> SlaConfig:
    """Load the SLA files of a rulebook directory; missing files mean "no SLA".

    Raises:
        RulebookError: every problem found, each as ``file:line: path: message``.
    """
    problems: list[str] = []
    sla, sla_data = _load(directory / "sla.yml", _SlaFile, problems)
    esc, esc_data = _load(directory / "escalations.yml", _EscalationsFile, problems)
    needed = {p.calendar for p in (sla.policies if sla else ())}
    calendars = _calendars(directory / "calendars.yml", needed, problems)
    for index, policy in enumerate(sla.policies if sla else ()):
        if policy.calendar not in calendars and not any(
            f"calendars.{policy.calendar}" in p for p in problems
        ):
            known = ", ".join(sorted(calendars)) or "none defined"
            line = line_of(sla_data, ("policies", index, "calendar"))
            problems.append(
                f"{directory / 'sla.yml'}:{line}: policies[{index}].calendar: unknown calendar "
                f"{policy.calendar!r} (define it in calendars.yml; known: {known})"
            )
    _duplicates(
        [p.name for p in (sla.policies if sla else ())], directory / "sla.yml", sla_data, "policies", problems
    )
    _duplicates(
        [e.name for e in (esc.escalations if esc else ())],
        directory / "escalations.yml",
        esc_data,
        "escalations",
        problems,
    )
    if problems:
        raise RulebookError(problems)
    return SlaConfig(
        settings=sla.settings if sla else SlaSettings(),
        policies=tuple(sla.policies if sla else ()),
        escalations=tuple(esc.escalations if esc else ()),
        calendars=calendars,
    )


def _load(path: Path, model: type[Any], problems: list[str]) -> tuple[Any, Any]:
    if not path.is_file():
        return None, None
    try:
        data = load_yaml(path)
        return validate(model, data, filename=str(path), error=RulebookError), data
    except SourceError as exc:
        problems.extend(exc.problems)
        return None, None


def _calendars(path: Path, needed: set[str], problems: list[str]) -> dict[str, BusinessCalendar]:
    if not path.is_file():
        return {}
    parsed, data = _load(path, _CalendarsFile, problems)
    out: dict[str, BusinessCalendar] = {}
    for name, spec in (parsed.calendars if parsed else {}).items():
        calendar, errors = parse_calendar(name, timezone=spec.timezone, hours=spec.hours, closed=spec.closed)
        for key, message in errors:
            where = ("calendars", name, key if key == "timezone" else "hours")
            problems.append(f"{path}:{line_of(data, where)}: calendars.{name}: {message}")
        if calendar is None:
            continue
        try:
            out[name] = business_calendar(calendar)
        except CalendarProblem as exc:
            if name in needed:  # the rules may keep a calendar SLA could not use
                line = line_of(data, ("calendars", name, "hours"))
                problems.append(f"{path}:{line}: calendars.{name}.hours: {exc}")
    return out


def _duplicates(names: list[str], path: Path, data: Any, key: str, problems: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            line = line_of(data, (key, index, "name"))
            problems.append(
                f"{path}:{line}: {key}[{index}].name: duplicate name {name!r} (names must be unique)"
            )
        seen.add(name)
