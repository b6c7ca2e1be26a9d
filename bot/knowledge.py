"""The rulebook-derived parts of the bot (NLP pipeline, intent model, rule engine), swapped as one.

A reload builds a complete new set first and then replaces the reference in one assignment,
so a message is always analyzed and decided with parts from the same rulebook version, and a
broken rulebook never replaces a working one (:class:`rules.reload.RulebookWatcher` calls
:meth:`LiveKnowledge.apply` after a successful load and keeps the error otherwise).

The intent model is keyed by a hash of its training examples in the model store. When the
intents change, the previous model keeps serving while the new one trains in a worker thread;
the swap happens only if the rulebook has not moved on in the meantime. A training that is
superseded (the intents changed again) or abandoned (shutdown) is told to stop: cancelling its
task alone would leave the worker thread training, and storing, a model nobody wants.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import bot.channel_names  # noqa: F401 - rules check `channel:` against the names it registers
from core.errors import FrontdeskError
from core.yamlfile import RulebookError
from nlp import InvalidPatternError, ModelStore, Pipeline, TrainingExample
from nlp.intent_model import IntentModel
from nlp.language import DEFAULT_LANGUAGES
from nlp.sentiment_model import train_sentiment
from rules.engine import Engine
from rules.intents_file import load_nlu_rulebook
from rules.loader import RuleSet, load_ruleset
from rules.reload import RulebookWatcher, fingerprint
from rules.rulebook import Rulebook, load_rulebook
from ticketing.time import utcnow

__all__ = ["Knowledge", "LiveKnowledge"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Knowledge:
    rulebook: Rulebook
    analyzer: Pipeline
    ruleset: RuleSet
    engine: Engine
    loaded_at: datetime
    examples: tuple[TrainingExample, ...] = ()
    oos_threshold: float | None = None
    oos_label: str | None = None  # intents.yml's `oos` intent, if it has one
    model_version: str | None = None  # the version the intents call for
    model_ready: bool = True  # False while that version is not trained yet
    files: tuple[str, ...] = ()  # the YAML files loaded, relative to the rulebook folder
    fingerprint: str = ""  # SHA-256 of those files' names and contents (rules.reload.fingerprint)

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        faq_threshold: float,
        models: ModelStore | None = None,
        serving: IntentModel | None = None,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
    ) -> Knowledge:
        """Load and validate every rulebook file; raises SourceError with ``file:line`` problems.

        ``serving`` is the model in use now: it keeps answering if the new intents' model is
        not trained yet. ``languages``: detected besides the rulebook's own (``nlu.languages``).
        """
        files, digest = fingerprint(directory)  # before loading: a later edit reloads again
        rulebook = load_rulebook(directory)
        nlu = load_nlu_rulebook(directory)
        ruleset = load_ruleset(directory, faq_threshold=faq_threshold, rulebook=rulebook)
        examples = tuple(nlu.intents.examples) if nlu.intents else ()
        threshold = nlu.intents.oos_threshold if nlu.intents else None
        oos_label = nlu.intents.oos_label if nlu.intents else None
        version = (
            models.version_for(examples, oos_label=oos_label) if models is not None and examples else None
        )
        model = models.load_or_none(version) if models is not None and version is not None else None
        ready = model is not None or version is None
        if model is not None and threshold is not None:
            model = model.with_threshold(threshold)
        try:
            analyzer = Pipeline(
                faqs=rulebook.faqs,
                model=model if ready else serving,
                sentiment_lexicon=nlu.sentiment_lexicon,
                entity_patterns=nlu.entity_patterns,
                gazetteers=nlu.gazetteers,
                # Trained here, in the loading thread, in a fraction of a second (cached per
                # process, so an edit elsewhere in the rulebook does not retrain it).
                sentiment_model=train_sentiment(nlu.sentiment_examples),
                faq_thresholds=rulebook.faq_thresholds,
                languages=(*languages, *sorted(_written_in(rulebook))),
                default_language=ruleset.default_language,
            )
        except InvalidPatternError as exc:
            raise RulebookError([f"{directory / 'entities.yml'}:0: {exc}"]) from None
        return cls(
            rulebook=rulebook,
            analyzer=analyzer,
            ruleset=ruleset,
            engine=Engine(ruleset=ruleset),
            loaded_at=utcnow(),
            examples=examples,
            oos_threshold=threshold,
            oos_label=oos_label,
            model_version=version,
            model_ready=ready,
            files=files,
            fingerprint=digest,
        )


def _written_in(rulebook: Rulebook) -> set[str]:
    """The languages the rulebook's responses and FAQs are written in (``en:``, ``de:``, ...)."""
    found = {language for texts in rulebook.localized.values() for language in texts}
    found |= {f.language for f in rulebook.faqs} | {t.language for f in rulebook.faqs for t in f.translations}
    return found - {""}


class _Superseded(FrontdeskError):
    """Raised in the training thread at its next progress report once it is no longer wanted."""


class LiveKnowledge:
    def __init__(
        self,
        *,
        directory: Path,
        faq_threshold: float,
        models: ModelStore,
        languages: Sequence[str] = DEFAULT_LANGUAGES,
    ) -> None:
        self._directory = directory
        self._threshold = faq_threshold
        self._models = models
        self._languages = tuple(languages)
        self.current = Knowledge.load(
            directory, faq_threshold=faq_threshold, models=models, languages=self._languages
        )
        for warning in self.current.ruleset.warnings:
            _LOGGER.warning("rulebook: %s", warning)
        self._watcher = RulebookWatcher(directory=directory, load=self._load, apply=self.apply)
        self._training: asyncio.Task[None] | None = None
        self._training_version: str | None = None
        self._stop_training = threading.Event()

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def last_error(self) -> tuple[str, ...]:
        return self._watcher.last_error

    @property
    def failed_at(self) -> datetime | None:
        """When the files now on disk were found broken (None while the live version is theirs)."""
        return self._watcher.failed_at

    @property
    def reloads(self) -> int:
        """How many times a changed rulebook went live since start."""
        return self._watcher.reloads

    def _load(self) -> Knowledge:
        return Knowledge.load(
            self._directory,
            faq_threshold=self._threshold,
            models=self._models,
            serving=self.current.analyzer.model,
            languages=self._languages,
        )

    def apply(self, fresh: Knowledge) -> None:
        self.current = fresh
        _LOGGER.info("rulebook %s is live", self._directory)
        for warning in fresh.ruleset.warnings:
            _LOGGER.warning("rulebook: %s", warning)
        if not fresh.model_ready:
            self._start_training()
        else:
            self._stop_training_now()  # its model is stored (or it has no intents): none to train

    async def reload(self) -> bool | None:
        """Check the files now (the watcher also does this on its own); None: nothing changed."""
        return await self._watcher.check()

    @contextlib.asynccontextmanager
    async def running(self, *, wait_for_model: float = 15.0) -> AsyncIterator[None]:
        """Watch the rulebook; train a missing model, waiting up to ``wait_for_model`` seconds
        for it so a small rulebook starts with its intents, a large one starts without delay."""
        if not self.current.model_ready:
            self._start_training()
            assert self._training is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._training), wait_for_model)
        async with self._watcher.running():
            try:
                yield
            finally:
                self._stop_training_now()

    def _stop_training_now(self) -> None:
        if self._training is not None and not self._training.done():
            self._stop_training.set()  # the thread stops at its next progress report
            self._training.cancel()

    def _start_training(self) -> None:
        if self._training is not None and not self._training.done():
            if self._training_version == self.current.model_version:
                return  # only other files changed: the running training still swaps into current
            self._stop_training_now()
        self._stop_training = threading.Event()
        self._training_version = self.current.model_version
        self._training = asyncio.create_task(
            self._train(self.current, self._stop_training), name="intent-model-training"
        )

    async def _train(self, wanted: Knowledge, stop: threading.Event) -> None:
        _LOGGER.info("training the intent model %s (%d examples)", wanted.model_version, len(wanted.examples))

        def check(_stage: str, _fraction: float) -> None:
            if stop.is_set():
                raise _Superseded

        try:
            model = await asyncio.to_thread(
                self._models.train, list(wanted.examples), oos_label=wanted.oos_label, progress=check
            )
        except _Superseded:
            return
        except Exception:
            _LOGGER.exception("training the intent model failed; the previous model keeps serving")
            return
        if self.current.model_version != wanted.model_version:
            return  # the rulebook changed while we trained; its own training takes over
        if self.current.oos_threshold is not None:  # current: intents.yml may have been saved since
            model = model.with_threshold(self.current.oos_threshold)
        self.current = replace(
            self.current, analyzer=self.current.analyzer.with_model(model), model_ready=True
        )
        _LOGGER.info("intent model %s is live", wanted.model_version)
