"""Turning a rule's ``then`` list into executable :mod:`rules.decision` actions.

Each :class:`~rules.schema.ActionSpec` is compiled once at load into an :class:`ActionPlan`; at
decision time a plan renders its texts (sandboxed, see :mod:`rules.templates`), picks a random
variant in the conversation's language, and resolves the analysis-only actions (best FAQ,
clarifying question) into plain replies. A plan that has nothing to do (no FAQ good enough)
returns no action and says why, so the trace can show it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from rules import decision as d
from rules.compiler import Env, Loc, suggest
from rules.conditions import Subject
from rules.schema import ActionSpec, ClarifySpec, ReplySpec, Variants
from rules.templates import render, unknown_variables

__all__ = ["ActionPlan", "Localized", "Render", "compile_action"]

Localized = Mapping[str, tuple[str, ...]]  # language → variants


@dataclass(frozen=True, slots=True)
class Render:
    """What a plan needs at decision time besides the subject."""

    variables: Mapping[str, str]
    rng: random.Random
    default_language: str

    def pick(self, variants: Localized, language: str) -> str:
        options = (
            variants.get(language) or variants.get(self.default_language) or next(iter(variants.values()))
        )
        return render(self.rng.choice(options), self.variables)


@dataclass(frozen=True, slots=True)
class ActionPlan:
    kind: str
    produce: Callable[[Subject, Render], tuple[tuple[d.Action, ...], str]]  # actions, note for the trace


def compile_action(
    spec: ActionSpec,
    env: Env,
    loc: Loc,
    *,
    responses: Mapping[str, Localized],
    intent_labels: Mapping[str, str],
    faq_threshold: float,
) -> ActionPlan:
    kind = spec.kind
    at = (*loc, kind)

    def text(template: str, key: Loc = ()) -> str:
        for problem in unknown_variables(template):
            env.problem((*at, *key), problem)
        return template

    def fixed(*actions: d.Action) -> ActionPlan:
        return ActionPlan(kind, lambda s, r: (actions, ""))

    if spec.reply is not None:
        return _reply(spec.reply, env, at, responses)
    if spec.answer_faq is not None:
        return _answer_faq(
            spec.answer_faq.min_score if spec.answer_faq.min_score is not None else faq_threshold
        )
    if spec.clarify is not None:
        return _clarify(spec.clarify, env, at, responses, intent_labels)
    if spec.open_ticket is not None:
        o = spec.open_ticket
        subject = text(o.subject, ("subject",))
        return ActionPlan(
            kind,
            lambda s, r: (
                (
                    d.OpenTicket(
                        subject=render(subject, r.variables)[:200] or "(no subject)",
                        queue=o.queue,
                        priority=o.priority,
                        tags=tuple(o.tags),
                    ),
                ),
                "",
            ),
        )
    if spec.add_note is not None:
        note = text(spec.add_note)
        return ActionPlan(kind, lambda s, r: ((d.AddNote(render(note, r.variables)),), ""))
    if spec.tag is not None or spec.untag is not None:
        tags = spec.tag or spec.untag
        assert tags is not None
        make = d.Tag if spec.tag is not None else d.Untag
        targets = (("customer", tags.customer), ("ticket", tags.ticket))
        return fixed(*(make(target, tuple(names)) for target, names in targets if names))  # type: ignore[arg-type]
    if spec.set_attribute is not None:
        items = tuple((name, text(value, (name,))) for name, value in spec.set_attribute.items())
        return ActionPlan(
            kind,
            lambda s, r: (
                tuple(d.SetAttribute(name, render(value, r.variables)) for name, value in items),
                "",
            ),
        )
    if spec.hand_off is not None:
        note = text(spec.hand_off.note, ("note",))
        return ActionPlan(kind, lambda s, r: ((d.HandOff(render(note, r.variables)),), ""))
    if spec.close_conversation is not None:
        return fixed(d.CloseConversation())
    assert spec.notify is not None
    channel = spec.notify.slack.lstrip("#")
    message = text(spec.notify.text, ("text",))
    return ActionPlan(kind, lambda s, r: ((d.NotifySlack(channel, render(message, r.variables)),), ""))


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


def _reply(spec: ReplySpec, env: Env, loc: Loc, responses: Mapping[str, Localized]) -> ActionPlan:
    variants = _variants(spec.text, spec.response, env, loc, responses)
    buttons = tuple(d.QuickReplyButton(b.label, b.payload or b.label) for b in spec.buttons)
    return ActionPlan("reply", lambda s, r: ((d.Reply(r.pick(variants, s.language), buttons),), ""))


def _answer_faq(threshold: float) -> ActionPlan:
    def produce(s: Subject, r: Render) -> tuple[tuple[d.Action, ...], str]:
        best = s.analysis.best_faq
        if best is None or best.score < threshold:
            seen = f"best FAQ {best.faq_id} scored {best.score:.2f}" if best else "no FAQ candidates"
            return (), f"answer_faq skipped: {seen} < {threshold:.2f}"
        if not best.answer.strip():
            return (), f"answer_faq skipped: FAQ {best.faq_id} has an empty answer"
        return (d.Reply(best.answer),), f"answered with FAQ {best.faq_id} ({best.score:.2f})"

    return ActionPlan("answer_faq", produce)


def _clarify(
    spec: ClarifySpec, env: Env, loc: Loc, responses: Mapping[str, Localized], labels: Mapping[str, str]
) -> ActionPlan:
    if spec.text is None and spec.response not in responses:
        responses = {**responses, spec.response: {"": ("Did you mean one of these?",)}}
    variants = _variants(spec.text, None if spec.text is not None else spec.response, env, loc, responses)
    floor = spec.min_confidence

    def produce(s: Subject, r: Render) -> tuple[tuple[d.Action, ...], str]:
        top = [i for i in s.analysis.intents[:2] if i.confidence >= floor]
        buttons = tuple(
            d.QuickReplyButton(
                labels.get(i.name, i.name.replace("_", " ").capitalize()),
                labels.get(i.name, i.name.replace("_", " ").capitalize()),
            )
            for i in top
        )
        note = "buttons: " + (", ".join(i.name for i in top) or f"none (no intent ≥ {floor:.2f})")
        return (d.Reply(r.pick(variants, s.language), buttons),), note

    return ActionPlan("clarify", produce)
