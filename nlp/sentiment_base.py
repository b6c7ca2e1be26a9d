"""Builds the shipped base layer of the sentiment classifier from GoEmotions.

Run once by a maintainer, not by the service (the data set is not shipped)::

    python -m nlp.sentiment_base /path/to/goemotions   # writes nlp/data/sentiment_base.npz

GoEmotions (Demszky et al. 2020, Apache 2.0): 43k Reddit comments in its train split, each with
the paper's sentiment grouping and 27 emotions. Sentiment: negative or positive when only that
one is given, neutral for neutral or "ambiguous" (surprise, confusion, curiosity: in a support
inbox those are questions), and comments labelled both ways are left out. Complaint-like: anger,
annoyance, disappointment, disapproval or disgust. Deterministic: the same data gives the same file.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from nlp.sentiment_features import features
from nlp.sentiment_model import BASE_PATH, BaseModel
from nlp.types import SentimentExample, SentimentLabel

__all__ = ["build_base", "goemotions"]

_COMPLAINT_EMOTIONS = frozenset({"anger", "annoyance", "disappointment", "disapproval", "disgust"})
_MIN_DF = 3
_PRUNE = 0.02  # features whose weights all stay below this add nothing measurable
_C = 0.5


def goemotions(directory: Path, split: str) -> list[SentimentExample]:
    """One split (``train``, ``dev``, ``test``) as examples, mapped as the module docstring says."""
    names = (directory / "sentiment_labels.txt").read_text(encoding="utf-8").split()
    emotion_names = (directory / "emotions_labels.txt").read_text(encoding="utf-8").split()
    emotions: dict[str, set[str]] = {}
    with (directory / f"emotions_{split}.tsv").open(encoding="utf-8", newline="") as fh:
        for _text, labels, key in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            emotions[key] = {emotion_names[int(i)] for i in labels.split(",")}
    out: list[SentimentExample] = []
    with (directory / f"sentiment_{split}.tsv").open(encoding="utf-8", newline="") as fh:
        for text, labels, key in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
            given = {names[int(i)] for i in labels.split(",")}
            if {"negative", "positive"} <= given:
                continue
            label: SentimentLabel = (
                "negative" if "negative" in given else "positive" if "positive" in given else "neutral"
            )
            complaint = bool(emotions.get(key, set()) & _COMPLAINT_EMOTIONS)
            out.append(SentimentExample(text, label, complaint))
    return out


def build_base(examples: list[SentimentExample]) -> BaseModel:
    """Fit the base layer: a 3-class and a complaint logistic regression over the same features."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = CountVectorizer(analyzer=features, min_df=_MIN_DF, binary=True)
    x = vectorizer.fit_transform([e.text for e in examples])
    labels = ("negative", "neutral", "positive")
    y = np.array([labels.index(e.label) for e in examples])
    z = np.array([e.complaint for e in examples], dtype=int)
    sent = LogisticRegression(C=_C, max_iter=3000).fit(x, y)
    comp = LogisticRegression(C=_C, max_iter=3000).fit(x, z)
    coef = np.vstack([sent.coef_, comp.coef_])
    terms = vectorizer.get_feature_names_out()
    keep = np.abs(coef).max(axis=0) >= _PRUNE
    weights = {
        str(terms[j]): (float(coef[0, j]), float(coef[1, j]), float(coef[2, j]), float(coef[3, j]))
        for j in np.flatnonzero(keep)
    }
    bias = (
        float(sent.intercept_[0]),
        float(sent.intercept_[1]),
        float(sent.intercept_[2]),
        float(comp.intercept_[0]),
    )
    return BaseModel(weights, bias)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("goemotions", type=Path, help="the GoEmotions directory (see its README)")
    parser.add_argument("--out", type=Path, default=BASE_PATH)
    args = parser.parse_args(argv)
    model = build_base(goemotions(args.goemotions, "train"))
    model.save(args.out)
    print(f"{args.out}: {len(model.weights)} features", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
