"""Training, calibration and the versioned model store, on the example shop's intents."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from nlp import (
    IntentConfig,
    IntentModel,
    ModelStore,
    ModelStoreError,
    TrainingError,
    TrainingExample,
    train,
    training_hash,
)
from nlp.intent import IntentClassifier


def test_round_trip_gives_identical_predictions(
    tmp_path: Path, shop_examples: tuple[TrainingExample, ...]
) -> None:
    store = ModelStore(tmp_path)
    model = store.train(shop_examples)

    loaded = ModelStore(tmp_path).load_current()

    assert loaded is not None
    assert loaded.version == model.version == store.current_version()
    for text in ("where is my parcel", "I want my money back", "hello", "asdf qwer"):
        assert loaded.predict(text) == model.predict(text)
    assert (tmp_path / model.version / "meta.json").is_file()


def test_same_data_reuses_the_stored_model(
    tmp_path: Path, shop_examples: tuple[TrainingExample, ...]
) -> None:
    store = ModelStore(tmp_path)
    first = store.train(shop_examples)
    reordered = tuple(reversed(shop_examples)) + shop_examples[:3]  # order and duplicates do not matter

    assert store.version_for(reordered) == first.version
    assert store.exists(first.version)
    assert store.train(reordered).version == first.version
    assert store.versions() == [first.version]


def test_changed_data_gets_a_new_version_and_old_versions_are_pruned(
    tmp_path: Path, shop_examples: tuple[TrainingExample, ...]
) -> None:
    store = ModelStore(tmp_path, keep=2)
    versions = []
    for extra in ("where is my stuff now", "wheres my parcel mate", "parcel???"):
        model = store.train((*shop_examples, TrainingExample(extra, "order_status")))
        versions.append(model.version)

    assert len(set(versions)) == 3
    assert store.current_version() == versions[-1]
    assert len(store.versions()) == 2


def test_load_errors_are_clear_and_load_or_none_is_quiet(
    tmp_path: Path, shop_examples: tuple[TrainingExample, ...]
) -> None:
    store = ModelStore(tmp_path)
    assert store.load_current() is None
    assert store.load_or_none("0123456789abcdef") is None
    with pytest.raises(ModelStoreError, match="nlu train"):
        store.load("0123456789abcdef")

    model = store.train(shop_examples)
    (tmp_path / model.version / "model.pkl").write_bytes(b"not a pickle")

    with pytest.raises(ModelStoreError, match="retrain"):
        store.load(model.version)
    assert store.load_or_none(model.version) is None


def test_predictions_are_ranked_and_calibrated(shop_model: IntentModel) -> None:
    result = shop_model.predict("where is my parcel? it has not arrived")

    assert result.intents[0].name == "order_status"
    assert not result.out_of_scope
    confidences = [i.confidence for i in result.intents]
    assert confidences == sorted(confidences, reverse=True)
    assert 0.0 <= shop_model.threshold <= 1.0


def test_gibberish_is_out_of_scope(shop_model: IntentModel) -> None:
    assert shop_model.predict("zxqv plorb wug").out_of_scope


def test_trained_out_of_scope_class_is_never_ranked() -> None:
    examples = [
        *(TrainingExample(f"where is my order {i}", "order_status") for i in range(8)),
        *(TrainingExample(f"I want a refund for {i}", "refund") for i in range(8)),
        *(
            TrainingExample(t, "oos")
            for t in (
                "what is the weather",
                "tell me a joke",
                "who won the game",
                "play some music",
                "what is the capital of france",
                "sing",
            )
        ),
    ]
    model = train(examples, oos_label="oos")

    result = model.predict("tell me a joke please")

    assert result.out_of_scope
    assert all(i.name != "oos" for i in result.intents)


def test_single_intent_and_tiny_data_still_train() -> None:
    model = train([TrainingExample("hello", "greet")])

    assert model.predict("hello").intents[0].name == "greet"
    assert model.predict("").intents[0].confidence == 1.0


def test_no_examples_is_an_error() -> None:
    with pytest.raises(TrainingError):
        train([TrainingExample("  ", "greet")])


def test_hash_depends_on_labels_and_settings() -> None:
    a = [TrainingExample("hi", "greet"), TrainingExample("bye", "goodbye")]
    b = [TrainingExample("hi", "goodbye"), TrainingExample("bye", "greet")]

    assert training_hash(a) != training_hash(b)
    assert training_hash(a) != training_hash(a, oos_label="oos")
    assert len(training_hash(a)) == 16


def test_single_text_fast_path_matches_batch_scores(shop_classifier: IntentClassifier) -> None:
    texts = ["where is my parcel", "", "x" * 3000, "我的订单", "REFUND NOW!!!"]
    batch = shop_classifier.decision(texts)  # scikit-learn's transform
    compacted = copy.deepcopy(shop_classifier)
    compacted.compact()  # plain vocabularies, as stored: scored by the fast path only
    for row, text in zip(batch, texts, strict=True):
        assert shop_classifier.decision([text])[0] == pytest.approx(row, abs=1e-4)
    assert compacted.decision(texts) == pytest.approx(batch, abs=1e-4)


def test_network_model_trains_saves_and_loads(
    tmp_path: Path, shop_examples: tuple[TrainingExample, ...]
) -> None:
    config = IntentConfig(model="mlp", hidden=32, epochs=2, min_steps=40)
    store = ModelStore(tmp_path)
    model = store.train(shop_examples, config=config)

    loaded = store.load(model.version)

    assert model.info["model"] == "mlp"
    assert loaded.predict("where is my parcel") == model.predict("where is my parcel")
    batch = loaded.classifier.decision(["where is my parcel", "refund please"])
    assert loaded.classifier.decision(["refund please"])[0] == pytest.approx(batch[1], abs=1e-4)
