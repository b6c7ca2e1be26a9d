"""NLP cost per message: ``Pipeline.analyze`` one at a time vs ``analyze_many`` batches, and pickling.

    .venv/bin/python bench/nlp_analyze.py                     # rulebook/ pipeline + BANKING77 model
    .venv/bin/python bench/nlp_analyze.py --no-banking77      # rulebook only (no training)

Two pipelines, built the way ``bot.knowledge.Knowledge.load`` builds the server's: the example
rulebook's FAQ, sentiment words, entity patterns and gazetteers, with

* ``rulebook``: the rulebook's intent model (from a ``ModelStore``, trained if missing: a second),
  over its FAQ questions, intent examples and a few messages with entities;
* ``banking77``: a model trained on BANKING77 ``train.csv`` (cached in ``--models``; the first run
  trains it, about a minute on two cores), over the first ``--texts`` messages of ``test.csv``.

Per pipeline: CPU µs per message (``time.process_time``, so other processes on the machine do not
count; the median of ``--rounds`` interleaved rounds) of ``analyze()`` one message at a time and
of ``analyze_many`` in batches of 8 and 64; whether the batches gave exactly the one-at-a-time
results; and the pickled size and ``pickle.dumps``/``loads`` time (what a worker process pays
per pipeline). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp import AnalysisContext, ModelStore, Pipeline  # noqa: E402
from nlp.datasets import read_csv  # noqa: E402
from nlp.intent_model import IntentModel  # noqa: E402
from rules.intents_file import NluRulebook, load_nlu_rulebook  # noqa: E402
from rules.rulebook import Rulebook, load_rulebook  # noqa: E402

BANKING77 = Path(os.environ.get("BANKING77_DIR", ROOT.parent / "shared/data/banking77"))
MODELS = Path(tempfile.gettempdir()) / "frontdesk-bench-models"
EXTRA = [
    "My order ORD-20931 has not arrived, mail me at jane.doe@example.com",
    "I want to return the Trailblazer jacket in size M, it arrived damaged!!!",
    "Can I pay 49.90 EUR for the nimbus bag tomorrow? Call me on +49 170 1234567",
    "THIS IS THE THIRD TIME I'M ASKING. WHERE IS MY REFUND?",
    "voucher ACME-7Q2X does not work, zip 10115",
    "",
    "😡😡😡",
]
Items = list[tuple[str, AnalysisContext]]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rulebook", type=Path, default=ROOT / "rulebook")
    parser.add_argument("--models", type=Path, default=MODELS, help="model store (cache) for both models")
    parser.add_argument("--banking77", type=Path, default=BANKING77, help="directory with the BANKING77 CSVs")
    parser.add_argument("--no-banking77", action="store_true", help="only the rulebook pipeline")
    parser.add_argument("--texts", type=int, default=300, help="BANKING77 test messages to analyse")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    rulebook = load_rulebook(args.rulebook)
    nlu = load_nlu_rulebook(args.rulebook)
    store = ModelStore(args.models)
    results: dict[str, Any] = {}

    shop_model = _rulebook_model(store, nlu)
    shop_texts = [q for entry in rulebook.faqs for q in entry.questions]
    shop_texts += [e.text for e in nlu.intents.examples] if nlu.intents else []
    results["rulebook"] = _measure(_pipeline(rulebook, nlu, shop_model), shop_texts + EXTRA, args.rounds)

    if not args.no_banking77 and (args.banking77 / "train.csv").is_file():
        examples = read_csv(args.banking77 / "train.csv", text_col="text", label_col="category")
        bank_model = store.train(examples)  # loads the stored model when these examples trained one
        tests = read_csv(args.banking77 / "test.csv", text_col="text", label_col="category")
        texts = [e.text for e in tests][: args.texts]
        results["banking77"] = _measure(_pipeline(rulebook, nlu, bank_model), texts, args.rounds)

    results["cpus"] = os.cpu_count()
    results["python"] = platform.python_version()
    print(json.dumps(results, indent=2))
    return 0


def _rulebook_model(store: ModelStore, nlu: NluRulebook) -> IntentModel | None:
    if nlu.intents is None:
        return None
    model = store.train(list(nlu.intents.examples))
    threshold = nlu.intents.oos_threshold
    return model.with_threshold(threshold) if threshold is not None else model


def _pipeline(rulebook: Rulebook, nlu: NluRulebook, model: IntentModel | None) -> Pipeline:
    return Pipeline(
        faqs=rulebook.faqs,
        model=model,
        sentiment_lexicon=nlu.sentiment_lexicon,
        entity_patterns=nlu.entity_patterns,
        gazetteers=nlu.gazetteers,
    )


def _measure(pipeline: Pipeline, texts: Sequence[str], rounds: int) -> dict[str, Any]:
    context = AnalysisContext(channel="webchat", language="en")
    items: Items = [(text, context) for text in texts]
    many: Callable[[Items], list[Any]] | None = getattr(pipeline, "analyze_many", None)
    one_by_one = [pipeline.analyze(text, ctx) for text, ctx in items]  # also the warm-up
    runs: dict[str, Callable[[], object]] = {"analyze": lambda: [pipeline.analyze(t, c) for t, c in items]}
    identical = None
    if many is not None:
        for size in (8, 64):
            runs[f"analyze_many_{size}"] = lambda size=size: _batches(many, items, size)  # type: ignore[misc]
        identical = all(_batches(many, items, size) == one_by_one for size in (8, 64))
    timings: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            started = time.process_time()
            run()
            timings[name].append((time.process_time() - started) / len(items) * 1e6)
    result: dict[str, Any] = {"messages": len(items)}
    result |= {f"{name}_us": round(statistics.median(values), 1) for name, values in timings.items()}
    result["batches_identical"] = identical
    result |= _pickling(pipeline, rounds)
    return result


def _batches(many: Callable[[Items], list[Any]], items: Items, size: int) -> list[Any]:
    return [
        analysis for start in range(0, len(items), size) for analysis in many(items[start : start + size])
    ]


def _pickling(pipeline: Pipeline, rounds: int) -> dict[str, Any]:
    dumps, loads = [], []
    blob = b""
    for _ in range(max(1, min(rounds, 3))):
        started = time.perf_counter()
        blob = pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL)
        dumps.append(time.perf_counter() - started)
        started = time.perf_counter()
        pickle.loads(blob)
        loads.append(time.perf_counter() - started)
    return {
        "pickle_bytes": len(blob),
        "pickle_dumps_ms": round(statistics.median(dumps) * 1e3, 1),
        "pickle_loads_ms": round(statistics.median(loads) * 1e3, 1),
    }


if __name__ == "__main__":
    raise SystemExit(main())
