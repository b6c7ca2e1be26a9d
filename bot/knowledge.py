"""The rulebook-derived parts of the bot (NLP pipeline + rule engine), swapped as one unit.

A reload builds a complete new set first and then replaces the reference in one assignment,
so a message is always analyzed and decided with parts from the same rulebook version, and a
broken rulebook never replaces a working one. :class:`rules.reload.RulebookWatcher` calls
:meth:`LiveKnowledge.reload` when a file in the rulebook directory changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nlp.pipeline import Pipeline
from rules.engine import Engine
from rules.loader import RuleSet, load_ruleset
from rules.policy import DefaultPolicy
from rules.rulebook import Rulebook, load_rulebook
from rules.yamlfile import SourceError
from ticketing.time import utcnow

__all__ = ["Knowledge", "LiveKnowledge"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Knowledge:
    rulebook: Rulebook
    analyzer: Pipeline
    ruleset: RuleSet
    engine: Engine
    policy: DefaultPolicy
    loaded_at: datetime

    @classmethod
    def load(cls, directory: Path, *, faq_threshold: float) -> Knowledge:
        rulebook = load_rulebook(directory)
        ruleset = load_ruleset(directory, faq_threshold=faq_threshold, rulebook=rulebook)
        engine = Engine(ruleset=ruleset)
        return cls(
            rulebook=rulebook,
            analyzer=Pipeline(faqs=rulebook.faqs),
            ruleset=ruleset,
            engine=engine,
            policy=DefaultPolicy(engine=engine),
            loaded_at=utcnow(),
        )


class LiveKnowledge:
    def __init__(self, *, directory: Path, faq_threshold: float) -> None:
        self._directory = directory
        self._threshold = faq_threshold
        self.current = Knowledge.load(directory, faq_threshold=faq_threshold)
        self.last_error: tuple[str, ...] = ()

    @property
    def directory(self) -> Path:
        return self._directory

    def reload(self) -> bool:
        """Load the rulebook again; on errors keep the previous version and remember why."""
        try:
            fresh = Knowledge.load(self._directory, faq_threshold=self._threshold)
        except SourceError as exc:
            self.last_error = exc.problems
            _LOGGER.error("rulebook not reloaded, previous version stays live:\n%s", "\n".join(exc.problems))
            return False
        self.current = fresh
        self.last_error = ()
        _LOGGER.info("rulebook reloaded from %s", self._directory)
        return True
