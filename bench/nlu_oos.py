"""BANKING77-OOS: out-of-scope detection measured on intents the model never saw, as JSON.

    .venv/bin/python bench/nlu_oos.py                 # train.csv -> test.csv (report)
    .venv/bin/python bench/nlu_oos.py --split val     # train_90.csv -> val_10.csv (for tuning)

Protocol: 20 of the 77 intents are held out, drawn by ``random.Random(0).sample`` from the sorted
category names (listed in the output and in docs/performance.md). Both models train on the
other 57 intents' training messages only; every test message of a held-out intent is out of
scope. Figures, for Frontdesk's model and for a TF-IDF + logistic-regression baseline trained in
the same run on the same messages:

* ``accuracy_no_threshold``: in-scope messages whose top intent is right (rejection ignored);
* ``in_scope_accuracy``: right *and* not rejected, with the model's own threshold, fitted on
  data it held out of its training messages (Frontdesk: :func:`nlp.training.train`; baseline:
  500 held-out training messages, the same budget rule, then refitted on all);
* ``oos_recall`` / ``oos_precision`` / ``oos_f1``: held-out intents' messages rejected;
* ``auroc``: how well the confidence separates in-scope from out-of-scope messages;
* ``at_budget``: for comparison apart from where each threshold sits, the recall at the
  threshold that costs in-scope accuracy 1.0 and 1.5 points *on this test set* (an oracle, not
  something a deployment can choose).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp import train
from nlp.datasets import read_csv
from nlp.oos_metrics import oos_figures
from nlp.training import fit_threshold
from nlp.types import TrainingExample

DATA = Path(os.environ.get("BANKING77_DIR", Path(__file__).resolve().parents[2] / "shared/data/banking77"))
SPLITS = {"test": ("train.csv", "test.csv"), "val": ("train_90.csv", "val_10.csv")}
HELD_OUT_SEED = 0
HELD_OUT = 20


def held_out_intents(categories: Sequence[str], *, seed: int = HELD_OUT_SEED, n: int = HELD_OUT) -> list[str]:
    """The out-of-scope intents: fixed by the seed, independent of file order."""
    return sorted(random.Random(seed).sample(sorted(categories), n))


def figures(
    *, labels: Sequence[str], held: set[str], top: Sequence[str], confidence: Any, threshold: float
) -> dict[str, Any]:
    """OOS figures for one model's top labels and confidences on the evaluation messages."""
    conf = np.asarray(confidence, dtype=np.float64)
    is_oos = [label in held for label in labels]
    correct = [t == label for t, label in zip(top, labels, strict=True)]
    result = oos_figures(
        is_oos=is_oos, rejected=list(conf < threshold), correct=correct, confidence=conf
    ).to_dict()
    result["threshold"] = round(float(threshold), 4)
    result["at_budget"] = {
        f"{points} points": _recall_at_cost(conf, np.asarray(is_oos), np.asarray(correct), points / 100)
        for points in (1.0, 1.5)
    }
    return result


def _recall_at_cost(conf: Any, is_oos: Any, correct: Any, cost: float) -> dict[str, float]:
    """Oracle: the highest threshold whose rejections cost in-scope accuracy at most ``cost``."""
    ins = ~is_oos
    right = np.sort(conf[ins & correct])
    allowed = int(cost * int(ins.sum()))
    threshold = float(right[min(allowed, len(right) - 1)]) if len(right) else 0.0
    rejected = conf < threshold
    return {
        "threshold": round(threshold, 4),
        "in_scope_accuracy": round(float((correct & ~rejected)[ins].mean()), 4),
        "oos_recall": round(float(rejected[is_oos].mean()), 4),
    }


def frontdesk_model(train_examples: list[TrainingExample], texts: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    model = train(train_examples)
    seconds = time.perf_counter() - started
    probs = model.classifier.probabilities(texts)
    top = [model.labels[i] for i in probs.argmax(axis=1)]
    known = [model.classifier.known_words(t) > 0 for t in texts]
    # a message without a single known word is rejected whatever its confidence
    confidence = np.where(known, probs.max(axis=1), 0.0)
    return {
        "train_seconds": round(seconds, 2),
        "top": top,
        "confidence": confidence,
        "threshold": model.threshold,
        "temperature": round(model.classifier.temperature, 4),
    }


def baseline_model(train_examples: list[TrainingExample], texts: list[str], seed: int = 0) -> dict[str, Any]:
    """TF-IDF word 1-2-grams + logistic regression; threshold by the same budget rule."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    x = [e.text for e in train_examples]
    y = [e.intent for e in train_examples]

    def fit(texts_: list[str], labels_: list[str]) -> Any:
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        return make_pipeline(vectorizer, LogisticRegression(C=10.0, max_iter=1000)).fit(texts_, labels_)

    started = time.perf_counter()
    fit_x, held_x, fit_y, held_y = train_test_split(x, y, test_size=500, stratify=y, random_state=seed)
    first = fit(fit_x, fit_y)
    held_probs = first.predict_proba(held_x)
    classes = list(first.classes_)
    truth = np.array([classes.index(label) for label in held_y])
    threshold = fit_threshold(held_probs.max(axis=1), held_probs.argmax(axis=1), truth, -2)
    final = fit(x, y)
    seconds = time.perf_counter() - started
    probs = final.predict_proba(texts)
    return {
        "train_seconds": round(seconds, 2),
        "top": [final.classes_[i] for i in probs.argmax(axis=1)],
        "confidence": probs.max(axis=1),
        "threshold": threshold,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=sorted(SPLITS), default="test")
    parser.add_argument("--data", type=Path, default=DATA, help="directory with the BANKING77 CSV files")
    parser.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF + LR baseline")
    args = parser.parse_args()
    print(json.dumps(run(args.split, args.data, baseline=not args.no_baseline), indent=2))
    return 0


def run(split: str, data: Path, *, baseline: bool = True) -> dict[str, Any]:
    """The BANKING77-OOS figures of Frontdesk's model and, with ``baseline``, TF-IDF + LR."""
    train_file, eval_file = SPLITS[split]
    categories = json.loads((data / "categories.json").read_text(encoding="utf-8"))
    held = held_out_intents(categories)
    train_all = read_csv(data / train_file, text_col="text", label_col="category")
    train_examples = [e for e in train_all if e.intent not in held]
    eval_examples = read_csv(data / eval_file, text_col="text", label_col="category")
    texts = [e.text for e in eval_examples]
    labels = [e.intent for e in eval_examples]
    models = {"frontdesk": frontdesk_model(train_examples, texts)}
    if baseline:
        models["tfidf_lr"] = baseline_model(train_examples, texts)
    out: dict[str, Any] = {
        "protocol": "banking77-oos",
        "train": train_file,
        "eval": eval_file,
        "held_out_seed": HELD_OUT_SEED,
        "held_out_intents": held,
        "train_examples": len(train_examples),
        "eval_in_scope": sum(1 for label in labels if label not in held),
        "eval_out_of_scope": sum(1 for label in labels if label in held),
    }
    for name, m in models.items():
        out[name] = {
            "train_seconds": m["train_seconds"],
            **({"temperature": m["temperature"]} if "temperature" in m else {}),
            **figures(
                labels=labels,
                held=set(held),
                top=m["top"],
                confidence=m["confidence"],
                threshold=m["threshold"],
            ),
        }
    return out


if __name__ == "__main__":
    raise SystemExit(main())
