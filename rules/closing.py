"""Closing the loop: "thanks", "bye", "all good now" after a solve (``settings.closing``).

A customer message on a solved ticket reopens it (Zendesk's semantics), which is right for "it
broke again" and wrong for "Thanks, all good now": the agent's solved ticket came back as open
work. Messages whose top intent is one of ``intents`` are answered with ``response`` instead of
the rules, and decided as :class:`~rules.decision.KeepSolved`: the bot records the message on the
ticket (an agent sees the thanks) and leaves it solved. Anything else still reopens it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rules.actions import Render
from rules.compiler import Env, suggest
from rules.decision import Decision, KeepSolved, Reply, RuleTrace
from rules.facts import RuleFacts
from rules.schema import ClosingSpec
from rules.templates import unknown_variables

__all__ = ["BUILT_IN", "Closing", "compile_closing"]

Localized = Mapping[str, tuple[str, ...]]

# Said when the rulebook has no ``closing`` response and names none.
BUILT_IN: Localized = {
    "": ("You're welcome! Your ticket {ticket} stays solved; just write here if anything comes up.",)
}


@dataclass(frozen=True, slots=True)
class Closing:
    intents: frozenset[str]
    response: Localized

    def decide(self, intent: str | None, facts: RuleFacts, render: Render, language: str) -> Decision | None:
        """The decision for a closing message on a solved ticket, or None (the rules decide)."""
        conversation = facts.conversation
        if facts.event != "message" or conversation.ticket_status != "solved" or intent not in self.intents:
            return None
        reason = f"closing intent {intent} on solved ticket {conversation.ticket_reference}: not reopened"
        return Decision(
            actions=(Reply(render.pick(self.response, language)), KeepSolved(intent)),
            rule="closing",
            reason=reason,
            rules_fired=("closing",),
            trace=(RuleTrace("closing", True, reason),),
        )


def compile_closing(spec: ClosingSpec, responses: Mapping[str, Localized], env: Env) -> Closing:
    loc = ("settings", "closing")
    intents = frozenset(spec.intents)
    known = env.known_intents
    if known is not None and "intents" not in spec.model_fields_set:
        intents &= known  # the default names intents a rulebook may not have
    elif known is not None:
        for i, name in enumerate(spec.intents):
            if name not in known:
                env.problem(
                    (*loc, "intents", i),
                    f"unknown intent {name!r}{suggest(name, known)} (add it to intents.yml)",
                )
    found = responses.get(spec.response)
    if found is None:
        if "response" in spec.model_fields_set:
            env.problem(
                (*loc, "response"),
                f"unknown response {spec.response!r}{suggest(spec.response, responses)} "
                "(add it to responses.yml)",
            )
        found = BUILT_IN
    for variants in found.values():
        for template in variants:
            for problem in unknown_variables(template):
                env.problem((*loc, "response"), problem)
    return Closing(intents=intents, response=found)
