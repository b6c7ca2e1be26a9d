"""Out-of-scope decisions: the threshold rule, calibration on a synthetic set, the figures, model size."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp import IntentConfig, ModelStore, TrainingExample, train
from nlp.oos_metrics import auroc, oos_figures
from nlp.training import fit_threshold

FILLER = ["please", "i", "my", "the", "a", "could", "you", "can"]
FILLER += ["we", "about", "it", "for", "me", "with", "need", "help"]


def synthetic(
    n_per_intent: int, *, intents: int = 8, seed: int = 0, offset: int = 0
) -> list[TrainingExample]:
    """Intents told apart by six words of their own among shared filler words; some are ambiguous."""
    rng = random.Random(seed)
    out = []
    for i in range(offset, offset + intents):
        for _ in range(n_per_intent):
            words = rng.sample(FILLER, 4) + [_word(i, rng.randrange(6)) for _ in range(rng.choice((1, 2)))]
            if rng.random() < 0.5:  # a stray word of some intent: with one word of its own, a coin toss
                words.append(_word(rng.randrange(offset, offset + intents), rng.randrange(6)))
            rng.shuffle(words)
            out.append(TrainingExample(" ".join(words), f"intent_{i}"))
    return out


def _word(intent: int, k: int) -> str:
    return "kw" + "".join(chr(97 + int(d)) for d in f"{intent:03d}{k}")  # letters: digits fold to 0


def test_threshold_rejects_at_most_the_budget_of_right_answers() -> None:
    rng = np.random.default_rng(0)
    confidence = np.concatenate([rng.uniform(0.5, 1.0, 290), rng.uniform(0.05, 0.4, 10)])
    truth = np.zeros(300, dtype=int)
    top = np.concatenate([np.zeros(290, dtype=int), np.ones(10, dtype=int)])  # the last 10 are wrong

    threshold = fit_threshold(confidence, top, truth, -2)

    rejected_right = int(np.sum(confidence[:290] < threshold))
    assert rejected_right == 3  # 1 % of the 300 held-out in-scope messages
    assert np.all(confidence[290:] < threshold)  # every wrong answer (all less confident) goes too


def test_trained_out_of_scope_examples_do_not_spend_the_budget() -> None:
    confidence = np.array([0.9] * 100 + [0.95] * 50)
    truth = np.array([0] * 100 + [5] * 50)  # 5: the trained out-of-scope class
    top = np.array([0] * 100 + [5] * 50)

    assert fit_threshold(confidence, top, truth, 5) == pytest.approx(0.9)


def test_training_calibrates_on_held_out_data_and_stores_the_threshold(tmp_path: Path) -> None:
    model = train(synthetic(200))  # 1600 examples: the SVM, with a 240-example held-out slice

    assert model.info["holdout"] >= 200
    assert 0.25 <= model.threshold < 1.0

    fresh = synthetic(50, seed=1)
    results = model.predict_each([e.text for e in fresh])
    right = [r.intents[0].name == e.intent for r, e in zip(results, fresh, strict=True)]
    accepted_right = [ok and not r.out_of_scope for ok, r in zip(right, results, strict=True)]
    assert np.mean(right) > 0.8  # a quarter of the messages are a coin toss
    assert np.mean(accepted_right) >= np.mean(right) - 0.05  # the threshold costs few right answers
    # calibrated: the mean top confidence is close to the accuracy it claims
    assert np.mean([r.intents[0].confidence for r in results]) == pytest.approx(np.mean(right), abs=0.1)

    # the everyday words every intent uses, with a subject the model never saw: no intent fits
    rng = random.Random(3)
    alien = ["zy" + "".join(rng.choice("qrstuvx") for _ in range(4)) for _ in range(30)]
    unseen = [" ".join(rng.sample(FILLER, 4) + rng.sample(alien, 2)) for _ in range(100)]
    assert np.mean([r.out_of_scope for r in model.predict_each(unseen)]) >= 0.9

    store = ModelStore(tmp_path)
    store.save(model)
    assert store.load(model.version).threshold == model.threshold


def test_auroc_and_figures() -> None:
    assert auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert auroc([0.5, 0.5], [True, False]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        auroc([0.1, 0.2], [True, True])

    figures = oos_figures(
        is_oos=[False, False, False, True, True],
        rejected=[False, True, False, True, False],
        correct=[True, True, False, False, False],
        confidence=[0.9, 0.3, 0.8, 0.2, 0.85],
    )
    assert figures.accuracy_no_threshold == pytest.approx(0.6667)
    assert figures.in_scope_accuracy == pytest.approx(0.3333)
    assert figures.oos_recall == 0.5
    assert figures.oos_precision == 0.5
    assert figures.oos_f1 == 0.5
    assert figures.auroc == pytest.approx(0.6667)


def test_stored_network_keeps_its_first_layer_as_int8(
    tmp_path: Path, shop_examples: tuple[TrainingExample, ...]
) -> None:
    hidden = 64
    config = IntentConfig(model="mlp", hidden=hidden, epochs=2, min_steps=40)
    store = ModelStore(tmp_path)
    model = store.train(shop_examples, config=config)
    saved = tmp_path / model.version / "model.pkl"

    loaded = store.load(model.version)
    mlp = loaded.classifier._mlp
    assert mlp is not None
    n_features = mlp.w1.shape[0]
    assert mlp.w1.dtype == np.int8
    assert mlp.w1.shape == (n_features, hidden)
    # the first layer at one byte a weight, plus the vocabularies: well under float32's 4 bytes
    assert saved.stat().st_size < n_features * hidden * 1.6
    assert loaded.predict("where is my parcel") == model.predict("where is my parcel")


def test_loading_and_scoring_a_stored_model_imports_no_scikit_learn(
    tmp_path: Path, shop_examples: tuple[TrainingExample, ...]
) -> None:
    config = IntentConfig(model="mlp", hidden=16, epochs=1, min_steps=10)
    model = ModelStore(tmp_path).train(shop_examples, config=config)
    probe = (
        "import sys\n"
        "from nlp import ModelStore\n"
        f"model = ModelStore({str(tmp_path)!r}).load({model.version!r})\n"
        "model.predict('where is my parcel')\n"
        "model.predict_each(['refund please', 'hello'])\n"
        "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # each serving process is about 90 MB smaller without them
