"""Replies that promise what their rule does not do, refused at load.

A reply saying "I've flagged it as urgent" on a rule that sets no priority, or "I've asked our
warehouse team" when the message may join a ticket in another queue, tells the customer
something the ticket does not keep. What can be checked without running the rule is checked
here, per reply and per *path*: a conversation without a ticket (the rule's ``open_ticket``
decides priority and queue) and one that has a ticket already (only ``set_ticket`` decides;
its queue is whatever it was). A rule's ``when`` may rule a path out (``has_open_ticket``), and
a reply's ``existing_ticket`` text takes the second path. The fix the error suggests is the
``{result.*}`` variables, which the bot fills in from what the actions did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rules.compiler import Env, Loc
from rules.schema import PRIORITIES, ConditionSpec, ReplySpec, RuleSpec, TextSpec

__all__ = ["check_promises"]

Localized = Mapping[str, tuple[str, ...]]
_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
_PRIORITY_WORDS = (
    (re.compile(r"\burgent\b", re.IGNORECASE), "urgent"),
    (re.compile(r"\bhigh[- ]priority\b|\bprioriti[sz]ed\b|\bescalated\b", re.IGNORECASE), "high"),
)
_NEW, _EXISTING = "a conversation without a ticket", "a conversation that already has a ticket"


def check_promises(
    spec: RuleSpec, env: Env, loc: Loc, *, responses: Mapping[str, Localized], labels: Mapping[str, str]
) -> None:
    """Report each reply of ``spec`` that promises a priority or a team the rule does not set."""
    if spec.event != "message":
        return
    paths = _paths(spec.when)
    opened = next((a.open_ticket for a in spec.then if a.open_ticket is not None), None)
    raised = max((_RANK[a.set_ticket.priority] for a in spec.then if a.set_ticket is not None), default=None)
    priority = {
        _NEW: None if opened is None else max(_RANK[opened.priority], raised or 0),
        _EXISTING: raised,
    }
    queue = {_NEW: opened.queue if opened is not None else None, _EXISTING: None}
    for j, action in enumerate(spec.then):
        reply, where = action.reply, (*loc, "then", j, "reply")
        if reply is None and action.clarify is not None and action.clarify.otherwise is not None:
            reply, where = action.clarify.otherwise, (*loc, "then", j, "clarify", "otherwise")
        if reply is None:
            continue
        alt = reply.existing_ticket
        main_paths = [p for p in paths if alt is None or p == _NEW]
        sources: list[tuple[ReplySpec | TextSpec, list[str], Loc]] = [(reply, main_paths, where)]
        if alt is not None:
            sources.append((alt, [p for p in paths if p == _EXISTING], (*where, "existing_ticket")))
        for source, covered, at in sources:
            for text in _texts(source, responses):
                _check(text, covered, priority, queue, labels, opened is not None, env, at)


def _check(
    text: str,
    covered: list[str],
    priority: Mapping[str, int | None],
    queue: Mapping[str, str | None],
    labels: Mapping[str, str],
    opens: bool,
    env: Env,
    at: Loc,
) -> None:
    for pattern, needed in _PRIORITY_WORDS:
        word = pattern.search(text)
        if word is None:
            continue
        for path in covered:
            have = priority[path]
            if have is None or have < _RANK[needed]:
                env.problem(
                    at,
                    f"the reply promises {word.group(0)!r}, but on {path} the rule sets no {needed} "
                    f"priority; say {{result.priority}} or add set_ticket: {{priority: {needed}}}",
                )
                return
    lowered = text.lower()
    for name, label in labels.items():
        if label.lower() not in lowered:
            continue
        for path in covered:
            if queue[path] != name:
                env.problem(
                    at,
                    f"the reply names {label!r} (queue {name}), but on {path} the ticket is not "
                    "necessarily in that queue; say {result.team}",
                )
                return
    if "{result." in text and not opens and _NEW in covered:
        env.problem(at, f"the reply uses {{result.*}}, but on {_NEW} the rule opens none (add open_ticket)")


def _paths(when: ConditionSpec | None) -> list[str]:
    for cond in (when, *((when.all or ()) if when is not None else ())):
        if (
            cond is not None
            and cond.conversation is not None
            and cond.conversation.has_open_ticket is not None
        ):
            return [_EXISTING] if cond.conversation.has_open_ticket else [_NEW]
    return [_NEW, _EXISTING]


def _texts(source: ReplySpec | TextSpec, responses: Mapping[str, Localized]) -> Iterable[str]:
    if source.text is not None:
        variants = source.text
        groups = variants.values() if isinstance(variants, dict) else [variants]
        return [t for group in groups for t in group]
    found = responses.get(source.response or "", {})
    return [t for group in found.values() for t in group]
