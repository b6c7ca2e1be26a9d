"""BANKING77 intent benchmark: accuracy, training time and single-message latency, as JSON.

    .venv/bin/python bench/nlu_banking77.py                  # train.csv -> test.csv (report once)
    .venv/bin/python bench/nlu_banking77.py --split val      # train_90.csv -> val_10.csv (for tuning)

Training time is the whole ``nlp.train`` call, calibration included (the production path).
The model is saved to and loaded from a temporary store to time loading.
Latency is ``Pipeline.analyze`` on single test messages (intents + sentiment + entities +
FAQ over a handful of FAQ entries), measured after a warm-up, one message at a time.
``rss_mb`` is the resident memory of a fresh Python process that imported ``nlp`` and loaded
the stored model (what each analysis worker pays for the model). A TF-IDF + logistic-regression
baseline (word 1-2-grams, C=10) is trained in the same run on the same data and measured the
same way, under ``baseline``. Out-of-scope figures: ``bench/nlu_oos.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp import AnalysisContext, FaqEntry, ModelStore, Pipeline, train
from nlp.datasets import read_csv
from nlp.evaluation import evaluate

DATA = Path(os.environ.get("BANKING77_DIR", Path(__file__).resolve().parents[2] / "shared/data/banking77"))
SPLITS = {"test": ("train.csv", "test.csv"), "val": ("train_90.csv", "val_10.csv")}
FAQS = [
    FaqEntry("card_arrival", ("When will my card arrive?", "My card has not arrived"), "3-5 days"),
    FaqEntry("fees", ("Are there any fees?", "How much does a transfer cost?"), "No fees."),
    FaqEntry("pin", ("How do I change my PIN?", "I forgot my PIN"), "In the app."),
]


RSS_PROBE = """
import pickle, sys, time
import nlp  # noqa: F401 - what a worker imports anyway
t0 = time.perf_counter()
with open(sys.argv[1], "rb") as fh:
    model = pickle.load(fh)
seconds = time.perf_counter() - t0
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        print(int(line.split()[1]) / 1024, seconds)
"""


def loaded_rss(path: Path) -> tuple[float, float]:
    """(RSS in MB, load seconds) of a fresh process that imports ``nlp`` and unpickles ``path``."""
    out = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(path)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    ).stdout.split()
    return round(float(out[0]), 1), round(float(out[1]), 3)


def baseline(train_examples: list, eval_examples: list, folder: Path) -> dict[str, float]:
    """TF-IDF word 1-2-grams + logistic regression: accuracy, time, size, load, RSS."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    started, cpu = time.perf_counter(), time.process_time()
    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LogisticRegression(C=10.0, max_iter=1000)
    ).fit([e.text for e in train_examples], [e.intent for e in train_examples])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    predicted = model.predict([e.text for e in eval_examples])
    accuracy = sum(p == e.intent for p, e in zip(predicted, eval_examples, strict=True)) / len(eval_examples)
    model.steps[0][1].stop_words_ = None
    path = folder / "baseline.pkl"
    path.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    rss, load = loaded_rss(path)
    return {
        "accuracy": round(accuracy, 4),
        "train_seconds": round(seconds, 2),
        "train_cpu_seconds": round(cpu, 2),
        "model_mb": round(path.stat().st_size / 1e6, 1),
        "model_load_seconds": load,
        "rss_mb": rss,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--split", choices=sorted(SPLITS), default="test")
    parser.add_argument("--data", type=Path, default=DATA, help="directory with the BANKING77 CSV files")
    parser.add_argument("--latency-samples", type=int, default=1000)
    parser.add_argument("--no-baseline", action="store_true", help="skip the TF-IDF + LR baseline")
    args = parser.parse_args()

    train_file, eval_file = SPLITS[args.split]
    train_examples = read_csv(args.data / train_file, text_col="text", label_col="category")
    eval_examples = read_csv(args.data / eval_file, text_col="text", label_col="category")

    started, cpu = time.perf_counter(), time.process_time()
    model = train(train_examples)
    train_seconds = time.perf_counter() - started
    train_cpu = time.process_time() - cpu  # all threads: what the run cost, whatever else ran

    result = evaluate(model, eval_examples)

    with tempfile.TemporaryDirectory() as tmp:
        store = ModelStore(Path(tmp))
        saved = store.save(model)
        model_mb = sum(f.stat().st_size for f in saved.iterdir()) / 1e6
        t0 = time.perf_counter()
        store.load(model.version)
        load_seconds = time.perf_counter() - t0
        rss_mb, _ = loaded_rss(saved / "model.pkl")
        base = None if args.no_baseline else baseline(train_examples, eval_examples, Path(tmp))

    pipeline = Pipeline(faqs=FAQS, model=model)
    context = AnalysisContext(channel="webchat", language="en")
    texts = [e.text for e in eval_examples][: args.latency_samples]
    for text in texts[:50]:
        pipeline.analyze(text, context)
    timings = []
    for text in texts:
        t0 = time.perf_counter()
        pipeline.analyze(text, context)
        timings.append((time.perf_counter() - t0) * 1000.0)
    timings.sort()

    print(
        json.dumps(
            {
                "dataset": "banking77",
                "train": train_file,
                "eval": eval_file,
                "train_examples": len(train_examples),
                "eval_examples": len(eval_examples),
                "accuracy": result.accuracy,
                "macro_f1": result.macro_f1,
                "train_seconds": round(train_seconds, 2),
                "train_cpu_seconds": round(train_cpu, 2),
                "holdout_accuracy": model.info.get("holdout_accuracy"),
                "oos_threshold": round(model.threshold, 4),
                "model_load_seconds": round(load_seconds, 3),
                "model_mb": round(model_mb, 1),
                "rss_mb": rss_mb,
                "analyze_ms_p50": round(statistics.median(timings), 3),
                "analyze_ms_p99": round(timings[int(len(timings) * 0.99) - 1], 3),
                "latency_samples": len(timings),
                "model_version": model.version,
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "baseline": base,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
