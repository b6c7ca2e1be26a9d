"""Reply templates: ``{customer.name|there}``-style variables over a flat dict of strings.

Why not Jinja2's ``SandboxedEnvironment``: rule templates only ever need "insert this value, or a
fallback", and a sandbox that still evaluates expressions has had escapes (format-string and
attribute tricks). Here nothing is evaluated at all: a variable is a dotted *name* looked up in a
plain ``Mapping[str, str]`` built from the analysis and the facts, so a template (or a customer's
text echoed into one) cannot reach a Python object. Substituted values are never re-scanned.

``{ticket}``, ``{bot_name}`` and the ``{result.*}`` variables (what the decision's actions did:
a new ticket or the open one, its priority before and after, its queue) are only known when the
bot executes the decision (the ticket number is allocated then), so they are left as written for
the executor unless given. ``{slots.<name>}`` are the values the customer gave to a rule's ``ask``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from nlp.types import Analysis
from rules.facts import RuleFacts, conversation_language

__all__ = [
    "DEFERRED",
    "KNOWN_PREFIXES",
    "KNOWN_VARIABLES",
    "RESULT_VARIABLES",
    "missing_variables",
    "render",
    "unknown_variables",
    "variables_for",
]

_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_]*(?:\.[a-z0-9_-]+)*)(?:\|([^{}]*))?\}")

# What the executor knows once the decision's actions ran (bot/rule_actions.py fills them).
RESULT_VARIABLES = frozenset(
    {
        "result.ticket",  # the ticket the message went to (new or existing), e.g. T-1042
        "result.ticket_status",  # "new" (opened now) or "existing"
        "result.priority",  # its priority after the actions
        "result.priority_before",  # before them (the new ticket's own priority if opened now)
        "result.queue",
        "result.team",  # settings.queue_labels of the queue, else the queue's name
        "result.tags",  # the ticket's tags after the actions, comma-separated
        "result.wait",  # the SLA reply target of the ticket's policy and priority, e.g. "4 hours"
        "result.reply_by",  # that target counted in business hours from now, e.g. "Mon 13:00 CET"
    }
)
DEFERRED = frozenset({"ticket", "bot_name", *RESULT_VARIABLES})
KNOWN_VARIABLES = frozenset(
    {
        *DEFERRED,
        "customer.name",
        "customer.first_name",
        "customer.email",
        "message",
        "message.first_line",
        "intent",
        "channel",
        "language",
        "ticket.status",
        "ticket.priority",
        "ticket.queue",
    }
)
KNOWN_PREFIXES = ("entity.", "attribute.", "slots.")


def render(template: str, variables: Mapping[str, str]) -> str:
    """Fill variables; a missing one becomes its ``|fallback`` (or nothing), deferred ones stay."""

    def fill(m: re.Match[str]) -> str:
        name, fallback = m.group(1), m.group(2)
        value = variables.get(name)
        if value:
            return value
        if name in DEFERRED and (fallback is None or name in RESULT_VARIABLES):
            return m.group(0)
        return fallback or ""

    return _VARIABLE.sub(fill, template)


def unknown_variables(
    template: str,
    *,
    known: frozenset[str] = KNOWN_VARIABLES,
    prefixes: tuple[str, ...] = KNOWN_PREFIXES,
) -> list[str]:
    """Variables that can never have a value, each with a "did you mean" hint when one is close.

    ``known`` and ``prefixes``: the names of another kind of template (macros: :mod:`rules.macros`).
    """
    problems = []
    for m in _VARIABLE.finditer(template):
        name = m.group(1)
        if name in known or any(name.startswith(p) and len(name) > len(p) for p in prefixes):
            continue
        hint = difflib.get_close_matches(name, sorted(known), n=1)
        problems.append(f"unknown variable {{{name}}}" + (f" (did you mean {{{hint[0]}}}?)" if hint else ""))
    return problems


def missing_variables(template: str, variables: Mapping[str, str]) -> list[str]:
    """The variables of ``template`` that have no value in ``variables`` and no ``|fallback``:
    what :func:`render` would leave as written (deferred) or drop, in order, without repeats."""
    missing: list[str] = []
    for m in _VARIABLE.finditer(template):
        name = m.group(1)
        if not variables.get(name) and m.group(2) is None and name not in missing:
            missing.append(name)
    return missing


def variables_for(analysis: Analysis, facts: RuleFacts) -> dict[str, str]:
    """The values a template may use for this message; built once per decision."""
    customer = facts.customer
    text = analysis.text.strip()
    out: dict[str, str] = {
        "message": text,
        "message.first_line": (text.splitlines()[0][:120] if text else "(no text)"),
        "channel": facts.channel,
        "language": conversation_language(analysis, facts.conversation.language),
    }
    name_parts = (customer.name or "").split()
    if name_parts:
        out["customer.name"] = " ".join(name_parts)
        out["customer.first_name"] = name_parts[0]
    if customer.email:
        out["customer.email"] = customer.email
    intent = analysis.intent
    if intent is not None:
        out["intent"] = intent.name
    _add(out, "attribute.", customer.attributes.items())
    _add(out, "entity.", ((e.type, e.value) for e in reversed(analysis.entities)))  # first one wins
    _add(out, "slots.", facts.conversation.slots.items())
    ticket = facts.ticket
    if ticket is not None:
        out.update(
            {
                "ticket": ticket.reference,
                "ticket.status": ticket.status,
                "ticket.priority": ticket.priority,
                "ticket.queue": ticket.queue,
            }
        )
    return out


def _add(out: dict[str, str], prefix: str, items: Iterable[tuple[str, str]]) -> None:
    for key, value in items:
        out[prefix + key] = str(value)
