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
from nlp.evaluation import evaluate
from nlp.intent_model import IntentModel
from nlp.models import ModelStore, ModelStoreError
from nlp.pipeline import Pipeline
from nlp.report import write_report
from nlp.training import TrainingError
from nlp.types import AnalysisContext, FaqEntry, TrainingExample
from rules.intents_file import NluRulebook, load_nlu_rulebook

__all__ = ["add_nlu_commands"]


def add_nlu_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``nlu train``, ``nlu evaluate`` and ``nlu analyze`` on the ``frontdesk`` parser."""
    nlu = subparsers.add_parser("nlu", help="intent model tools: train, evaluate, analyze")
    actions = nlu.add_subparsers(dest="nlu_command", metavar="ACTION", required=True)

    train = actions.add_parser(
        "train",
        help="train the intent model and store it under --models",
        description="Train on rulebook/intents.yml (default) or on labelled CSV files (--data). "
        "The model is stored under a hash of its training data and marked current; "
        "training the same data again reuses the stored model unless --force.",
    )
    _common(train)
    train.add_argument(
        "--data",
        action="append",
        type=Path,
        metavar="FILE.csv",
        help="train on this CSV instead of the rulebook (repeatable)",
    )
    _columns(train)
    train.add_argument(
        "--oos-label", metavar="LABEL", help="label of out-of-scope examples in the data, if any"
    )
    train.add_argument("--force", action="store_true", help="retrain even if this data's model is stored")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_with_paths(cmd_train))

    ev = actions.add_parser(
        "evaluate",
        help="score a model on a labelled CSV",
        description="Prints accuracy, macro-F1, per-intent precision/recall and the most confused pairs; "
        "with --oos-label also in-scope accuracy and out-of-scope recall.",
    )
    _common(ev)
    ev.add_argument("--data", required=True, type=Path, metavar="FILE.csv", help="labelled test data")
    _columns(ev)
    ev.add_argument(
        "--model", metavar="VERSION|DIR", help="model version or directory (default: the current model)"
    )
    ev.add_argument(
        "--oos-label", metavar="LABEL", help="label that marks out-of-scope examples in the test data"
    )
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.add_argument(
        "--report", type=Path, metavar="DIR", help="also write confusion_matrix.png and report.html here"
    )
    ev.set_defaults(func=_with_paths(cmd_evaluate))

    an = actions.add_parser(
        "analyze",
        help="print the full analysis of one message",
        description="Runs the NLP pipeline (intents, sentiment, entities, FAQ) on TEXT with the rulebook's "
        "extensions and the current model, and prints the result as JSON.",
    )
    _common(an)
    an.add_argument("text", help="the message to analyse")
    an.add_argument("--channel", default="webchat", help="channel context (default: webchat)")
    an.add_argument("--language", default=None, help="language context, e.g. en")
    an.add_argument(
        "--model", metavar="VERSION|DIR", help="model version or directory (default: the current model)"
    )
    an.set_defaults(func=_with_paths(cmd_analyze))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rulebook", type=Path, help="rulebook directory (default: rulebook.path from config)"
    )
    parser.add_argument(
        "--models", type=Path, help="model store directory (default: nlu.models from config, var/models)"
    )


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


def _columns(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text-col", metavar="NAME", help="CSV column with the text (default: text, utterance, ...)"
    )
    parser.add_argument(
        "--label-col",
        metavar="NAME",
        help="CSV column with the label (default: label, intent, category, ...)",
    )


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
    try:
        model = store.train(examples, oos_label=args.oos_label, progress=bar, force=args.force)
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    try:
        model = _model(args)
        examples = read_csv(args.data, text_col=args.text_col, label_col=args.label_col)
    except (ModelStoreError, DatasetError) as exc:
        return _fail(str(exc))
    result = evaluate(model, examples, oos_label=args.oos_label)
    if args.report is not None:
        png, page = write_report(result, args.report)
        if not args.json:
            print(f"report: {page} (confusion matrix: {png})")
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"model {result.model_version} on {args.data} ({result.examples} examples)")
    print(f"  accuracy   {result.accuracy:.2%}")
    print(f"  macro-F1   {result.macro_f1:.4f}")
    if result.in_scope_accuracy is not None:
        print(f"  in-scope accuracy    {result.in_scope_accuracy:.2%} (threshold {result.threshold:.3f})")
    if result.oos_recall is not None:
        print(f"  out-of-scope recall  {result.oos_recall:.2%}")
    width = max((len(s.intent) for s in result.per_intent), default=6)
    print(f"\n  {'intent':<{width}}  precision  recall  support")
    for s in result.per_intent:
        print(f"  {s.intent:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.support:7d}")
    if result.confused:
        print("\n  most confused (true -> predicted: count)")
        for true, predicted, count in result.confused:
            print(f"  {true} -> {predicted}: {count}")
    return 0


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
