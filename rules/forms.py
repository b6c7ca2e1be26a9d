"""Slots and forms: a rule's ``ask`` action, and what the next message does to the question.

Rasa's forms, cut to what a rulebook needs. A rule asks for one value of an entity type or a
pattern (``ask: {slot: order_number, entity: order_ref, pattern: ...}``) and stops there; the
conversation remembers the question (``conversations.dialog``). The customer's next message is
read as the answer first: the bare value in the format the bot asked for ("A-123456", "12345"),
or the same value inside a sentence ("my order number is 12345"). An answer fills the slot and
the asking rule resumes after its ``ask`` without checking its conditions again. Otherwise the
customer may cancel, change the subject (a confident intent the form does not keep), or get a
differently worded question again, at most ``max_attempts`` questions in all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from nlp.types import Analysis
from rules.conditions import Subject
from rules.decision import Action, AskSlot, ClearAsk, FillSlot, QuickReplyButton, Reply
from rules.facts import Asking, RuleFacts
from rules.localized import pick as pick_language

__all__ = ["Answer", "SlotForm", "with_slot"]

Localized = Mapping[str, tuple[str, ...]]
Pick = Callable[[Localized, str, int], str]  # variants, language, attempt → rendered text


@dataclass(frozen=True, slots=True)
class Answer:
    """What the next message did to a pending question."""

    actions: tuple[Action, ...]
    reason: str
    resume: bool = False  # the slot is filled: the asking rule's later actions run
    rethink: bool = False  # the subject changed: decide the message with the other rules


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotForm:
    """One compiled ``ask``: how an answer is recognised and what the bot says."""

    slot: str
    rule: str
    entity: str | None
    pattern: re.Pattern[str] | None
    prompt: Localized
    retry: Localized
    give_up: Localized
    cancelled: Localized
    buttons: Mapping[str, tuple[QuickReplyButton, ...]]  # per language; "": the default language's
    max_attempts: int
    cancel: re.Pattern[str]
    keep_intents: frozenset[str] | None

    def fill(self, analysis: Analysis) -> str | None:
        """The answer in ``analysis``: the bare value, an entity of the type asked for (valid
        by the pattern, if any), or the pattern found inside the sentence."""
        text = analysis.text.strip().strip(".!?").strip()
        pattern = self.pattern
        if pattern is not None:
            bare = pattern.fullmatch(text.lstrip("#").strip())
            if bare is not None:
                return _value(bare)
        if self.entity is not None:
            for e in analysis.entities:
                if e.type == self.entity and (pattern is None or pattern.fullmatch(e.value)):
                    return e.value
        if pattern is not None:
            inside = re.search(rf"(?<![\w-])(?:{pattern.pattern})(?![\w-])", text, pattern.flags)
            if inside is not None:
                return _value(inside)
        return None

    def ask(self, s: Subject, pick: Pick) -> tuple[Action, ...]:
        return (AskSlot(self.slot, self.rule, 1), Reply(pick(self.prompt, s.language, 0), self.buttons_in(s)))

    def buttons_in(self, s: Subject) -> tuple[QuickReplyButton, ...]:
        """The prompt's buttons in the conversation's language, else the default language's."""
        return pick_language(self.buttons, s.language, "") if self.buttons else ()

    def answer(self, s: Subject, asking: Asking, pick: Pick) -> Answer:
        """The next message after the question: an answer, a cancel, a new subject or a retry."""
        value = self.fill(s.analysis)
        if value is not None:
            return Answer((FillSlot(self.slot, value),), f"slot {self.slot} answered", resume=True)
        if self.cancel.search(s.text_lower):
            said = (Reply(pick(self.cancelled, s.language, 0)),) if self.cancelled else ()
            return Answer((ClearAsk(self.slot, "cancelled"), *said), f"{self.slot}: the customer cancelled")
        intent = s.intent
        if intent is not None and not s.analysis.out_of_scope and self._leaves(intent.name):
            why = f"{self.slot}: the customer changed the subject ({intent.name})"
            return Answer((ClearAsk(self.slot, "changed subject"),), why, rethink=True)
        if asking.attempts >= self.max_attempts:
            said = (Reply(pick(self.give_up, s.language, 0)),) if self.give_up else ()
            why = f"{self.slot}: no valid answer after {asking.attempts} questions"
            return Answer((ClearAsk(self.slot, "gave up"), *said), why)
        text = pick(self.retry or self.prompt, s.language, asking.attempts - 1)
        again = AskSlot(self.slot, self.rule, asking.attempts + 1)
        retry = Reply(text, self.buttons_in(s))
        return Answer((again, retry), f"{self.slot}: not a valid answer, asked again")

    def _leaves(self, intent: str) -> bool:
        return self.keep_intents is None or intent not in self.keep_intents


def _value(m: re.Match[str]) -> str:
    if "value" in m.re.groupindex and m.group("value"):
        return m.group("value")
    return m.group(0)


def with_slot(facts: RuleFacts, slot: str, value: str) -> RuleFacts:
    """``facts`` with ``slot`` filled and no question pending (for the resumed rule)."""
    conversation = facts.conversation
    slots = {**conversation.slots, slot: value}
    return replace(facts, conversation=replace(conversation, slots=slots, asking=None))
