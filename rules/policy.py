"""The bridge between today's conversation flow and the rule :class:`~rules.engine.Engine`.

The flow still calls ``policy.decide(analysis, RuleContext(...))`` with the three facts it
knows; this adapter turns them into :class:`~rules.facts.RuleFacts` and asks the engine. When
the flow fills a full ``RuleFacts`` from storage it can call ``policy.engine.decide`` directly
and this module goes away. Without a ``rules.yml`` the engine runs the built-in rules (answer a
good FAQ match, otherwise open a ticket), so behaviour is unchanged for rulebooks without rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from nlp.types import Analysis
from rules.decision import Decision
from rules.engine import Engine
from rules.facts import ConversationFacts, CustomerFacts, RuleFacts
from rules.rulebook import Rulebook

__all__ = ["DefaultPolicy", "RuleContext"]


@dataclass(frozen=True, slots=True)
class RuleContext:
    channel: str
    has_open_ticket: bool
    handed_off: bool


class DefaultPolicy:
    def __init__(self, *, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def rulebook(self) -> Rulebook:
        return self._engine.ruleset.rulebook

    def decide(self, analysis: Analysis, context: RuleContext) -> Decision:
        facts = RuleFacts(
            channel=context.channel,
            customer=CustomerFacts(open_tickets=1 if context.has_open_ticket else 0),
            conversation=ConversationFacts(
                handed_off=context.handed_off, has_open_ticket=context.has_open_ticket
            ),
        )
        return self._engine.decide(analysis, facts)
