"""What each kind of rule can see and do, checked at load.

A rule with ``event: ticket`` runs on a ticket change (see ``bot/ticket_rules.py``): there is no
customer message and no conversation turn, and only ticket-level actions can be carried out:
each action kind that cannot says why in :data:`rules.actions.SPEC_KINDS` (``tag``/``untag``
work on the ticket only). A message rule, in turn, has no ticket change to look at. Anything a
rule uses outside its scope would be silently ignored at run time, so it is reported here, with
the YAML path the loader turns into ``file:line``, and what to use instead.
"""

from __future__ import annotations

from rules.actions import SPEC_KINDS
from rules.compiler import Env, Loc
from rules.schema import ActionSpec, ConditionSpec, RuleSpec

__all__ = ["TICKET_ACTIONS", "check_scope"]

# The kinds ticket rules can use (tag/untag: on the ticket only); SPEC_KINDS says why the others not.
TICKET_ACTIONS = tuple(kind for kind, entry in SPEC_KINDS.items() if entry.not_on_tickets is None)
_MESSAGE_ONLY = ("intent", "out_of_scope", "sentiment", "complaint", "entity", "faq", "text")
_TICKET_CUSTOMER = ("tag",)  # the customer facts a ticket rule has


def check_scope(spec: RuleSpec, env: Env, loc: Loc) -> None:
    """Report the actions and conditions of rule ``spec`` (at ``loc``) its event cannot use."""
    _conditions(spec.when, spec.event == "ticket", env, (*loc, "when"))
    if spec.event == "ticket":
        for j, action in enumerate(spec.then):
            _ticket_action(action, env, (*loc, "then", j))


def _ticket_action(action: ActionSpec, env: Env, loc: Loc) -> None:
    kind = action.kind
    why_not = SPEC_KINDS[kind].not_on_tickets
    if why_not is not None:
        env.problem((*loc, kind), f"action {kind} is not available in event: ticket rules ({why_not})")
        return
    tags = action.tag or action.untag
    if tags is not None and tags.customer:
        env.problem(
            (*loc, kind, "customer"),
            f"action {kind}: {{customer: ...}} is not available in event: ticket rules "
            f"(use {kind}: {{ticket: [...]}})",
        )


def _conditions(spec: ConditionSpec | None, ticket_rule: bool, env: Env, loc: Loc) -> None:
    if spec is None:
        return
    for key, subs in (("all", spec.all), ("any", spec.any)):
        for i, sub in enumerate(subs or ()):
            _conditions(sub, ticket_rule, env, (*loc, key, i))
    _conditions(spec.not_, ticket_rule, env, (*loc, "not"))
    if not ticket_rule:
        if spec.ticket is not None:
            env.problem(
                (*loc, "ticket"),
                "condition ticket is only available in event: ticket rules (add `event: ticket` to "
                "this rule, or use conversation: {has_open_ticket: true})",
            )
        return
    for key in _MESSAGE_ONLY:
        if getattr(spec, key) is not None:
            env.problem(
                (*loc, key),
                f"condition {key} is not available in event: ticket rules: a ticket change has no "
                "customer message (use ticket: conditions)",
            )
    if spec.conversation is not None:
        for key in sorted(spec.conversation.model_fields_set):
            env.problem(
                (*loc, "conversation", key),
                f"condition conversation.{key} is not available in event: ticket rules "
                "(use ticket: conditions)",
            )
    if spec.customer is not None:
        for key in sorted(spec.customer.model_fields_set - set(_TICKET_CUSTOMER)):
            env.problem(
                (*loc, "customer", key),
                f"condition customer.{key} is not available in event: ticket rules "
                "(use customer: {tag: ...})",
            )
