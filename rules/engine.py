"""The rule engine: one :class:`~rules.loader.RuleSet`, and ``decide(analysis, facts) -> Decision``.

Rules are tried in file order; every rule whose conditions hold fires (its actions are appended)
and evaluation stops after it unless it says ``continue: true``. Loop guards run before a rule's
conditions. Deciding is pure and synchronous: the same inputs and random seed give the same
decision, and nothing is written anywhere, which is what lets ``frontdesk rules test`` show
exactly what the bot would do.

With ``explain=True`` the trace lists every rule with the reason it did not match (the first
failing condition and what the message had); otherwise only fired rules are traced, which keeps
the bot's hot path at a few microseconds per rule.
"""

from __future__ import annotations

import random

from nlp.types import Analysis
from rules.actions import Render
from rules.conditions import subject_of
from rules.decision import Action, Decision, HandOff, Reply, RuleTrace
from rules.facts import RuleFacts
from rules.guards import chain_blocked, guard_suspects, reply_limit_reached, rule_blocked
from rules.loader import RuleSet
from rules.templates import variables_for

__all__ = ["Engine"]


class Engine:
    def __init__(self, *, ruleset: RuleSet, rng: random.Random | None = None) -> None:
        self._ruleset = ruleset
        self._rng = rng or random.Random()  # noqa: S311 - picks reply variants, not secrets

    @property
    def ruleset(self) -> RuleSet:
        return self._ruleset

    def decide(self, analysis: Analysis, facts: RuleFacts, *, explain: bool = False) -> Decision:
        rs = self._ruleset
        limits = rs.limits
        blocked = chain_blocked(facts, limits)
        if blocked is not None:
            return Decision(actions=(), rule="", reason=blocked)
        subject = subject_of(analysis, facts)
        render = Render(
            variables=variables_for(analysis, facts), rng=self._rng, default_language=rs.default_language
        )
        limit = reply_limit_reached(facts, limits)
        if limit is not None:
            text = render.pick(rs.rulebook.localized[limits.limit_response], subject.language)
            return Decision(
                actions=(Reply(text), HandOff(note=limit)),
                rule="reply_limit",
                reason=limit,
                rules_fired=("reply_limit",),
                trace=(RuleTrace("reply_limit", True, limit),),
            )
        actions: list[Action] = []
        fired: list[str] = []
        trace: list[RuleTrace] = []
        reasons: list[str] = []
        if explain:
            rules = rs.by_event.get(facts.event, ())
        else:
            top = subject.intent.name if subject.intent is not None else None
            rules = rs.by_intent.get((facts.event, top)) or rs.by_intent.get((facts.event, None), ())
        suspects = guard_suspects(facts, limits)
        stopped_at = len(rules)
        # Conditions first, guards only for rules that match: the loop body for a rule that does
        # not match is one closure call, which keeps 1,000 rules under a millisecond.
        for index, rule in enumerate(rules):
            if not rule.ok(subject):
                if explain:
                    trace.append(RuleTrace(rule.name, False, rule.when.why_not(subject), rule.line))
                continue
            if rule.max_fires is not None or rule.name in suspects:
                guard = rule_blocked(rule.name, max_fires=rule.max_fires, facts=facts, limits=limits)
                if guard is not None:
                    if explain:
                        trace.append(RuleTrace(rule.name, False, guard, rule.line))
                    continue
            why = rule.when.why(subject)
            notes = []
            for plan in rule.then:
                produced, note = plan.produce(subject, render)
                actions.extend(produced)
                if note:
                    notes.append(note)
            fired.append(rule.name)
            reasons.append(why)
            trace.append(RuleTrace(rule.name, True, "; ".join([why, *notes]), rule.line))
            if not rule.continue_:
                stopped_at = index
                break
        if explain:
            trace.extend(
                RuleTrace(r.name, False, f"not evaluated: rule {rules[stopped_at].name!r} stopped", r.line)
                for r in rules[stopped_at + 1 :]
            )
        if not fired:
            return Decision(actions=(), rule="", reason="no rule matched", trace=tuple(trace))
        return Decision(
            actions=tuple(actions),
            rule="+".join(fired)[:200],
            reason=" | ".join(reasons),
            rules_fired=tuple(fired),
            trace=tuple(trace),
        )
