"""analyze_many() is analyze() item by item (same floats, order, fallbacks), and pipelines pickle."""

from __future__ import annotations

import logging
import pickle
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from nlp import Analysis, AnalysisContext, IntentModel, ModelStore, Pipeline
from rules.intents_file import load_nlu_rulebook
from rules.rulebook import load_rulebook

RULEBOOK = Path(__file__).resolve().parents[2] / "rulebook"

EDGE = [
    "",
    " ",
    " \n\t  ",
    "😡😡😡🙄",
    "where is my order " * 1700,  # ~30k characters, beyond max_chars
    "refund \ud800 please \udfff",
    "\x00\x01\x02where\x07 is\x1b[31m my order\x7f",
    "1234567890",
    "order 12345, ORD-2231 and #99881; ticket TCK-42",
    "mail bob@Example.com or call +49 170 1234567, 12.50 EUR by tomorrow",
    "I want the Trailblazer jacket in size M and the NIMBUS bag",
    "summit boots, hiking boots summit, cozy sweater",
    "voucher ACME-7Q2X, zip 10115",
    "THIS IS THE THIRD TIME I'M ASKING!!!",
    "我的订单在哪里\uff1f",
    "?!?!...,,,",
    "٣٤٥٦٧٨٩ ١٢٣",  # Arabic-Indic digits are \\d too
    "\u039f\u0394\u039f\u03a3 \u03a3 \u03c3 \u03c2",  # capital, small and final sigma
    "don't can't won't I'm",
]


def fixed_today() -> date:  # module level: pickles by reference
    return date(2026, 3, 10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pipeline, list[str]]:
    """The example rulebook's pipeline as ``Knowledge.load`` builds it, and texts to try."""
    rulebook = load_rulebook(RULEBOOK)
    nlu = load_nlu_rulebook(RULEBOOK)
    assert nlu.intents is not None
    store = ModelStore(tmp_path_factory.mktemp("models"))
    model: IntentModel = store.train(list(nlu.intents.examples))
    if nlu.intents.oos_threshold is not None:
        model = model.with_threshold(nlu.intents.oos_threshold)
    pipeline = Pipeline(
        faqs=rulebook.faqs,
        model=model,
        sentiment_lexicon=nlu.sentiment_lexicon,
        entity_patterns=nlu.entity_patterns,
        gazetteers=nlu.gazetteers,
        today=fixed_today,
    )
    texts = [q for entry in rulebook.faqs for q in entry.questions]
    texts += [e.text for e in nlu.intents.examples]
    return pipeline, texts + EDGE + [t.upper() for t in texts[:40]]


def one_by_one(pipeline: Pipeline, items: list[tuple[str, AnalysisContext]]) -> list[Analysis]:
    return [pipeline.analyze(text, context) for text, context in items]


def contexts(n: int) -> list[AnalysisContext]:
    options = [
        AnalysisContext(),
        AnalysisContext(channel="email", language="de"),
        AnalysisContext(language=None),
    ]
    return [options[i % len(options)] for i in range(n)]


def test_batches_equal_one_at_a_time(served: tuple[Pipeline, list[str]]) -> None:
    pipeline, texts = served
    items = list(zip(texts, contexts(len(texts)), strict=True))

    assert pipeline.analyze_many(items) == one_by_one(pipeline, items)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 16, 31, 64])
def test_every_batch_size_gives_the_same(served: tuple[Pipeline, list[str]], size: int) -> None:
    pipeline, texts = served
    items = list(zip(texts, contexts(len(texts)), strict=True))
    expected = one_by_one(pipeline, items)

    got = [a for i in range(0, len(items), size) for a in pipeline.analyze_many(items[i : i + size])]

    assert got == expected


def test_edge_cases_alone_and_in_a_batch(served: tuple[Pipeline, list[str]]) -> None:
    pipeline, _ = served
    items = [(text, AnalysisContext()) for text in EDGE]

    assert pipeline.analyze_many(items) == one_by_one(pipeline, items)
    assert pipeline.analyze_many([]) == []


def test_without_a_model(served: tuple[Pipeline, list[str]]) -> None:
    pipeline, texts = served
    bare = pipeline.with_model(None)
    items = [(text, AnalysisContext()) for text in texts]

    analyses = bare.analyze_many(items)

    assert analyses == one_by_one(bare, items)
    assert all(a.out_of_scope and a.intents == () and a.model_version is None for a in analyses)


def test_a_failing_batched_stage_is_redone_per_message(
    served: tuple[Pipeline, list[str]], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline, texts = served
    items = [(text, AnalysisContext()) for text in texts[:20]]
    expected = one_by_one(pipeline, items)
    poison = texts[3]
    faq, entities = pipeline._faq, pipeline._entities
    match, match_many, extract_many = faq.match, faq.match_many, entities.extract_many

    def match_or_fail(text: str, **kwargs: Any) -> object:
        if text == poison:
            raise RuntimeError("faq bug")
        return match(text, **kwargs)

    def faq_batch_fails(texts: list[str], **kwargs: Any) -> object:
        if len(texts) > 1:  # match() itself runs match_many on one text
            raise RuntimeError("batch bug")
        return match_many(texts, **kwargs)

    def entities_batch_fails(texts: list[str]) -> object:
        if len(texts) > 1:
            raise RuntimeError("batch bug")
        return extract_many(texts)

    monkeypatch.setattr(faq, "match", match_or_fail)
    monkeypatch.setattr(faq, "match_many", faq_batch_fails)
    monkeypatch.setattr(entities, "extract_many", entities_batch_fails)
    with caplog.at_level(logging.ERROR, logger="nlp.pipeline"):
        got = pipeline.analyze_many(items)

    assert [a.faq for a in got] == [
        () if t == poison else e.faq for (t, _), e in zip(items, expected, strict=True)
    ]
    assert [a.entities for a in got] == [e.entities for e in expected]
    assert [(a.intents, a.sentiment) for a in got] == [(e.intents, e.sentiment) for e in expected]
    assert got[3] == pipeline.analyze(poison, AnalysisContext())  # the same fallback alone
    assert any("batched nlp stage faq failed" in r.message for r in caplog.records)


def test_pickle_round_trip_gives_identical_analyses(served: tuple[Pipeline, list[str]]) -> None:
    pipeline, texts = served
    items = list(zip(texts, contexts(len(texts)), strict=True))

    loaded = pickle.loads(pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL))

    assert isinstance(loaded, Pipeline)
    assert loaded.analyze_many(items) == one_by_one(pipeline, items)
    assert one_by_one(loaded, items) == one_by_one(pipeline, items)


def test_pickle_holds_inputs_not_spacy(served: tuple[Pipeline, list[str]]) -> None:
    pipeline, _ = served
    blob = pickle.dumps(pipeline, protocol=pickle.HIGHEST_PROTOCOL)

    assert b"spacy" not in blob
    assert b"_char_cache" not in blob  # compiled caches are rebuilt, not shipped


def test_clones_and_the_default_clock_pickle() -> None:
    base = Pipeline(faqs=[], gazetteers=[])
    model_free = base.with_model(None)
    text = "deliver it tomorrow please"

    for pipeline in (base, model_free):
        loaded = pickle.loads(pickle.dumps(pipeline))
        assert loaded.analyze(text, AnalysisContext()) == pipeline.analyze(text, AnalysisContext())
        assert loaded._inputs.today == date.today  # a bound method: equal, not identical


def test_with_model_clone_pickles_with_its_own_model(served: tuple[Pipeline, list[str]]) -> None:
    pipeline, texts = served
    bare = pickle.loads(pickle.dumps(pipeline.with_model(None)))
    again = pickle.loads(pickle.dumps(bare.with_model(pipeline.model)))

    assert bare.model is None
    assert again.analyze(texts[0], AnalysisContext()) == pipeline.analyze(texts[0], AnalysisContext())


def test_alnum_gate_is_str_isalnum() -> None:
    from nlp.pipeline import _ALNUM

    for code in range(0x110000):
        char = chr(code)
        assert (_ALNUM.search(char) is not None) == char.isalnum(), hex(code)
