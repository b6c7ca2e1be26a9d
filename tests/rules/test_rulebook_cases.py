"""The example rulebook's own tests (rulebook/tests/*.yaml), run like `frontdesk rules test --all`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.cli_rules import load_with_model
from bot.knowledge import Knowledge
from nlp import ModelStore
from rules.stories import run_any
from rules.test_report import report_of
from rules.testcases import KnownFailure, Story, load_cases, run_case
from tests.rules.helpers import ROOT

CASES = load_cases(ROOT / "rulebook" / "tests")


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> Knowledge:
    """The example rulebook with its trained intent model (in a temp store, not var/models)."""
    models = ModelStore(tmp_path_factory.mktemp("models"))
    loaded = load_with_model(ROOT / "rulebook", faq_threshold=0.8, models=models, notes=io.StringIO())
    assert loaded.model_ready and loaded.analyzer.model is not None
    return loaded


@pytest.mark.parametrize(("where", "case"), CASES, ids=[c.name for _, c in CASES])
def test_rulebook_case(where: str, case: object, knowledge: Knowledge) -> None:
    result = run_any(case, where, analyzer=knowledge.analyzer, ruleset=knowledge.ruleset)  # type: ignore[arg-type]
    if isinstance(case, KnownFailure):  # strict, like xfail_strict: a fixed bug leaves the list
        assert not result.passed, f"{where}: known failure {case.name!r} passes now: move it to stories"
        return
    trace = "\n".join(f"  {'✓' if t.matched else '✗'} {t.rule}: {t.reason}" for t in result.decision.trace)
    assert result.passed, f"{where}: {result.failures}\n{trace}"


def test_every_rule_is_exercised_and_there_are_150_conversations(knowledge: Knowledge) -> None:
    """Issue 22: at least 150 multi-turn stories, and no rule of the example rulebook that no
    test or story fires (a rule nothing exercises could change without anyone noticing)."""
    results = [run_any(c, w, analyzer=knowledge.analyzer, ruleset=knowledge.ruleset) for w, c in CASES]
    report = report_of(results, (rule.name for rule in knowledge.ruleset.rules))
    assert report.uncovered == ()
    assert not report.failed and not report.fixed, report.summary()
    multi_turn = [c for _, c in CASES if isinstance(c, Story) and len(c.steps) > 1]
    assert len(multi_turn) >= 150


def test_a_failing_case_is_reported_with_its_line(tmp_path: Path, knowledge: Knowledge) -> None:
    (tmp_path / "t.yaml").write_text(
        "tests:\n  - name: wrong\n    message: How much is shipping?\n"
        "    expect: {rule: greeting, hand_off: true}\n",
        encoding="utf-8",
    )
    [(where, case)] = load_cases(tmp_path)
    result = run_case(case, where, analyzer=knowledge.analyzer, ruleset=knowledge.ruleset)
    assert where.endswith("t.yaml:2")
    assert not result.passed
    assert any("expected rule 'greeting'" in f for f in result.failures)
    assert any("expected hand_off True" in f for f in result.failures)
