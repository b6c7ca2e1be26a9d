""" "What would this rule change do": a draft of ``rules.yml`` replayed against stored messages.

The draft is validated in a copy of the live rulebook folder (the other files, calendars and
responses it refers to, stay as they are live), so its problems come back as ``rules.yml:LINE``
lines and the live rules are never touched. Each message is analysed once with the live
pipeline, then decided by the live rules and by the draft's, as the first message of a new
conversation on its channel (like ``frontdesk rules test``): a rule that depends on the
conversation's history may decide differently in the real one. Only the messages whose
decision differs (rules fired or actions) are returned. CPU work: run it in a thread.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.cli_rules import describe_action
from bot.knowledge import Knowledge
from core.yamlfile import SourceError
from nlp.types import AnalysisContext
from rules.decision import Decision
from rules.engine import Engine
from rules.facts import RuleFacts
from rules.loader import load_ruleset
from rules.rulebook import load_rulebook
from ticketing.missed_messages import CustomerMessage

__all__ = ["Outcome", "Replay", "ReplayRow", "replay_draft"]

_MAX_DRAFT = 512 * 1024


@dataclass(frozen=True, slots=True)
class Outcome:
    rules: tuple[str, ...]  # the rules that fired, in order
    actions: tuple[str, ...]  # each action in a few words


@dataclass(frozen=True, slots=True)
class ReplayRow:
    message: CustomerMessage
    live: Outcome
    draft: Outcome


@dataclass(frozen=True, slots=True)
class Replay:
    checked: int
    changed: tuple[ReplayRow, ...]
    problems: tuple[str, ...] = ()  # the draft's, as ``rules.yml:LINE: message``; nothing replayed


def replay_draft(
    live: Knowledge, directory: Path, draft: str, messages: Sequence[CustomerMessage], *, faq_threshold: float
) -> Replay:
    """Decide ``messages`` with the live rules and with ``draft`` in place of ``rules.yml``."""
    if len(draft.encode("utf-8", "replace")) > _MAX_DRAFT:
        return Replay(0, (), (f"rules.yml: the draft is over {_MAX_DRAFT // 1024} KiB",))
    with tempfile.TemporaryDirectory(prefix="frontdesk-draft-") as tmp:
        copy = Path(tmp) / "rulebook"
        shutil.copytree(directory, copy, ignore=shutil.ignore_patterns("tests", ".*"))
        (copy / "rules.yml").write_text(draft, encoding="utf-8")
        try:
            ruleset = load_ruleset(copy, faq_threshold=faq_threshold, rulebook=load_rulebook(copy))
        except SourceError as exc:
            return Replay(0, (), tuple(p.replace(f"{copy}/", "") for p in exc.problems))
    changed = []
    for message in messages:
        analysis = live.analyzer.analyze(message.text, AnalysisContext(channel=message.channel))
        facts = _facts(message.channel)
        # The same seed on both sides: a reply's variant is picked alike unless the draft changed it.
        before, after = (
            _outcome(Engine(ruleset=rules, rng=random.Random(message.id)).decide(analysis, facts))  # noqa: S311
            for rules in (live.ruleset, ruleset)
        )
        if before != after:
            changed.append(ReplayRow(message, before, after))
    return Replay(len(messages), tuple(changed))


def _facts(channel: str) -> RuleFacts:
    return RuleFacts(channel=channel)


def _outcome(decision: Decision) -> Outcome:
    actions = []
    for action in decision.actions:
        described = describe_action(action)
        kind = described.pop("action")
        detail = next((str(v) for v in described.values() if isinstance(v, str) and v), "")
        actions.append(f"{kind}: {detail[:80]}" if detail else kind)
    return Outcome(tuple(decision.rules_fired), tuple(actions))
