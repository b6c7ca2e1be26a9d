"""Macros (``macros.yml``): canned replies agents apply to a ticket from Slack, with actions.

A macro is a reply template plus optional ticket actions (a status, tags to add, a priority)::

    macros:
      - name: refund-status
        title: Refund status
        reply: Hi {customer.first_name|there}, the refund for order {order_number} is on its way.
        actions: {status: pending, tags: [refund]}

The reply is a template of :mod:`rules.templates` (``{name}`` or ``{name|fallback}``, nothing
evaluated), over the ticket's own values (:data:`MACRO_VARIABLES`, :func:`macro_variables`)
instead of a message's. Everything wrong is reported at load with ``file:line`` (unknown keys and
statuses by the schema, unknown variables and duplicate names here), as part of the rulebook
(:func:`rules.loader.load_ruleset`), so a broken ``macros.yml`` keeps the previous macros live.

A variable without a value and without a fallback is *missing*: :func:`fill` reports it and the
bot refuses to send the reply, so a customer never reads ``{order_number}``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.yamlfile import RulebookError, SourceError, line_of, load_yaml, validate
from rules.schema import Name, Priority, Tags
from rules.templates import missing_variables, render, unknown_variables

__all__ = [
    "MACRO_PREFIXES",
    "MACRO_STATUSES",
    "MACRO_VARIABLES",
    "Filled",
    "Macro",
    "MacroContext",
    "Macros",
    "MacrosFile",
    "fill",
    "load_macros",
    "macro_file",
    "macro_variables",
]

# What a macro may set: "new" is never re-entered and "closed" only follows "solved" by itself.
MacroStatus = Literal["open", "pending", "on-hold", "solved"]
MACRO_STATUSES: tuple[str, ...] = ("open", "pending", "on-hold", "solved")
MACRO_VARIABLES = frozenset(
    {
        "customer.name",
        "customer.first_name",
        "customer.email",
        "ticket",  # the reference, T-1042
        "ticket.subject",
        "ticket.status",
        "ticket.priority",
        "ticket.queue",
        "channel",  # the customer's channel (webchat, email, telegram, ...)
        "agent.name",  # the display name of the agent applying the macro
        "agent.first_name",
        "order_number",  # {slots.order_number}, else the newest order_ref in the customer's messages
    }
)
MACRO_PREFIXES = ("attribute.", "entity.", "slots.")
_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MacroActionsSpec(_Strict):
    status: MacroStatus | None = None
    tags: Tags = Field(default_factory=list)  # added to the ticket's tags
    priority: Priority | None = None


class MacroSpec(_Strict):
    name: Name
    title: _Text
    reply: _Text
    description: str | None = None
    actions: MacroActionsSpec = Field(default_factory=MacroActionsSpec)


class MacrosFile(_Strict):
    macros: list[MacroSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Macro:
    name: str
    title: str
    reply: str  # the template
    status: str | None = None
    tags: tuple[str, ...] = ()
    priority: str | None = None
    description: str | None = None
    line: int = 0

    def actions(self) -> dict[str, object]:
        """The actions as the audit trail and rule tests show them (only those it has)."""
        out: dict[str, object] = {}
        if self.status is not None:
            out["status"] = self.status
        if self.tags:
            out["tags"] = list(self.tags)
        if self.priority is not None:
            out["priority"] = self.priority
        return out


@dataclass(frozen=True, slots=True)
class Macros:
    """The macros of one rulebook version, in file order."""

    by_name: Mapping[str, Macro] = field(default_factory=lambda: MappingProxyType({}))
    source: Path | None = None

    def __iter__(self) -> Iterator[Macro]:
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)

    def get(self, name: str) -> Macro | None:
        return self.by_name.get(name.strip().lower())

    def suggest(self, name: str) -> str | None:
        """The macro name closest to a mistyped ``name``, if one is close."""
        hint = difflib.get_close_matches(name.strip().lower(), list(self.by_name), n=1)
        return hint[0] if hint else None


@dataclass(frozen=True, slots=True, kw_only=True)
class MacroContext:
    """The ticket a macro is applied to, as plain values (the bot reads them from storage)."""

    ticket: str  # T-1042
    subject: str = ""
    status: str = "open"
    priority: str = "normal"
    queue: str = "support"
    channel: str = ""
    customer_name: str | None = None
    customer_email: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    slots: Mapping[str, str] = field(default_factory=dict)
    entities: tuple[tuple[str, str], ...] = ()  # (type, value) of the customer's messages, newest first
    agent_name: str | None = None


@dataclass(frozen=True, slots=True)
class Filled:
    """A rendered macro: ``text`` is only for sending when nothing is ``missing``."""

    macro: Macro
    text: str
    missing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.missing


def macro_variables(ctx: MacroContext) -> dict[str, str]:
    """The values a macro's reply may use for this ticket; a name without a value is absent."""
    out: dict[str, str] = {
        "ticket": ctx.ticket,
        "ticket.status": ctx.status,
        "ticket.priority": ctx.priority,
        "ticket.queue": ctx.queue,
    }
    if ctx.subject:
        out["ticket.subject"] = ctx.subject
    if ctx.channel:
        out["channel"] = ctx.channel
    for prefix, name in (("customer", ctx.customer_name), ("agent", ctx.agent_name)):
        parts = (name or "").split()
        if parts:
            out[f"{prefix}.name"] = " ".join(parts)
            out[f"{prefix}.first_name"] = parts[0]
    if ctx.customer_email:
        out["customer.email"] = ctx.customer_email
    for key, value in ctx.attributes.items():
        out[f"attribute.{key}"] = str(value)
    for kind, value in reversed(ctx.entities):  # the newest one wins
        out[f"entity.{kind}"] = str(value)
    for key, value in ctx.slots.items():
        out[f"slots.{key}"] = str(value)
    order = out.get("slots.order_number") or out.get("entity.order_ref")
    if order:
        out["order_number"] = order
    return {k: v for k, v in out.items() if v.strip()}


def fill(macro: Macro, ctx: MacroContext) -> Filled:
    """``macro``'s reply for the ticket ``ctx``, or what it misses (nothing is rendered then)."""
    variables = macro_variables(ctx)
    missing = missing_variables(macro.reply, variables)
    if missing:
        return Filled(macro, "", tuple(missing))
    return Filled(macro, render(macro.reply, variables).strip())


def macro_file(directory: Path) -> Path | None:
    for name in ("macros.yml", "macros.yaml"):
        if (directory / name).is_file():
            return directory / name
    return None


def load_macros(directory: Path, problems: list[str]) -> Macros:
    """The macros of ``directory/macros.yml`` (none without the file); every problem is added to
    ``problems`` as ``file:line: path: message`` and the macros are then not to be used."""
    path = macro_file(directory)
    if path is None:
        return Macros()
    filename = str(path)
    try:
        data = load_yaml(path)
        parsed = validate(
            MacrosFile, data if data is not None else {}, filename=filename, error=RulebookError
        )
    except SourceError as exc:  # unreadable, not YAML, or not the schema
        problems.extend(exc.problems)
        return Macros(source=path)
    found: dict[str, Macro] = {}
    for i, spec in enumerate(parsed.macros):
        line = line_of(data, ("macros", i))
        if spec.name in found:
            where = line_of(data, ("macros", i, "name"))
            problems.append(
                f"{filename}:{where}: macros[{i}].name: macro name {spec.name!r} is used twice "
                f"(first at line {found[spec.name].line})"
            )
            continue
        for problem in unknown_variables(spec.reply, known=MACRO_VARIABLES, prefixes=MACRO_PREFIXES):
            where = line_of(data, ("macros", i, "reply"))
            problems.append(f"{filename}:{where}: macros[{i}].reply: {problem}")
        found[spec.name] = Macro(
            name=spec.name,
            title=spec.title,
            reply=spec.reply,
            status=spec.actions.status,
            tags=tuple(dict.fromkeys(spec.actions.tags)),
            priority=spec.actions.priority,
            description=spec.description,
            line=line,
        )
    return Macros(by_name=MappingProxyType(found), source=path)
