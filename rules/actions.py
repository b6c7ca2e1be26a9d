"""Turning a rule's ``then`` list into executable :mod:`rules.decision` actions.

Each key an :class:`~rules.schema.ActionSpec` can have has one :data:`SPEC_KINDS` entry: how it
compiles, and why ``event: ticket`` rules cannot use it, if they cannot (the bot's executor,
``bot/rule_actions.py``, carries the decided actions out). Each spec is compiled once at load
into an :class:`ActionPlan`; at decision time a plan renders its texts (sandboxed, see
:mod:`rules.templates`), picks a random variant in the conversation's language, and resolves
the analysis-only actions (best FAQ, clarifying question) into plain replies. A plan that has
nothing to do (no FAQ good enough) returns no action and says why, so the trace can show it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from rules.compiler import Env, Loc, suggest
from rules.conditions import Subject
from rules.decision import (
    Action,
    AddNote,
    CloseConversation,
    FillSlot,
    HandOff,
    NotifySlack,
    OpenTicket,
    QuickReplyButton,
    Reply,
    SetAttribute,
    SetTicket,
    Tag,
    TagTarget,
    Untag,
)
from rules.forms import SlotForm
from rules.localized import buttons_by_language, pick
from rules.schema import (
    ActionSpec,
    AnswerFaqSpec,
    AskSpec,
    ClarifySpec,
    HandOffSpec,
    NotifySpec,
    OpenTicketSpec,
    ReplySpec,
    SetTicketSpec,
    TagSpec,
    Variants,
)
from rules.templates import render, unknown_variables

__all__ = ["SPEC_KINDS", "ActionPlan", "Localized", "Render", "SpecKind", "compile_action"]

Localized = Mapping[str, tuple[str, ...]]  # language → variants


@dataclass(frozen=True, slots=True)
class Render:
    """What a plan needs at decision time besides the subject."""

    variables: Mapping[str, str]
    rng: random.Random
    default_language: str

    def pick(self, variants: Localized, language: str) -> str:
        options = pick(variants, language, self.default_language)
        return render(self.rng.choice(options), self.variables)

    def nth(self, variants: Localized, language: str, n: int) -> str:
        """The ``n``-th variant (wrapping), so a question asked again is worded differently."""
        options = pick(variants, language, self.default_language)
        return render(options[n % len(options)], self.variables)


@dataclass(frozen=True, slots=True)
class ActionPlan:
    kind: str
    produce: Callable[[Subject, Render], tuple[tuple[Action, ...], str]]  # actions, note for the trace
    form: SlotForm | None = None  # an ``ask``: the engine resumes here once the slot is answered


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    """What compiling one action needs besides its spec."""

    kind: str
    rule: str
    env: Env
    loc: Loc  # the action's YAML path, ending in its kind
    responses: Mapping[str, Localized]
    intent_labels: Mapping[str, str]
    faq_threshold: float
    offered: frozenset[str] | None = None  # intents clarify may offer (None: any with a label)
    label_translations: Mapping[str, Mapping[str, str]]  # intent → language → label, when split
    faq_answers: Mapping[str, Mapping[str, str]]  # FAQ id → language → answer
    default_language: str

    def text(self, template: str, key: Loc = ()) -> str:
        """``template`` as given, its unknown variables reported at ``key`` under the action."""
        for problem in unknown_variables(template):
            self.env.problem((*self.loc, *key), problem)
        return template

    def fixed(self, *actions: Action) -> ActionPlan:
        return ActionPlan(self.kind, lambda s, r: (actions, ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecKind:
    """One key of a rule's ``then`` items: how it compiles, and where it cannot be used.

    ``not_on_tickets`` says why ``event: ticket`` rules cannot use the kind (None: they can); the
    loader reports it at the action's line (:mod:`rules.scope`), and the bot's executor has no
    ticket-event effect for what only such kinds decide.
    """

    compile: Callable[[Any, _Context], ActionPlan]
    not_on_tickets: str | None = None


def compile_action(
    spec: ActionSpec,
    env: Env,
    loc: Loc,
    *,
    responses: Mapping[str, Localized],
    intent_labels: Mapping[str, str],
    faq_threshold: float,
    rule: str = "",
    offered: frozenset[str] | None = None,
    label_translations: Mapping[str, Mapping[str, str]] | None = None,
    faq_answers: Mapping[str, Mapping[str, str]] | None = None,
    default_language: str = "en",
) -> ActionPlan:
    kind = spec.kind
    context = _Context(
        kind=kind,
        rule=rule,
        env=env,
        loc=(*loc, kind),
        responses=responses,
        intent_labels=intent_labels,
        faq_threshold=faq_threshold,
        offered=offered,
        label_translations=label_translations or {},
        faq_answers=faq_answers or {},
        default_language=default_language,
    )
    return SPEC_KINDS[kind].compile(getattr(spec, kind), context)


def _open_ticket(spec: OpenTicketSpec, c: _Context) -> ActionPlan:
    subject = c.text(spec.subject, ("subject",))
    queue, priority, tags = spec.queue, spec.priority, tuple(spec.tags)
    return ActionPlan(
        c.kind,
        lambda s, r: (
            (
                OpenTicket(
                    subject=render(subject, r.variables)[:200] or "(no subject)",
                    queue=queue,
                    priority=priority,
                    tags=tags,
                ),
            ),
            "",
        ),
    )


def _add_note(spec: str, c: _Context) -> ActionPlan:
    note = c.text(spec)
    return ActionPlan(c.kind, lambda s, r: ((AddNote(render(note, r.variables)),), ""))


def _retag(make: type[Tag | Untag]) -> Callable[[TagSpec, _Context], ActionPlan]:
    def compile_tags(spec: TagSpec, c: _Context) -> ActionPlan:
        targets: tuple[tuple[TagTarget, list[str]], ...] = (
            ("customer", spec.customer),
            ("ticket", spec.ticket),
        )
        return c.fixed(*(make(target, tuple(names)) for target, names in targets if names))

    return compile_tags


def _set_attribute(spec: dict[str, str], c: _Context) -> ActionPlan:
    items = tuple((name, c.text(value, (name,))) for name, value in spec.items())
    return ActionPlan(
        c.kind,
        lambda s, r: (tuple(SetAttribute(name, render(value, r.variables)) for name, value in items), ""),
    )


def _hand_off(spec: HandOffSpec, c: _Context) -> ActionPlan:
    note = c.text(spec.note, ("note",))
    return ActionPlan(c.kind, lambda s, r: ((HandOff(render(note, r.variables)),), ""))


def _notify(spec: NotifySpec, c: _Context) -> ActionPlan:
    channel = spec.slack.lstrip("#")
    message = c.text(spec.text, ("text",))
    return ActionPlan(c.kind, lambda s, r: ((NotifySlack(channel, render(message, r.variables)),), ""))


def _variants(
    text: Variants | None, response: str | None, env: Env, loc: Loc, responses: Mapping[str, Localized]
) -> Localized:
    if text is not None:
        localized: dict[str, tuple[str, ...]] = (
            {lang: tuple(v) for lang, v in text.items()} if isinstance(text, dict) else {"": tuple(text)}
        )
        key: Loc = ("text",)
    else:
        assert response is not None
        found = responses.get(response)
        if found is None:
            env.problem(
                (*loc, "response"),
                f"unknown response {response!r}{suggest(response, responses)} (add it to responses.yml)",
            )
            return {"": ("",)}
        localized, key = dict(found), ("response",)
    for variants in localized.values():
        for template in variants:
            for problem in unknown_variables(template):
                env.problem((*loc, *key), problem)
    return localized


def _reply(spec: ReplySpec, c: _Context) -> ActionPlan:
    variants = _variants(spec.text, spec.response, c.env, c.loc, c.responses)
    localized = buttons_by_language(spec.buttons, c.default_language)
    alt = spec.existing_ticket
    if alt is None:
        return ActionPlan(
            "reply",
            lambda s, r: ((Reply(r.pick(variants, s.language), pick(localized, s.language, "")),), ""),
        )
    existing = _variants(alt.text, alt.response, c.env, (*c.loc, "existing_ticket"), c.responses)

    def produce(s: Subject, r: Render) -> tuple[tuple[Action, ...], str]:
        buttons = pick(localized, s.language, "")
        if s.facts.conversation.has_open_ticket:
            return (Reply(r.pick(existing, s.language), buttons),), "the conversation has a ticket"
        return (Reply(r.pick(variants, s.language), buttons),), ""

    return ActionPlan("reply", produce)


def _ask(spec: AskSpec, c: _Context) -> ActionPlan:
    def texts(reply: ReplySpec | None, key: str) -> Localized:
        if reply is None:
            return {}
        return _variants(reply.text, reply.response, c.env, (*c.loc, key), c.responses)

    pattern = None
    if spec.pattern is not None:
        try:
            pattern = re.compile(spec.pattern, re.IGNORECASE)
        except re.error as exc:
            c.env.problem((*c.loc, "pattern"), f"invalid regular expression {spec.pattern!r}: {exc}")
    form = SlotForm(
        slot=spec.slot,
        rule=c.rule,
        entity=spec.entity,
        pattern=pattern,
        prompt=texts(spec.prompt, "prompt"),
        retry=texts(spec.retry, "retry"),
        give_up=texts(spec.give_up, "give_up"),
        cancelled=texts(spec.cancelled, "cancelled"),
        buttons=buttons_by_language(spec.prompt.buttons, c.default_language),
        max_attempts=spec.max_attempts,
        cancel=re.compile(r"\b(?:" + "|".join(re.escape(w.lower()) for w in spec.cancel_words) + r")\b"),
        keep_intents=frozenset(spec.keep_intents) if spec.keep_intents is not None else None,
    )

    reuse = spec.reuse

    def produce(s: Subject, r: Render) -> tuple[tuple[Action, ...], str]:
        value = form.fill(s.analysis)
        if value is not None:
            return (FillSlot(form.slot, value),), f"slot {form.slot} filled from this message"
        if reuse and form.slot in s.facts.conversation.slots:
            return (), f"slot {form.slot} already filled"
        return form.ask(s, r.nth), f"asked for {form.slot}"

    return ActionPlan("ask", produce, form=form)


def _set_ticket(spec: SetTicketSpec, c: _Context) -> ActionPlan:
    return c.fixed(SetTicket(spec.priority))


def _answer_faq(spec: AnswerFaqSpec, c: _Context) -> ActionPlan:
    threshold = spec.min_score if spec.min_score is not None else c.faq_threshold
    answers = c.faq_answers

    def produce(s: Subject, r: Render) -> tuple[tuple[Action, ...], str]:
        best = s.analysis.best_faq
        if best is None or best.score < threshold:
            seen = f"best FAQ {best.faq_id} scored {best.score:.2f}" if best else "no FAQ candidates"
            return (), f"answer_faq skipped: {seen} < {threshold:.2f}"
        by_language = answers.get(best.faq_id)
        answer = pick(by_language, s.language, r.default_language) if by_language else best.answer
        if not answer.strip():
            return (), f"answer_faq skipped: FAQ {best.faq_id} has an empty answer"
        return (Reply(answer),), f"answered with FAQ {best.faq_id} ({best.score:.2f})"

    return ActionPlan("answer_faq", produce)


def _clarify(spec: ClarifySpec, c: _Context) -> ActionPlan:
    env, loc, responses, labels = c.env, c.loc, c.responses, c.intent_labels
    translations = c.label_translations
    if spec.text is None and spec.response not in responses:
        responses = {**responses, spec.response: {"": ("Did you mean one of these?",)}}
    variants = _variants(spec.text, None if spec.text is not None else spec.response, env, loc, responses)
    floor, offered = spec.min_confidence, c.offered
    # Nothing worth offering ("helo", a football question): the rule's own "I didn't understand"
    # keeps the rule's max_fires budget, so a ticket comes only after repeated failures.
    otherwise = None
    if spec.otherwise is not None:
        otherwise = _reply(spec.otherwise, replace(c, kind="reply", loc=(*c.loc, "otherwise")))

    def produce(s: Subject, r: Render) -> tuple[tuple[Action, ...], str]:
        # Only intents with a customer-facing label that may be offered (never small talk, never
        # a name): a button is a label, and pressing it sends the label, which the model knows.
        top = [
            i
            for i in s.analysis.intents
            if i.confidence >= floor and i.name in labels and (offered is None or i.name in offered)
        ][:2]
        shown = [
            pick(translations[i.name], s.language, r.default_language)
            if i.name in translations
            else labels[i.name]
            for i in top
        ]
        buttons = tuple(QuickReplyButton(label, label) for label in shown)
        if not buttons:
            if otherwise is not None:
                said, _ = otherwise.produce(s, r)
                return said, f"no intent to offer ≥ {floor:.2f}: said otherwise"
            return (), f"clarify skipped: no intent to offer ≥ {floor:.2f}"
        note = "buttons: " + ", ".join(i.name for i in top)
        return (Reply(r.pick(variants, s.language), buttons),), note

    return ActionPlan("clarify", produce)


# One entry per key of ActionSpec; tests/rules/test_action_kinds.py keeps the two in step.
SPEC_KINDS: Mapping[str, SpecKind] = MappingProxyType(
    {
        "reply": SpecKind(compile=_reply),
        "answer_faq": SpecKind(
            compile=_answer_faq,
            not_on_tickets="use reply; a ticket change has no customer message to match an FAQ",
        ),
        "clarify": SpecKind(
            compile=_clarify, not_on_tickets="use reply; a ticket change has no customer message to clarify"
        ),
        "open_ticket": SpecKind(
            compile=_open_ticket,
            not_on_tickets="use add_note or tag: {ticket: [...]}; the rule already runs on a ticket",
        ),
        "add_note": SpecKind(compile=_add_note),
        "tag": SpecKind(compile=_retag(Tag)),  # on ticket events: the ticket's tags only (rules.scope)
        "untag": SpecKind(compile=_retag(Untag)),
        "set_attribute": SpecKind(
            compile=_set_attribute,
            not_on_tickets=(
                "use tag: {ticket: [...]} or add_note; customer records change in message rules only"
            ),
        ),
        "hand_off": SpecKind(compile=_hand_off, not_on_tickets="use notify to alert the agents, or add_note"),
        "close_conversation": SpecKind(
            compile=lambda spec, c: c.fixed(CloseConversation()),
            not_on_tickets="use reply; a solved ticket closes by itself",
        ),
        "notify": SpecKind(compile=_notify),
        "ask": SpecKind(compile=_ask, not_on_tickets="a ticket change has no customer to answer a question"),
        "set_ticket": SpecKind(
            compile=_set_ticket,
            not_on_tickets="escalation rules (escalations.yml) change a ticket's priority over time",
        ),
    }
)
