"""The trained sentiment and complaint classifier: negation, clear cases, admin examples, the data."""

from __future__ import annotations

import csv
import pickle
from pathlib import Path

import pytest

from core.yamlfile import RulebookError
from nlp import AnalysisContext, Pipeline
from nlp.sentiment import SentimentAnalyzer
from nlp.sentiment_model import bundled_examples, default_model, train_sentiment
from nlp.types import SentimentExample
from rules.intents_file import load_nlu_rulebook
from tests.conftest import ROOT

PIPELINE = Pipeline()
LEXICON = SentimentAnalyzer()
CONTEXT = AnalysisContext()
DEV = ROOT / "bench" / "data" / "cs_dev.csv"


def analyze(text: str, pipeline: Pipeline = PIPELINE) -> tuple[str, bool]:
    a = pipeline.analyze(text, CONTEXT)
    return a.sentiment.label, a.complaint


@pytest.mark.parametrize(
    "text", ["no excuse for poor customer service", "not happy at all", "never again", "NOT happy. at all"]
)
def test_negated_praise_and_negative_phrases_are_negative(text: str) -> None:
    assert LEXICON.score(text).label == "negative"
    assert analyze(text)[0] == "negative"


def test_a_negated_negative_word_is_mildly_positive_never_negative() -> None:
    not_bad = LEXICON.score("not bad").score
    assert 0 < not_bad < LEXICON.score("good").score
    assert LEXICON.score("no problem").label != "negative"
    assert LEXICON.score("no problem, thanks").label == "positive"  # the "no" stops at the comma
    for text in ("not bad", "no problem", "no problem, thanks"):
        label, complaint = analyze(text)
        assert label != "negative" and not complaint, text


@pytest.mark.parametrize(
    "text",
    [
        "on hold for 30 minutes and they hung up",
        "cancelled again",
        "I was charged twice for one order",
        "my parcel is lost and nobody answers my emails",
        "the driver was really rude to my mother",
        "third time I'm writing about the broken washing machine",
        "I'm switching to another bank, this is a joke",
        "My order STILL hasn't arrived, third time asking! Is the blue one in stock?",  # any sentence
    ],
)
def test_clear_complaints_are_flagged_even_without_lexicon_words(text: str) -> None:
    a = PIPELINE.analyze(text, CONTEXT)
    assert (a.sentiment.label, a.complaint) == ("negative", True)
    assert 0.5 <= a.complaint_confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "where is my order",
        "how do I reset my password",
        "what are your opening hours?",
        "can I change my delivery address?",
        "thanks a lot, great help",
        "I was angry at first. But you sorted it, thank you so much!",  # positive as a whole
        "",
        "12345",
    ],
)
def test_ordinary_questions_and_thanks_are_not_complaints(text: str) -> None:
    label, complaint = analyze(text)
    assert not complaint
    assert label in ("neutral", "positive")


def test_single_and_batched_analysis_agree_and_survive_pickling() -> None:
    texts = ["cancelled again", "where is my order", "thanks!", "not bad"]
    batch = PIPELINE.analyze_many([(t, CONTEXT) for t in texts])
    assert batch == [PIPELINE.analyze(t, CONTEXT) for t in texts]
    clone = pickle.loads(pickle.dumps(PIPELINE))
    assert [clone.analyze(t, CONTEXT) for t in texts] == batch


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_rulebook_examples_retrain_the_classifier(tmp_path: Path) -> None:
    odd = "the parcel is on the moon"
    assert analyze(odd)[1] is False
    write(
        tmp_path / "sentiment.yml",
        "lexicon: {}\nexamples:\n  complaint:\n    - the parcel is on the moon\n"
        "  neutral:\n    - is my parcel on the moon yet?\n",
    )
    book = load_nlu_rulebook(tmp_path)
    assert book.sentiment_examples == (
        SentimentExample("the parcel is on the moon", "negative", True),
        SentimentExample("is my parcel on the moon yet?", "neutral", False),
    )
    model = train_sentiment(book.sentiment_examples)
    assert model.version != default_model().version
    taught = Pipeline(sentiment_model=model)
    assert analyze(odd, taught) == ("negative", True)
    assert analyze("The  parcel is ON the moon", taught) == ("negative", True)  # matched folded
    assert analyze("is my parcel on the moon yet?", taught) == ("neutral", False)
    assert train_sentiment(book.sentiment_examples) is model  # cached: a reload does not retrain


def test_bad_examples_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "sentiment.yml",
        "examples:\n  complaint:\n    - it broke again\n"
        "  positive:\n    - it broke again\n  angry:\n    - x\n",
    )
    with pytest.raises(RulebookError) as caught:
        load_nlu_rulebook(tmp_path)
    assert any(f"{path}:6" in p and "angry" in p for p in caught.value.problems), caught.value.problems
    write(path, "examples:\n  complaint:\n    - it broke again\n  positive:\n    - It broke  again\n")
    with pytest.raises(RulebookError) as caught:
        load_nlu_rulebook(tmp_path)
    assert list(caught.value.problems) == [
        f"{path}:5: 'It broke  again' is listed under positive and under complaint (line 3)"
    ]
    write(path, "examples:\n  neutral:\n    - yes\n")  # YAML reads a bare yes as true
    with pytest.raises(RulebookError) as caught:
        load_nlu_rulebook(tmp_path)
    assert any(f"{path}:3" in p for p in caught.value.problems), caught.value.problems


def _dev_texts() -> list[str]:
    with DEV.open(encoding="utf-8", newline="") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def test_the_dev_set_is_large_labelled_and_apart_from_the_training_examples() -> None:
    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    dev = _dev_texts()
    assert len(dev) >= 1000
    assert len({norm(t) for t in dev}) == len(dev)
    training = {norm(e.text) for e in bundled_examples()}
    assert not training & {norm(t) for t in dev}
    rulebook = load_nlu_rulebook(ROOT / "rulebook")
    assert not {norm(e.text) for e in rulebook.sentiment_examples} & {norm(t) for t in dev}
