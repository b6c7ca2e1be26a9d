"""``frontdesk nlu train|evaluate|analyze``: the admins' tools for the intent model.

``train`` reads the intents from the rulebook (or labelled CSV files) and stores a model
keyed by the hash of its training data, so training twice on the same data is instant.
``evaluate`` scores a stored model on a labelled CSV. ``analyze`` shows the whole
:class:`~nlp.types.Analysis` of one message with the rulebook's entities, sentiment words
and FAQ, exactly as the server would compute it. Exit codes: 0 fine, 1 failure (no model,
bad data), 2 rulebook problem (``file:line`` messages on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.config import load_settings
from core.yamlfile import SourceError
from nlp.datasets import DatasetError, read_csv
from nlp.entities import InvalidPatternError
from nlp.evaluation import Evaluation, evaluate
from nlp.intent_model import IntentModel
from nlp.models import ModelStore, ModelStoreError
from nlp.oos_metrics import OosFigures
from nlp.pipeline import Pipeline
from nlp.report import write_report
from nlp.sentiment_model import train_sentiment
from nlp.training import TrainingError, training_hash
from nlp.types import AnalysisContext, FaqEntry, TrainingExample
from rules.intents_file import NluRulebook, load_nlu_rulebook

__all__ = ["cmd_analyze", "cmd_evaluate", "cmd_train"]


def _with_paths(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Fill --rulebook/--models from config.yaml, so the CLI trains the model the server loads."""

    def run(args: argparse.Namespace) -> int:
        if args.rulebook is None or args.models is None:
            config = getattr(args, "config", None)
            path = (
                Path(config) if config else (Path("config.yaml") if Path("config.yaml").is_file() else None)
            )
            settings = load_settings(path)
            args.rulebook = args.rulebook or settings.rulebook_dir
            args.models = args.models or settings.resolve(settings.nlu.models)
        return command(args)

    return run


@_with_paths
def cmd_train(args: argparse.Namespace) -> int:
    try:
        rulebook = None if args.data else load_nlu_rulebook(args.rulebook)
    except SourceError as exc:
        return _problems(exc)
    examples: list[TrainingExample] = []
    try:
        for path in args.data or ():
            examples.extend(read_csv(path, text_col=args.text_col, label_col=args.label_col))
    except DatasetError as exc:
        return _fail(str(exc))
    if rulebook is not None:
        if rulebook.intents is None:
            return _fail(
                f"{args.rulebook / 'intents.yml'}: not found; write intents there or pass --data FILE.csv"
            )
        examples.extend(rulebook.intents.examples)
    store = ModelStore(args.models)
    started = time.perf_counter()
    bar = None if args.quiet else _ProgressBar()
    oos_label = args.oos_label
    if oos_label is None and rulebook is not None and rulebook.intents is not None:
        oos_label = rulebook.intents.oos_label  # the server trains with it too: same model version
    try:
        model = store.train(examples, oos_label=oos_label, progress=bar, force=args.force)
    except TrainingError as exc:
        return _fail(str(exc))
    finally:
        if bar is not None:
            bar.close()
    if rulebook is not None and rulebook.intents is not None and rulebook.intents.oos_threshold is not None:
        model = model.with_threshold(rulebook.intents.oos_threshold)
    info = dict(model.info)
    print(f"model {model.version} ({len(model.labels)} intents, {info.get('examples', '?')} examples)")
    print(f"  stored in {store.root / model.version} and marked current")
    if "holdout_accuracy" in info:
        print(f"  held-out accuracy {info['holdout_accuracy']:.2%} on {info['holdout']} examples")
    print(f"  out-of-scope threshold {model.threshold:.3f}; {time.perf_counter() - started:.1f}s")
    return 0


@_with_paths
def cmd_evaluate(args: argparse.Namespace) -> int:
    if getattr(args, "task", "intent") == "faq":
        from bot.cli_nlu_faq import evaluate_faq_task

        return evaluate_faq_task(args)
    if getattr(args, "task", "intent") != "intent":
        from bot.cli_nlu_sentiment import evaluate_sentiment

        return evaluate_sentiment(args)
    return _evaluate_intents(args)


def _evaluate_intents(args: argparse.Namespace) -> int:
    try:
        model = _model(args)
        examples = read_csv(args.data, text_col=args.text_col, label_col=args.label_col)
    except (ModelStoreError, DatasetError) as exc:
        return _fail(str(exc))
    model = _served_threshold(args.rulebook, model)
    result = evaluate(model, examples, oos_label=args.oos_label)
    for warning in _intent_warnings(model, result, args.oos_label, examples):
        print(f"warning: {warning}", file=sys.stderr)
    if args.report is not None:
        png, page = write_report(result, args.report)
        if not args.json:
            print(f"report: {page} (confusion matrix: {png})")
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"model {result.model_version} on {args.data} ({result.examples} examples)")
    if result.oos is not None:
        _print_oos_headline(result.oos, args.oos_label, result.threshold)
    else:
        print(f"  accuracy   {result.accuracy:.2%}")
    print(f"  macro-F1   {result.macro_f1:.4f}")
    width = max((len(s.intent) for s in result.per_intent), default=6)
    print(f"\n  {'intent':<{width}}  precision  recall  support")
    for s in result.per_intent:
        print(f"  {s.intent:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.support:7d}")
    if result.confused:
        print("\n  most confused (true -> predicted: count)")
        for true, predicted, count in result.confused:
            print(f"  {true} -> {predicted}: {count}")
    return 0


def _served_threshold(rulebook: Path, model: IntentModel) -> IntentModel:
    """The model with ``settings.oos_threshold`` if it is the rulebook's model, as the server uses it."""
    try:
        intents = load_nlu_rulebook(rulebook).intents if (rulebook / "intents.yml").is_file() else None
    except SourceError:
        return model
    if intents is None or intents.oos_threshold is None:
        return model
    if training_hash(intents.examples, oos_label=intents.oos_label) != model.version:
        return model  # another data set's model: the rulebook's setting is not for it
    return model.with_threshold(intents.oos_threshold)


def _print_oos_headline(oos: OosFigures, label: str, threshold: float) -> None:
    """In-scope and out-of-scope figures apart: one accuracy would count every rejection as wrong."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2%}"

    f1 = "n/a" if oos.oos_f1 is None else f"{oos.oos_f1:.4f}"
    auroc = "n/a" if oos.auroc is None else f"{oos.auroc:.4f}"
    print(
        f"  in-scope accuracy       {pct(oos.in_scope_accuracy)}  "
        f"({oos.in_scope} examples: right intent, confidence at least {threshold:.3f})"
    )
    print(f"    without the threshold {pct(oos.accuracy_no_threshold)}")
    print(
        f"  out-of-scope recall     {pct(oos.oos_recall)}  "
        f"({oos.out_of_scope} examples labelled {label!r}: rejected)"
    )
    print(f"  out-of-scope precision  {pct(oos.oos_precision)}  (rejected messages that were out of scope)")
    print(f"  out-of-scope F1         {f1}")
    print(f"  AUROC                   {auroc}  (confidence: in-scope above out-of-scope)")


def _intent_warnings(
    model: IntentModel, result: Evaluation, oos_label: str | None, examples: list[TrainingExample]
) -> list[str]:
    """What makes the figures misleading, said before anyone trusts them."""
    warnings = []
    if result.unknown_labels:
        names = ", ".join(result.unknown_labels[:5]) + (" ..." if len(result.unknown_labels) > 5 else "")
        count = sum(1 for e in examples if e.intent in set(result.unknown_labels))
        hint = "" if oos_label else "; if they are out-of-scope examples, relabel them and pass --oos-label"
        warnings.append(
            f"{count} examples have labels the model was never trained on ({names}): "
            f"they can only count as wrong{hint}"
        )
    if oos_label is not None:
        if model.oos_label != oos_label:
            warnings.append(
                f"the model was trained without {oos_label!r} examples: it rejects by its confidence "
                "threshold alone (train with --oos-label or an `oos` intent to teach it what is out of scope)"
            )
        if not any(e.intent == oos_label for e in examples):
            warnings.append(
                f"no example in {len(examples)} is labelled {oos_label!r}: out-of-scope recall is n/a"
            )
    return warnings


@_with_paths
def cmd_analyze(args: argparse.Namespace) -> int:
    try:
        rulebook = load_nlu_rulebook(args.rulebook) if args.rulebook.is_dir() else NluRulebook(None)
        faqs = _faqs(args.rulebook)
    except SourceError as exc:
        return _problems(exc)
    model: IntentModel | None
    try:
        model = _model(args)
    except ModelStoreError as exc:
        print(f"warning: {exc}; intents are empty", file=sys.stderr)
        model = None
    if model is not None and rulebook.intents is not None and rulebook.intents.oos_threshold is not None:
        model = model.with_threshold(rulebook.intents.oos_threshold)
    try:
        pipeline = Pipeline(
            faqs=faqs,
            model=model,
            sentiment_lexicon=rulebook.sentiment_lexicon,
            entity_patterns=rulebook.entity_patterns,
            gazetteers=rulebook.gazetteers,
            sentiment_model=train_sentiment(rulebook.sentiment_examples),
        )
    except InvalidPatternError as exc:
        return _fail(f"{args.rulebook / 'entities.yml'}: {exc}")
    analysis = pipeline.analyze(args.text, AnalysisContext(channel=args.channel, language=args.language))
    data: dict[str, Any] = asdict(analysis)
    data["intent"] = asdict(analysis.intent) if analysis.intent else None
    print(json.dumps(data, indent=2, ensure_ascii=False))
    return 0


def _model(args: argparse.Namespace) -> IntentModel:
    """The model named by ``--model`` (a version or a version directory), else the current one."""
    if args.model:
        given = Path(args.model)
        if given.is_dir():
            return ModelStore(given.parent).load(given.name)
        return ModelStore(args.models).load(args.model)
    model = ModelStore(args.models).load_current()
    if model is None:
        raise ModelStoreError(f"{args.models}: no trained model; run 'frontdesk nlu train'")
    return model


def _faqs(rulebook: Path) -> tuple[FaqEntry, ...]:
    if not (rulebook / "faq.yml").is_file():
        return ()
    from rules.rulebook import load_rulebook

    return load_rulebook(rulebook).faqs


class _ProgressBar:
    """Adapts the ``(stage, fraction)`` training callback to a tqdm bar on stderr."""

    def __init__(self) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped]

        self._bar = tqdm(
            total=100, desc="training", bar_format="{desc:<12} {percentage:3.0f}%|{bar}| {elapsed}"
        )

    def __call__(self, stage: str, fraction: float) -> None:
        self._bar.set_description_str(stage)
        self._bar.update(max(0, round(fraction * 100) - self._bar.n))

    def close(self) -> None:
        self._bar.close()


def _problems(exc: SourceError) -> int:
    for problem in exc.problems:
        print(problem, file=sys.stderr)
    return 2


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1
