"""FAQ paraphrases (issue 22, finding 7): examples, the cosine matcher, thresholds from a dev split."""

from __future__ import annotations

import argparse
import csv
import json
import pickle
from pathlib import Path

import pytest

from bot.cli_parser import add_nlu_commands
from nlp.faq import FaqMatcher
from nlp.faq_eval import evaluate_faq, read_faq_csv
from nlp.faq_similarity import ANSWER_POINT, FaqVectors, calibrate
from nlp.pipeline import Pipeline
from nlp.types import AnalysisContext, FaqEntry
from rules.rulebook import load_rulebook

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "bench" / "data" / "faq_dev.csv"
GIFT = "can i buy a giftcard for my brother"


def _example_faqs() -> tuple[tuple[FaqEntry, ...], tuple[float, float]]:
    rulebook = load_rulebook(ROOT / "rulebook")
    return rulebook.faqs, rulebook.faq_thresholds


def test_calibration_puts_the_picked_threshold_on_the_answer_point_and_keeps_order() -> None:
    assert calibrate(0.28, 0.28) == pytest.approx(ANSWER_POINT)
    values = [0.0, 0.1, 0.27, 0.28, 0.5, 1.0]
    mapped = [calibrate(v, 0.28) for v in values]
    assert mapped == sorted(mapped) and mapped[0] == 0.0 and mapped[-1] == pytest.approx(1.0)
    assert calibrate(0.72, 0.8) == pytest.approx(0.72)  # at 0.8 fuzzy scores are unchanged


def test_the_gift_card_paraphrase_is_answered_with_examples_and_missed_without() -> None:
    faqs, (fuzzy, similar) = _example_faqs()
    matcher = FaqMatcher(faqs, fuzzy_threshold=fuzzy, similarity_threshold=similar)
    [best, *_] = matcher.match(GIFT)
    assert best.faq_id == "gift_cards" and best.score >= ANSWER_POINT, best
    spelled = FaqMatcher(faqs, fuzzy_threshold=0.8, similarity_threshold=0.999999)  # fuzzy only
    assert spelled.match(GIFT)[0].score < ANSWER_POINT  # finding 7: 0.72, a ticket


def test_similarity_ignores_words_it_never_saw() -> None:
    vectors = FaqVectors([("a", "do you sell gift cards"), ("b", "how much is shipping")])
    [[gift, shipping]] = vectors.similarities(["gift cards please"]).tolist()
    assert gift > shipping
    [[unrelated, _]] = vectors.similarities(["who won the football game"]).tolist()
    assert unrelated < 0.1


def test_a_pipeline_pickles_with_its_faq_thresholds() -> None:
    faqs, thresholds = _example_faqs()
    pipeline = Pipeline(faqs=faqs, faq_thresholds=thresholds)
    clone = pickle.loads(pickle.dumps(pipeline))
    context = AnalysisContext()
    assert clone.analyze(GIFT, context).faq == pipeline.analyze(GIFT, context).faq
    assert pipeline.analyze(GIFT, context).faq[0].faq_id == "gift_cards"


def test_the_dev_set_is_not_made_of_the_faqs_own_texts() -> None:
    faqs, _ = _example_faqs()
    known = {t.casefold().strip(" ?") for f in faqs for t in (*f.questions, *f.examples)}
    rows = read_faq_csv(DEV)
    assert not [r.text for r in rows if r.text.casefold().strip(" ?") in known]
    labels = {r.faq for r in rows}
    assert labels >= {f.id for f in faqs} | {"none"}
    for split in ("dev", "test"):  # both splits cover every FAQ and out-of-scope questions
        assert {r.faq for r in rows if r.split == split} == labels


def test_thresholds_are_picked_on_dev_and_the_rulebook_uses_them() -> None:
    faqs, thresholds = _example_faqs()
    figures = evaluate_faq(faqs, read_faq_csv(DEV))
    picked = figures["thresholds"]
    assert (picked["fuzzy_threshold"], picked["similarity_threshold"]) == thresholds
    assert figures["dev"]["precision"] >= 0.95
    assert figures["test"]["recall"] > figures["test_fuzzy_only_0.80"]["recall"]


def test_evaluate_task_faq_prints_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="frontdesk")
    add_nlu_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["nlu", "evaluate", "--task", "faq", "--data", str(DEV), "--rulebook", str(ROOT / "rulebook")]
    )
    args.models = tmp_path / "models"
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"thresholds", "dev", "test", "test_fuzzy_only_0.80", "rulebook_thresholds"}
    assert set(out["test"]) >= {"precision", "recall", "false_answer_rate"}


def test_a_bad_dev_file_names_its_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "faq", "split"), ("hello", "none", "train")])
    with pytest.raises(ValueError, match=r"bad.csv:2: needs a text and split dev or test"):
        read_faq_csv(bad)
