"""``frontdesk nlu evaluate --task sentiment|complaint``: the sentiment classifier on a labelled CSV.

The rulebook's sentiment words and examples are used exactly as the server uses them (the same
:class:`~nlp.pipeline.Pipeline`), so the figures say what the service would do with that rulebook.
The CSV has a ``text`` column and a ``sentiment`` (negative/neutral/positive) or ``complaint``
(1/0) column, as ``bench/data/cs_dev.csv``. Exit codes as for the other ``nlu`` commands.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.yamlfile import SourceError
from nlp.pipeline import Pipeline
from nlp.sentiment_eval import SentimentEvaluation, evaluate_labels, load_labelled_csv
from nlp.sentiment_model import train_sentiment
from nlp.types import AnalysisContext
from rules.intents_file import NluRulebook, load_nlu_rulebook

__all__ = ["evaluate_sentiment"]

_BATCH = 256


def evaluate_sentiment(args: argparse.Namespace) -> int:
    """Score the rulebook's sentiment classifier on ``args.data`` for ``args.task``."""
    try:
        rulebook = load_nlu_rulebook(args.rulebook) if args.rulebook.is_dir() else NluRulebook(None)
    except SourceError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    try:
        examples = load_labelled_csv(args.data)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    model = train_sentiment(rulebook.sentiment_examples)
    pipeline = Pipeline(sentiment_lexicon=rulebook.sentiment_lexicon, sentiment_model=model)
    context = AnalysisContext()
    analyses = []
    for start in range(0, len(examples), _BATCH):
        chunk = examples[start : start + _BATCH]
        analyses.extend(pipeline.analyze_many([(e.text, context) for e in chunk]))
    truth: list[str]
    predicted: list[str]
    if args.task == "sentiment":
        truth = [e.label for e in examples]
        predicted = [a.sentiment.label for a in analyses]
    else:
        truth = ["complaint" if e.complaint else "other" for e in examples]
        predicted = ["complaint" if a.complaint else "other" for a in analyses]
    result = evaluate_labels(args.task, truth, predicted)
    if args.json:
        print(json.dumps({**result.to_dict(), "model_version": model.version}, indent=2))
    else:
        _print(result, args, model.version)
    return 0


def _print(result: SentimentEvaluation, args: argparse.Namespace, version: str) -> None:
    print(f"{args.task} model {version} on {args.data} ({result.examples} examples)")
    print(f"  accuracy   {result.accuracy:.2%}")
    print(f"  macro-F1   {result.macro_f1:.4f}")
    width = max(len(s.label) for s in result.per_class)
    print(f"\n  {'class':<{width}}  precision  recall     F1  support")
    for s in result.per_class:
        print(f"  {s.label:<{width}}  {s.precision:9.2%}  {s.recall:6.2%}  {s.f1:.3f}  {s.support:7d}")
