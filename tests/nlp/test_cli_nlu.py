"""``frontdesk nlu train|evaluate|analyze`` end to end on small files."""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from pathlib import Path

import pytest

from bot.cli_parser import add_nlu_commands
from nlp import ModelStore, TrainingExample
from rules.intents_file import load_nlu_rulebook

from .conftest import RULEBOOK

OOS = ["what is the weather like", "tell me a joke", "who won the football game", "play some music"]


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="frontdesk")
    add_nlu_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["nlu", *argv])
    code: int = args.func(args)
    return code


def write_csv(path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def split(tmp_path: Path, shop_examples: tuple[TrainingExample, ...]) -> tuple[Path, Path]:
    train_rows, test_rows = [], []
    for i, e in enumerate(shop_examples):
        (test_rows if i % 5 == 0 else train_rows).append((e.text, e.intent))
    test_rows += [(t, "oos") for t in OOS]
    return write_csv(tmp_path / "train.csv", train_rows), write_csv(tmp_path / "test.csv", test_rows)


def test_train_then_evaluate_with_report(
    tmp_path: Path, split: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train_csv, test_csv = split
    models = tmp_path / "models"

    assert run("train", "--data", str(train_csv), "--models", str(models), "--quiet") == 0
    assert ModelStore(models).current_version() is not None
    capsys.readouterr()

    report = tmp_path / "report"
    assert run("evaluate", "--data", str(test_csv), "--models", str(models), "--oos-label", "oos",
               "--json", "--report", str(report)) == 0  # fmt: skip

    figures = json.loads(capsys.readouterr().out)
    with test_csv.open(encoding="utf-8") as fh:
        assert figures["examples"] == sum(1 for _ in csv.reader(fh)) - 1
    assert 0.0 <= figures["accuracy"] <= 1.0
    assert 0.0 <= figures["macro_f1"] <= 1.0
    assert figures["in_scope_accuracy"] is not None
    assert figures["oos_recall"] is not None
    assert {"intent", "precision", "recall", "f1", "support"} <= set(figures["per_intent"][0])
    assert (report / "confusion_matrix.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "Most confused pairs" in (report / "report.html").read_text(encoding="utf-8")


def test_evaluate_prints_a_readable_summary(
    tmp_path: Path, split: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train_csv, test_csv = split
    models = tmp_path / "models"
    run("train", "--data", str(train_csv), "--models", str(models), "--quiet")
    capsys.readouterr()

    assert run("evaluate", "--data", str(test_csv), "--models", str(models), "--oos-label", "oos") == 0

    out = capsys.readouterr().out
    for needle in (
        "accuracy",
        "macro-F1",
        "in-scope accuracy",
        "out-of-scope recall",
        "precision",
        "order_status",
    ):
        assert needle in out


def test_custom_column_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [("hi there", "greet"), ("hello", "greet"), ("bye now", "bye"), ("see you", "bye")]
    data = write_csv(tmp_path / "d.csv", rows, header=("utterance_text", "the_intent"))
    models = str(tmp_path / "m")

    assert run("train", "--data", str(data), "--models", models, "--quiet") == 1
    assert "--text-col" in capsys.readouterr().err
    assert run("train", "--data", str(data), "--models", models, "--quiet",
               "--text-col", "utterance_text", "--label-col", "the_intent") == 0  # fmt: skip


def test_broken_intents_file_keeps_the_previous_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "rulebook"
    shutil.copytree(RULEBOOK, book)
    models = tmp_path / "models"
    assert run("train", "--rulebook", str(book), "--models", str(models), "--quiet") == 0
    before = ModelStore(models).current_version()

    (book / "intents.yml").write_text("intents:\n  - name: greet\n    examples: [hi\n", encoding="utf-8")

    assert run("train", "--rulebook", str(book), "--models", str(models), "--quiet") == 2
    assert f"{book / 'intents.yml'}:4:" in capsys.readouterr().err
    assert ModelStore(models).current_version() == before


def test_analyze_prints_the_whole_analysis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    assert run("train", "--rulebook", str(RULEBOOK), "--models", str(models), "--quiet") == 0
    capsys.readouterr()

    text = "My order #12345 STILL hasn't arrived, third time asking! Is the trailblazer in stock?"
    assert run("analyze", text, "--rulebook", str(RULEBOOK), "--models", str(models)) == 0

    analysis = json.loads(capsys.readouterr().out)
    assert analysis["text"] == text
    assert analysis["intents"][0]["name"] in {"order_status", "complaint", "product_availability"}
    assert analysis["sentiment"]["label"] == "negative"
    types = {e["type"] for e in analysis["entities"]}
    assert {"order_ref", "product"} <= types
    assert analysis["faq"]
    assert analysis["model_version"] == ModelStore(models).current_version()


def test_analyze_without_a_model_still_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("analyze", "hello", "--rulebook", str(RULEBOOK), "--models", str(tmp_path / "none")) == 0

    captured = capsys.readouterr()
    assert json.loads(captured.out)["out_of_scope"] is True
    assert "nlu train" in captured.err


def test_evaluate_with_an_oos_label_leads_with_in_scope_and_out_of_scope_figures(
    tmp_path: Path, split: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train_csv, test_csv = split
    models = tmp_path / "models"
    run("train", "--data", str(train_csv), "--models", str(models), "--quiet")
    capsys.readouterr()

    assert run("evaluate", "--data", str(test_csv), "--models", str(models), "--oos-label", "oos") == 0

    captured = capsys.readouterr()
    headline = captured.out.split("macro-F1")[0]
    for needle in ("in-scope accuracy", "without the threshold", "out-of-scope recall",
                   "out-of-scope precision", "out-of-scope F1", "AUROC"):  # fmt: skip
        assert needle in headline
    # no accuracy that counts each out-of-scope example as a miss
    assert not any(line.strip().startswith("accuracy") for line in headline.splitlines())
    # the model never saw an "oos" example: its rejections come from the threshold alone
    assert "trained without 'oos' examples" in captured.err

    assert run("evaluate", "--data", str(test_csv), "--models", str(models), "--oos-label", "oos",
               "--json") == 0  # fmt: skip
    figures = json.loads(capsys.readouterr().out)["oos"]
    assert figures["out_of_scope"] == len(OOS)
    assert {"oos_recall", "oos_precision", "oos_f1", "auroc", "in_scope_accuracy"} <= set(figures)


def test_evaluate_warns_about_labels_the_model_does_not_know(
    tmp_path: Path, split: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train_csv, test_csv = split
    models = tmp_path / "models"
    run("train", "--data", str(train_csv), "--models", str(models), "--quiet")
    capsys.readouterr()

    assert run("evaluate", "--data", str(test_csv), "--models", str(models)) == 0
    err = capsys.readouterr().err
    assert f"{len(OOS)} examples have labels the model was never trained on (oos)" in err
    assert "--oos-label" in err

    assert run("evaluate", "--data", str(test_csv), "--models", str(models), "--oos-label", "nothing") == 0
    err = capsys.readouterr().err
    assert "no example" in err and "'nothing'" in err


def test_oos_examples_in_the_training_data_silence_the_warning(
    tmp_path: Path, split: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train_csv, test_csv = split
    with train_csv.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    extra = ["what's the weather tomorrow", "sing me a song", "who is the president", "tell me a story"]
    write_csv(train_csv, [(t, label) for t, label in rows] + [(t, "oos") for t in extra])
    models = tmp_path / "models"
    assert (
        run("train", "--data", str(train_csv), "--models", str(models), "--oos-label", "oos", "--quiet") == 0
    )
    capsys.readouterr()

    assert run("evaluate", "--data", str(test_csv), "--models", str(models), "--oos-label", "oos") == 0

    assert "warning" not in capsys.readouterr().err


def test_train_on_a_rulebook_with_oos_examples_makes_the_servers_model(tmp_path: Path) -> None:
    book = tmp_path / "rulebook"
    shutil.copytree(RULEBOOK, book)
    if "  - name: oos\n" not in (book / "intents.yml").read_text(encoding="utf-8"):  # has one since issue 22
        with (book / "intents.yml").open("a", encoding="utf-8") as fh:
            fh.write(
                "  - name: oos\n    examples: [what's the weather like, tell me a joke, who won the game]\n"
            )
    models = tmp_path / "models"

    assert run("train", "--rulebook", str(book), "--models", str(models), "--quiet") == 0

    store = ModelStore(models)
    model = store.load_current()
    intents = load_nlu_rulebook(book).intents
    assert model is not None and intents is not None
    assert model.oos_label == "oos"
    # the version the server looks for (bot/knowledge.py), so it loads this model instead of training
    assert model.version == store.version_for(intents.examples, oos_label=intents.oos_label)


def test_evaluate_uses_the_rulebooks_threshold_for_the_rulebooks_model_only(
    tmp_path: Path, split: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train_csv, test_csv = split
    models = tmp_path / "models"
    rulebook = ["--rulebook", str(RULEBOOK), "--models", str(models)]
    assert run("train", *rulebook, "--quiet") == 0  # the example intents.yml sets oos_threshold: 0.8
    capsys.readouterr()

    assert run("evaluate", *rulebook, "--data", str(test_csv), "--oos-label", "oos", "--json") == 0
    assert json.loads(capsys.readouterr().out)["threshold"] == 0.8  # what the server would apply

    assert run("train", *rulebook, "--data", str(train_csv), "--quiet") == 0  # another data set
    capsys.readouterr()
    assert run("evaluate", *rulebook, "--data", str(test_csv), "--oos-label", "oos", "--json") == 0
    assert json.loads(capsys.readouterr().out)["threshold"] != 0.8
