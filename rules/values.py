"""The closed sets of values rules can name, and the checks of the values the schema cannot type.

Most closed-set keys are typed with the ``Literal`` aliases of :mod:`rules.schema`
(``sentiment`` labels, ``weekday``, ``open_ticket.priority``, ``event``) or checked against a
registry (``channel``: :mod:`core.channels`), so a typo is a schema error reported with a
suggestion. Ticket field conditions share one model (:class:`~rules.schema.FieldCond`) for
``status``, ``priority`` and the open ``queue``, and FAQ ids come from ``faq.yml``;
:func:`check_values` checks those at load, with the YAML path the loader turns into
``file:line`` (and :func:`check_intent_labels` the intents of ``settings.intent_labels``).
Queue names, languages and tags are open: any name is fine.
"""

from __future__ import annotations

from collections.abc import Collection

from rules.compiler import Env, Loc, suggest
from rules.schema import CHANNELS, PRIORITIES, STATUSES, ConditionSpec, FieldCond

__all__ = ["CHANNELS", "PRIORITIES", "STATUSES", "check_intent_labels", "check_values", "unknown_value"]


def unknown_value(what: str, value: str, known: Collection[str]) -> str:
    """``unknown ticket status 'opne' (did you mean 'open'?); expected one of: new, open, ...``."""
    return f"unknown {what} {value!r}{suggest(value, known)}; expected one of: {', '.join(known)}"


_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "status": ("ticket status", STATUSES),
    "priority": ("ticket priority", PRIORITIES),
}


def check_values(spec: ConditionSpec | None, env: Env, loc: Loc, *, faq_ids: Collection[str]) -> None:
    """Report the values in condition ``spec`` (at ``loc``) that name nothing that exists."""
    if spec is None:
        return
    if spec.ticket is not None:
        for name, (what, known) in _FIELDS.items():
            cond = getattr(spec.ticket, name)
            if cond is not None:
                _field(cond, what, known, env, (*loc, "ticket", name))
    if spec.faq is not None and spec.faq.id is not None:
        for i, faq_id in enumerate(spec.faq.id):
            if faq_id not in faq_ids:
                env.problem(
                    (*loc, "faq", "id", i),
                    f"unknown FAQ id {faq_id!r}{suggest(faq_id, faq_ids)}; faq.yml ids: "
                    + ", ".join(sorted(faq_ids)),
                )
    for key, subs in (("all", spec.all), ("any", spec.any)):
        for i, sub in enumerate(subs or ()):
            check_values(sub, env, (*loc, key, i), faq_ids=faq_ids)
    check_values(spec.not_, env, (*loc, "not"), faq_ids=faq_ids)


def check_intent_labels(labels: Collection[str], env: Env) -> None:
    """Report ``settings.intent_labels`` keys that are not intents of ``intents.yml``."""
    if env.known_intents is None:
        return
    for name in labels:
        if name not in env.known_intents:
            env.problem(
                ("settings", "intent_labels", name),
                f"unknown intent {name!r}{suggest(name, env.known_intents)}",
            )


def _field(cond: FieldCond, what: str, known: tuple[str, ...], env: Env, loc: Loc) -> None:
    for key, values in (
        ("is", cond.is_),
        ("changed_from", cond.changed_from),
        ("changed_to", cond.changed_to),
    ):
        for i, value in enumerate(values or ()):
            if value not in known:
                env.problem((*loc, key, i), unknown_value(what, value, known))
