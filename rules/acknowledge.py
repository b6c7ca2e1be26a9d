"""Never silent: what a message that no rule answered gets (``settings.acknowledge``, always on).

Once a ticket is open (and certainly once an agent has the conversation) the customer's next
messages used to get no answer at all. Now every such message gets the ``response`` ("Added to
{ticket}; an agent replies by {result.reply_by}"), filled in by the bot with what it knows: the
ticket, the SLA target of its policy and priority, counted in business hours. A rulebook without
that response gets :data:`BUILT_IN`. ``repeat`` only says how often the customer is told again
on the same ticket: every message, once per ticket, or once per period (default 15 minutes); a
message that is not told again gets an :class:`~rules.decision.Acknowledge` without text, whose
note is kept with the message, so the silence is a recorded decision rather than an accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from rules.actions import Render
from rules.compiler import Env, suggest
from rules.decision import Acknowledge
from rules.facts import RuleFacts
from rules.schema import AcknowledgeSpec
from rules.templates import unknown_variables

__all__ = ["BUILT_IN", "Acknowledgement", "compile_acknowledgement"]

Localized = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    with_ticket: Localized
    without_ticket: Localized | None
    repeat: str  # every_message | once_per_ticket | a period ("15m")
    every: timedelta | None  # the period, when repeat is one

    def decide(self, facts: RuleFacts, *, opened: bool, render: Render, language: str) -> Acknowledge:
        """The acknowledgement for a message no rule answered (``opened``: the decision opens a
        ticket)."""
        conversation = facts.conversation
        if not (conversation.has_open_ticket or opened):
            if self.without_ticket is None:
                return Acknowledge(None, "no ticket and no acknowledge.without_ticket response")
            return Acknowledge(render.pick(self.without_ticket, language), "acknowledged (no ticket)")
        told = conversation.acknowledged
        reference = conversation.ticket_reference
        # Rendered only when it is said: most messages after a hand-off are not told again, and
        # rendering the template was most of what planning such a message cost.
        if told is None or opened or told[0] != reference or self.repeat == "every_message":
            return Acknowledge(render.pick(self.with_ticket, language), "acknowledged")
        if self.repeat == "once_per_ticket":
            return Acknowledge(None, f"not repeated: already told about {reference} (once_per_ticket)")
        assert self.every is not None
        if facts.now - told[1] < self.every:
            return Acknowledge(None, f"not repeated: told about {reference} within {self.repeat}")
        return Acknowledge(render.pick(self.with_ticket, language), "acknowledged")


# Said when the rulebook has no ``acknowledge`` response and names none: the switch is never off.
BUILT_IN: Localized = {
    "": (
        "Thanks, I've added this to your ticket {ticket}. A colleague will reply right here, expected "
        "by {result.reply_by|the next working day}.",
    )
}


def compile_acknowledgement(
    spec: AcknowledgeSpec, responses: Mapping[str, Localized], env: Env
) -> Acknowledgement:
    loc = ("settings", "acknowledge")

    def texts(name: str, key: str) -> Localized:
        found = responses.get(name)
        if found is None and key == "response" and "response" not in spec.model_fields_set:
            return BUILT_IN
        if found is None:
            env.problem(
                (*loc, key), f"unknown response {name!r}{suggest(name, responses)} (add it to responses.yml)"
            )
            return {"": ("",)}
        for variants in found.values():
            for template in variants:
                for problem in unknown_variables(template):
                    env.problem((*loc, key), problem)
        return found

    every = None
    if spec.repeat not in ("every_message", "once_per_ticket"):
        amount, unit = int(spec.repeat[:-1]), spec.repeat[-1]
        every = timedelta(minutes=amount) if unit == "m" else timedelta(hours=amount)
    return Acknowledgement(
        with_ticket=texts(spec.response, "response"),
        without_ticket=None if spec.without_ticket is None else texts(spec.without_ticket, "without_ticket"),
        repeat=spec.repeat,
        every=every,
    )
