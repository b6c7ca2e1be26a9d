"""`frontdesk rules check` / `rules test`: output an admin can act on, exit codes for CI."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest

from bot.cli_rules import add_rules_commands
from rules.yamlfile import SourceError
from tests.rules.helpers import ROOT, write_rulebook


def run(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_rules_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    out = io.StringIO()
    code = args.func(args, out=out)
    return code, out.getvalue()


def test_check_ok() -> None:
    code, out = run("rules", "check", "--rulebook", str(ROOT / "rulebook"))
    assert code == 0 and "OK" in out and "rules.yml" in out


def test_check_reports_problems(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", "rules:\n  - name: a\n    whn: {}\n    then: [{reply: hi}]\n")
    with pytest.raises(SourceError) as info:
        run("rules", "check", "--rulebook", str(directory))
    assert "rules.yml:3: rules[0].whn: unknown key 'whn' (did you mean 'when'?)" in info.value.problems[0]


def test_test_shows_analysis_trace_and_actions() -> None:
    code, out = run(
        "rules",
        "test",
        "How much is shipping?",
        "--rulebook",
        str(ROOT / "rulebook"),
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


def test_test_json() -> None:
    code, out = run(
        "rules",
        "test",
        "I want to talk to a human",
        "--rulebook",
        str(ROOT / "rulebook"),
        "--now",
        "2025-06-03T11:00+02:00",
        "--json",
    )
    body = json.loads(out)
    assert code == 0
    assert body["rules_fired"] == ["human"]
    assert [a["action"] for a in body["actions"]] == ["OpenTicket", "Reply", "HandOff"]
    assert body["analysis"]["text"] == "I want to talk to a human"


def test_test_all_passes_on_the_example_rulebook() -> None:
    code, out = run("rules", "test", "--all", "--rulebook", str(ROOT / "rulebook"))
    assert code == 0, out
    assert "0 failed" in out


def test_test_all_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", "rules:\n  - name: hi\n    then: [{reply: hello}]\n")
    (directory / "tests").mkdir()
    (directory / "tests" / "a.yaml").write_text(
        "tests:\n  - name: x\n    message: hey\n    expect: {reply_contains: goodbye}\n", encoding="utf-8"
    )
    code, out = run("rules", "test", "--all", "--rulebook", str(directory))
    assert code == 1
    assert "FAIL  x" in out and "a.yaml:2" in out and "expected a reply containing 'goodbye'" in out
