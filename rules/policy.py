"""The built-in policy the bot follows until an admin writes ``rules.yml``.

Answer with the best FAQ when it matches well enough; otherwise say so politely and open a
ticket (or add the message to the conversation's open ticket) so a human follows up. Pure and
synchronous: it reads the analysis and the conversation facts and returns a :class:`Decision`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from nlp.types import Analysis
from rules.decision import Decision, OpenTicket, Reply
from rules.rulebook import Rulebook

__all__ = ["DefaultPolicy", "RuleContext"]


@dataclass(frozen=True, slots=True)
class RuleContext:
    channel: str
    has_open_ticket: bool
    handed_off: bool


class DefaultPolicy:
    def __init__(self, *, rulebook: Rulebook, faq_threshold: float, rng: random.Random | None = None) -> None:
        self._rulebook = rulebook
        self._threshold = faq_threshold
        self._rng = rng or random.Random()  # noqa: S311 - choosing among reply variants, not security

    @property
    def rulebook(self) -> Rulebook:
        return self._rulebook

    def decide(self, analysis: Analysis, context: RuleContext) -> Decision:
        best = analysis.best_faq
        if best is not None and best.score >= self._threshold:
            return Decision(
                actions=(Reply(best.answer),),
                rule=f"faq:{best.faq_id}",
                reason=f"FAQ {best.faq_id!r} matched with score {best.score:.2f} ≥ {self._threshold:.2f}",
            )
        top = f"best FAQ score {best.score:.2f}" if best else "no FAQ candidates"
        key = "fallback_existing_ticket" if context.has_open_ticket else "fallback_new_ticket"
        subject = analysis.text.strip().splitlines()[0][:120] if analysis.text.strip() else "(no text)"
        return Decision(
            actions=(OpenTicket(subject=subject, tags=("bot-fallback",)), Reply(self._pick(key))),
            rule="fallback",
            reason=f"{top} < {self._threshold:.2f}",
        )

    def _pick(self, key: str) -> str:
        return self._rng.choice(self._rulebook.responses[key])
