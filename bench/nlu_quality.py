"""NLU quality figures beyond intents, as JSON: one section per concern, each its own function.

    .venv/bin/python bench/nlu_quality.py                       # every section
    .venv/bin/python bench/nlu_quality.py --section sentiment   # only some

``sentiment``: on ``bench/data/cs_dev.csv`` (all of it, and its hand-written and composed parts
apart), complaint precision/recall/F1 and the 3-class report (negative precision/recall first) for
Frontdesk's classifier (what ``Pipeline`` computes: the trained model with the lexicon score as an
input), the lexicon-only scorer (complaint = negative, as before the classifier), and a TF-IDF +
logistic-regression baseline trained in this run on the same data as the shipped model (GoEmotions
train split mapped as ``nlp/sentiment_base.py`` says, plus ``nlp/data/cs_sentiment.yml``) and the
same baseline on the customer-service examples alone (``tfidf_lr_cs_only``); then the
same scorers on the GoEmotions test split (3 classes), and the classifier's cost per message.
Needs GoEmotions (``--goemotions``, default ``../shared/data/goemotions``); without it the GoEmotions
parts and the baseline are skipped. About a minute on two cores, most of it the baseline's training.

``oos``: the BANKING77-OOS protocol of ``bench/nlu_oos.py`` (20 of the 77 intents held out with a
fixed seed, trained on the other 57, the held-out intents' test messages out of scope): in-scope
accuracy with and without the threshold, OOS recall/precision/F1 and AUROC, for Frontdesk's model
and a TF-IDF + LR baseline (``--banking77``, default ``../shared/data/banking77``; a few minutes).

A new section is a function ``(args) -> dict`` added to ``SECTIONS``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp.sentiment import SentimentAnalyzer
from nlp.sentiment_eval import SentimentEvaluation, evaluate_labels, load_labelled_csv
from nlp.sentiment_model import bundled_examples, default_model
from nlp.types import SentimentExample, SentimentLabel

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "bench" / "data" / "cs_dev.csv"
GOEMOTIONS = Path(os.environ.get("GOEMOTIONS_DIR", ROOT.parent / "shared" / "data" / "goemotions"))
BANKING77 = Path(os.environ.get("BANKING77_DIR", ROOT.parent / "shared" / "data" / "banking77"))

Scorer = Callable[[Sequence[str]], list[tuple[SentimentLabel, bool]]]


def _figures(
    examples: Sequence[SentimentExample], predicted: list[tuple[SentimentLabel, bool]]
) -> dict[str, Any]:
    sentiment = evaluate_labels("sentiment", [e.label for e in examples], [p[0] for p in predicted])
    out: dict[str, Any] = {"examples": len(examples), "sentiment": _report(sentiment)}
    if any(e.complaint for e in examples):
        complaint = evaluate_labels(
            "complaint",
            ["complaint" if e.complaint else "other" for e in examples],
            ["complaint" if p[1] else "other" for p in predicted],
        )
        stats = complaint.stats("complaint")
        out["complaint"] = {"precision": stats.precision, "recall": stats.recall, "f1": stats.f1}
    return out


def _report(result: SentimentEvaluation) -> dict[str, Any]:
    classes = {s.label: {"precision": s.precision, "recall": s.recall, "f1": s.f1} for s in result.per_class}
    return {"accuracy": result.accuracy, "macro_f1": result.macro_f1, **classes}


def _frontdesk() -> Scorer:
    model, lexicon = default_model(), SentimentAnalyzer()

    def score(texts: Sequence[str]) -> list[tuple[SentimentLabel, bool]]:
        out = []
        for text in texts:
            sentiment, complaint, _p = model.predict(text, lexicon.score(text))
            out.append((sentiment.label, complaint))
        return out

    return score


def _lexicon() -> Scorer:
    lexicon = SentimentAnalyzer()

    def score(texts: Sequence[str]) -> list[tuple[SentimentLabel, bool]]:
        labels = [lexicon.score(t).label for t in texts]
        return [(label, label == "negative") for label in labels]

    return score


def _tfidf(train: Sequence[SentimentExample]) -> Scorer:
    """TF-IDF word 1-2-grams, one liblinear logistic regression per class and one for complaints."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    labels: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x = vectorizer.fit_transform([e.text for e in train])
    y = np.array([labels.index(e.label) for e in train])
    z = np.array([e.complaint for e in train], dtype=int)
    fits = [LogisticRegression(solver="liblinear").fit(x, (y == i).astype(int)) for i in range(3)]
    complaint = LogisticRegression(solver="liblinear").fit(x, z)

    def score(texts: Sequence[str]) -> list[tuple[SentimentLabel, bool]]:
        v = vectorizer.transform(list(texts))
        scores = np.column_stack([f.decision_function(v) for f in fits])
        flags = complaint.predict_proba(v)[:, 1] >= 0.5
        return [(labels[int(i)], bool(c)) for i, c in zip(scores.argmax(axis=1), flags, strict=True)]

    return score


def _cost(texts: Sequence[str], rounds: int = 3) -> dict[str, float]:
    """CPU microseconds per message: the lexicon (which ran before the classifier existed) and
    the classifier on top of it. Process CPU time, best of a few rounds: on a shared machine wall
    time measures the neighbours as much as the code."""
    model, lexicon = default_model(), SentimentAnalyzer()
    scores = [lexicon.score(t) for t in texts]
    best_lex = best_model = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for t in texts:
            lexicon.score(t)
        best_lex = min(best_lex, time.process_time() - started)
        started = time.process_time()
        for t, s in zip(texts, scores, strict=True):
            model.predict(t, s)
        best_model = min(best_model, time.process_time() - started)
    n = len(texts)
    return {
        "messages": n,
        "lexicon_us_per_message": round(best_lex / n * 1e6, 1),
        "classifier_added_us_per_message": round(best_model / n * 1e6, 1),
    }


def sentiment_section(args: argparse.Namespace) -> dict[str, Any]:
    dev = load_labelled_csv(args.dev)
    sources = _sources(args.dev)
    parts = {
        "all": dev,
        **{
            name: [e for e, s in zip(dev, sources, strict=True) if s == name]
            for name in sorted(set(sources))
            if name
        },
    }
    scorers: dict[str, Scorer] = {"frontdesk": _frontdesk(), "lexicon": _lexicon()}
    goemotions_test: list[SentimentExample] = []
    out: dict[str, Any] = {
        "dev_set": str(args.dev.relative_to(ROOT) if args.dev.is_relative_to(ROOT) else args.dev)
    }
    if (args.goemotions / "sentiment_train.tsv").is_file():
        from nlp.sentiment_base import goemotions

        started = time.perf_counter()
        scorers["tfidf_lr"] = _tfidf([*goemotions(args.goemotions, "train"), *bundled_examples()])
        out["tfidf_lr_train_seconds"] = round(time.perf_counter() - started, 1)
        scorers["tfidf_lr_cs_only"] = _tfidf(bundled_examples())
        goemotions_test = goemotions(args.goemotions, "test")
    else:
        out["skipped"] = f"no GoEmotions at {args.goemotions}: baseline and GoEmotions figures left out"
    out["cs_dev"] = {
        name: {scorer: _figures(part, score([e.text for e in part])) for scorer, score in scorers.items()}
        for name, part in parts.items()
    }
    if goemotions_test:
        out["goemotions_test"] = {
            scorer: _figures(goemotions_test, score([e.text for e in goemotions_test]))
            for scorer, score in scorers.items()
        }
    out["cost"] = _cost([e.text for e in dev])
    return out


def _sources(path: Path) -> list[str]:
    import csv

    with path.open(encoding="utf-8", newline="") as fh:
        return [row.get("source") or "" for row in csv.DictReader(fh)]


def oos_section(args: argparse.Namespace) -> dict[str, Any]:
    """BANKING77-OOS (bench/nlu_oos.py): 20 seeded held-out intents as out-of-scope."""
    import nlu_oos

    return nlu_oos.run("test", args.banking77)


SECTIONS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "sentiment": sentiment_section,
    "oos": oos_section,
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--section", action="append", choices=sorted(SECTIONS), help="default: all")
    parser.add_argument("--dev", type=Path, default=DEV, help="labelled CSV (text, sentiment, complaint)")
    parser.add_argument("--goemotions", type=Path, default=GOEMOTIONS, help="GoEmotions directory")
    parser.add_argument("--banking77", type=Path, default=BANKING77, help="BANKING77 directory")
    args = parser.parse_args()
    result = {name: SECTIONS[name](args) for name in args.section or SECTIONS}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
