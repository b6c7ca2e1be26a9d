"""`frontdesk rules check` / `rules test`: output an admin can act on, exit codes for CI."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from bot.cli_parser import add_rules_commands
from core.yamlfile import SourceError
from nlp import ModelStore
from rules.intents_file import load_nlu_rulebook
from tests.rules.helpers import ROOT, write_rulebook

RULEBOOK = ROOT / "rulebook"


def cli(*argv: str) -> tuple[int, str, str]:
    """Run ``frontdesk <argv>`` in-process; returns the exit code, stdout and stderr."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_rules_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    kwargs = {"err": err} if args.rules_command == "test" else {}
    code = args.func(args, out=out, **kwargs)
    return code, out.getvalue(), err.getvalue()


def run(*argv: str) -> tuple[int, str]:
    code, out, _ = cli(*argv)
    return code, out


def _version() -> str:
    intents = load_nlu_rulebook(RULEBOOK).intents
    assert intents is not None
    return ModelStore("unused").version_for(intents.examples, oos_label=intents.oos_label)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model store holding the example rulebook's model, trained once for this module."""
    root = tmp_path_factory.mktemp("models")
    intents = load_nlu_rulebook(RULEBOOK).intents
    assert intents is not None
    ModelStore(root).train(list(intents.examples), oos_label=intents.oos_label)
    return root


def test_check_ok() -> None:
    code, out = run("rules", "check", "--rulebook", str(RULEBOOK))
    assert code == 0 and "OK" in out and "rules.yml" in out


def test_check_reports_problems(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", "rules:\n  - name: a\n    whn: {}\n    then: [{reply: hi}]\n")
    with pytest.raises(SourceError) as info:
        run("rules", "check", "--rulebook", str(directory))
    assert "rules.yml:3: rules[0].whn: unknown key 'whn' (did you mean 'when'?)" in info.value.problems[0]


def test_test_shows_analysis_trace_and_actions(store: Path) -> None:
    code, out = run(
        "rules",
        "test",
        "How much is shipping?",
        "--rulebook",
        str(RULEBOOK),
        "--models",
        str(store),
        "--customer",
        "{name: Ana, tags: [vip]}",
        "--conversation",
        "{has_open_ticket: true}",
    )
    assert code == 0
    assert "Analysis" in out and "FAQ:" in out
    assert "✓ vip_ticket_priority" in out and "✓ faq" in out
    assert "✗ greeting" in out and "needs " in out
    assert "1. AddNote" in out and "2. Reply" in out and "4.90 EUR" in out


def test_test_json(store: Path) -> None:
    code, out = run(
        "rules",
        "test",
        "I want to talk to a human",
        "--rulebook",
        str(RULEBOOK),
        "--models",
        str(store),
        "--now",
        "2025-06-03T11:00+02:00",
        "--json",
    )
    body = json.loads(out)
    assert code == 0
    assert body["rules_fired"] == ["human"]
    assert [a["action"] for a in body["actions"]] == ["OpenTicket", "Reply", "HandOff"]
    assert body["analysis"]["text"] == "I want to talk to a human"
    assert body["analysis"]["intent"] == "human"


def test_test_all_passes_on_the_example_rulebook(store: Path) -> None:
    code, out = run("rules", "test", "--all", "--rulebook", str(RULEBOOK), "--models", str(store))
    assert code == 0, out
    assert " 0 failed, " in out and "every rule is exercised by a test" in out
    assert "PASS  order status with an order number opens a ticket" in out


def test_test_uses_the_stored_model_of_the_current_intents(store: Path) -> None:
    code, out, err = cli(
        "rules", "test", "where is my order 12345?", "--rulebook", str(RULEBOOK), "--models", str(store)
    )
    assert code == 0, err
    assert err == ""  # loaded, not trained
    assert "intent:    order_status (" in out
    assert "✓ order_status (line" in out and "intent is order_status" in out
    assert "1. FillSlot" in out and "2. OpenTicket" in out and "queue='orders'" in out
    assert "✓ fallback" not in out
    assert ModelStore(store).versions() == [_version()]


def test_test_trains_a_missing_model_into_the_store(tmp_path: Path) -> None:
    models = tmp_path / "models"
    argv = ("rules", "test", "where is my order 12345?", "--rulebook", str(RULEBOOK), "--models", str(models))
    code, out, err = cli(*argv)
    assert code == 0, err
    assert f"has no intent model {_version()}" in err and "training it now" in err
    assert f"stored in {models / _version()}" in err
    assert "intent:    order_status (" in out and "✓ order_status (line" in out
    assert ModelStore(models).exists(_version())

    code, again, err = cli(*argv)  # the second run loads what the first one stored
    assert code == 0 and err == ""
    assert "intent:    order_status (" in again


def test_test_all_trains_a_missing_model_and_passes(tmp_path: Path) -> None:
    code, out, err = cli(
        "rules", "test", "--all", "--json", "--rulebook", str(RULEBOOK), "--models", str(tmp_path / "m")
    )
    body = json.loads(out)  # the training notes go to stderr, stdout stays JSON
    assert code == 0, out
    assert "training it now" in err
    assert body["failed"] == 0 and body["rules_not_exercised"] == []
    assert body["passed"] + body["known_failures"] == body["total"] >= 150
    fired = {case["name"]: case["rules_fired"] for case in body["cases"]}
    assert fired["a greeting at the start of a conversation offers the main topics"] == ["greeting"]
    assert fired["a refund for a given order opens a returns ticket"] == ["refund"]


def test_test_no_train_tests_without_intents(tmp_path: Path) -> None:
    models = tmp_path / "models"
    code, out, err = cli(
        "rules",
        "test",
        "where is my order 12345?",
        "--rulebook",
        str(RULEBOOK),
        "--models",
        str(models),
        "--no-train",
    )
    assert code == 0
    assert "testing WITHOUT intents (--no-train)" in err and "frontdesk nlu train" in err
    # Everything is out of scope: the example's clarify says it did not understand (no ticket yet).
    assert "intent:    none (out of scope)" in out and "✓ clarify" in out
    assert not models.exists()


def test_test_finds_the_model_store_through_the_config(tmp_path: Path) -> None:
    """Without --models the store is nlu.models from config.yaml, relative to that file, as for the server."""
    config = tmp_path / "config.yaml"
    config.write_text(f"rulebook:\n  path: {RULEBOOK}\nnlu:\n  models: store\n", encoding="utf-8")
    code, out, err = cli("--config", str(config), "rules", "test", "hello")
    assert code == 0, err
    assert f"stored in {tmp_path / 'store' / _version()}" in err
    assert "intent:    greet (" in out and "✓ greeting (line" in out


def test_test_all_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", "rules:\n  - name: hi\n    then: [{reply: hello}]\n")
    (directory / "tests").mkdir()
    (directory / "tests" / "a.yaml").write_text(
        "tests:\n  - name: x\n    message: hey\n    expect: {reply_contains: goodbye}\n", encoding="utf-8"
    )
    code, out = run("rules", "test", "--all", "--rulebook", str(directory))
    assert code == 1
    assert "FAIL  x" in out and "a.yaml:2" in out and "expected a reply containing 'goodbye'" in out


def test_test_all_reports_known_failures_coverage_and_the_pass_rate(tmp_path: Path) -> None:
    """A known failure is run and reported (KNOWN, with why) without failing the run; the rules no
    case fires are named; the summary gives the pass rate."""
    rules = "rules:\n  - name: never\n    when: {text: {contains: [zzz]}}\n    then: [{reply: never}]\n"
    directory = write_rulebook(tmp_path / "rb", rules + "  - name: hi\n    then: [{reply: hello}]\n")
    (directory / "tests").mkdir()
    (directory / "tests" / "a.yaml").write_text(
        "stories:\n"
        "  - name: says hello\n"
        "    steps: [{message: hey, expect: {reply_contains: hello}}, {message: yo, expect: {rules: [hi]}}]\n"
        "known_failures:\n"
        "  - name: says goodbye\n"
        "    why: no rule says goodbye yet\n"
        "    steps: [{message: bye, expect: {reply_contains: goodbye}}]\n",
        encoding="utf-8",
    )
    code, out = run("rules", "test", "--all", "--rulebook", str(directory))
    assert code == 0, out
    assert "PASS  says hello" in out and "KNOWN says goodbye" in out
    assert "known failure: no rule says goodbye yet" in out and "expected a reply containing 'goodbye'" in out
    assert "rules no test exercises: never" in out
    assert "1 of 2 pass (50.0%); 0 failed, 1 known failures, 0 known failures now pass" in out

    code, out = run("rules", "test", "--all", "--json", "--rulebook", str(directory))
    body = json.loads(out)
    assert code == 0
    assert (body["passed"], body["failed"], body["known_failures"], body["pass_rate"]) == (1, 0, 1, 0.5)
    assert body["rules_not_exercised"] == ["never"]
    assert [c["outcome"] for c in body["cases"]] == ["PASS", "KNOWN"]


def test_a_known_failure_that_passes_fails_the_run_until_it_is_moved(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", "rules:\n  - name: hi\n    then: [{reply: hello}]\n")
    (directory / "tests").mkdir()
    (directory / "tests" / "a.yaml").write_text(
        "known_failures:\n"
        "  - name: says hello\n"
        "    why: it did not\n"
        "    steps: [{message: hey, expect: {reply_contains: hello}}]\n",
        encoding="utf-8",
    )
    code, out = run("rules", "test", "--all", "--rulebook", str(directory))
    assert code == 1
    assert "FIXED says hello" in out and "it passes now: move it from known_failures to stories" in out
    assert "1 known failures now pass" in out


def test_a_known_failure_needs_a_reason(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", "rules:\n  - name: hi\n    then: [{reply: hello}]\n")
    (directory / "tests").mkdir()
    (directory / "tests" / "a.yaml").write_text(
        "known_failures:\n  - name: x\n    steps: [{message: hey, expect: {no_reply: true}}]\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="why"):
        run("rules", "test", "--all", "--rulebook", str(directory))
