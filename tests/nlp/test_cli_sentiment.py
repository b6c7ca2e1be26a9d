"""``frontdesk nlu evaluate --task sentiment|complaint`` end to end on a small CSV and a rulebook."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from .test_cli_nlu import run

ROWS = [
    ("cancelled again, third time", "negative", "1"),
    ("on hold for an hour and they hung up", "negative", "1"),
    ("where is my order?", "neutral", "0"),
    ("how do I reset my password", "neutral", "0"),
    ("thank you so much, great help", "positive", "0"),
    ("the parcel is on the moon", "negative", "1"),  # a complaint only the rulebook teaches
]


def write_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "sentiment", "complaint"])
        writer.writerows(ROWS)
    return path


def test_evaluate_complaint_and_sentiment_with_the_rulebooks_examples(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_csv(tmp_path / "dev.csv")
    rulebook = tmp_path / "rulebook"
    rulebook.mkdir()
    common = ["--data", str(data), "--rulebook", str(rulebook), "--models", str(tmp_path / "models")]

    assert run("evaluate", "--task", "complaint", "--json", *common) == 0
    before = json.loads(capsys.readouterr().out)
    complaint = next(c for c in before["per_class"] if c["label"] == "complaint")
    assert (complaint["precision"], complaint["recall"], complaint["support"]) == (1.0, 0.6667, 3)

    (rulebook / "sentiment.yml").write_text(
        "examples:\n  complaint:\n    - the parcel is on the moon\n", encoding="utf-8"
    )
    assert run("evaluate", "--task", "complaint", "--json", *common) == 0
    after = json.loads(capsys.readouterr().out)
    assert after["accuracy"] == 1.0 and after["model_version"] != before["model_version"]

    assert run("evaluate", "--task", "sentiment", *common) == 0
    out = capsys.readouterr().out
    assert "sentiment model" in out and "(6 examples)" in out
    assert [line.split()[0] for line in out.splitlines()[-3:]] == ["negative", "neutral", "positive"]


def test_bad_csv_and_bad_rulebook_fail_with_their_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,greet\n", encoding="utf-8")
    rulebook = tmp_path / "rulebook"
    rulebook.mkdir()
    args = ["--rulebook", str(rulebook), "--models", str(tmp_path / "m")]
    assert run("evaluate", "--task", "sentiment", "--data", str(bad), *args) == 1
    assert "need a 'text' column and a 'sentiment' or 'complaint' column" in capsys.readouterr().err
    (rulebook / "sentiment.yml").write_text("examples:\n  angry:\n    - grr\n", encoding="utf-8")
    data = write_csv(tmp_path / "dev.csv")
    assert run("evaluate", "--task", "complaint", "--data", str(data), *args) == 2
    assert "sentiment.yml:2: examples.angry: unknown key" in capsys.readouterr().err
