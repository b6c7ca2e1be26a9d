"""Loop guards: pure checks over the conversation facts that stop the bot from talking forever.

Three loops are possible in practice. A rule answers every message with the same text while the
customer keeps rephrasing (``max_repeats`` in a row, then the next rule gets its chance,
typically a hand-off); a conversation with a bot that never gives up (``max_automated_replies``
per conversation, then one hand-off message); and ticket rules triggering each other through
their own changes (a rule never fires on an event it led to, directly or through other rules,
and chains stop at ``max_chain``). ``TicketFacts.caused_by`` is that whole chain: the ticket rule
runner records it on the changes a rule makes. Each check returns the reason it blocked, or
``None``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.facts import RuleFacts

__all__ = ["Limits", "chain_blocked", "guard_suspects", "reply_limit_reached", "rule_blocked"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_automated_replies: int = 30
    max_repeats: int = 3
    max_chain: int = 3
    limit_response: str = "reply_limit"


def rule_blocked(name: str, *, max_fires: int | None, facts: RuleFacts, limits: Limits) -> str | None:
    """Why ``name`` may not fire for this event, if it may not."""
    conversation = facts.conversation
    if max_fires is not None and conversation.rule_fires.get(name, 0) >= max_fires:
        return f"loop guard: already fired {max_fires} time(s) in this conversation (max_fires)"
    recent = conversation.recent_rules[-limits.max_repeats :]
    if facts.event == "message" and len(recent) == limits.max_repeats and all(r == name for r in recent):
        return f"loop guard: answered the last {limits.max_repeats} messages in a row (max_repeats)"
    if facts.event == "ticket" and facts.ticket is not None and name in facts.ticket.caused_by:
        return "loop guard: this ticket event was caused by this rule"
    return None


def guard_suspects(facts: RuleFacts, limits: Limits) -> frozenset[str]:
    """Rules that :func:`rule_blocked` might block for these facts besides ``max_fires`` ones.

    Computed once per decision so the engine runs the full check for a handful of rules only.
    """
    names: set[str] = set()
    recent = facts.conversation.recent_rules[-limits.max_repeats :]
    if facts.event == "message" and len(recent) == limits.max_repeats and len(set(recent)) == 1:
        names.add(recent[0])
    if facts.event == "ticket" and facts.ticket is not None:
        names.update(facts.ticket.caused_by)
    return frozenset(names)


def chain_blocked(facts: RuleFacts, limits: Limits) -> str | None:
    """Why no rule may react to this ticket event (a chain of rule-caused changes too long)."""
    ticket = facts.ticket
    if facts.event == "ticket" and ticket is not None and len(ticket.caused_by) >= limits.max_chain:
        return f"loop guard: {len(ticket.caused_by)} rules in a row caused this event (max_chain)"
    return None


def reply_limit_reached(facts: RuleFacts, limits: Limits) -> str | None:
    """Why the bot must stop replying automatically in this conversation, if it must."""
    sent = facts.conversation.automated_replies
    if facts.event == "message" and sent >= limits.max_automated_replies:
        return f"loop guard: {sent} automated replies in this conversation (max_automated_replies)"
    return None
