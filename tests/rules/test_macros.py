"""Macros (``macros.yml``): validated with ``file:line`` as part of the rulebook, hot-reloaded
(a broken file keeps the previous macros), rendered for a ticket without ever leaving a
``{variable}`` in the text, and covered by ``frontdesk rules test`` cases."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.knowledge import Knowledge
from core.yamlfile import RulebookError
from rules.macro_cases import MacroCase
from rules.macros import Macro, MacroContext, fill, load_macros
from rules.reload import RulebookWatcher
from rules.stories import run_any
from rules.testcases import load_cases
from tests.rules.helpers import ROOT, ruleset, write_rulebook
from tests.rules.test_cli import cli
from tests.rules.test_reload import save

RULES = "rules:\n  - name: hello\n    then: [{reply: hi}]\n"
GOOD = """\
macros:
  - name: refund-status
    title: Refund status
    reply: Hi {customer.first_name|there}, the refund for order {order_number} is on its way ({ticket}).
    actions: {status: pending, tags: [refund]}
  - name: thanks
    title: Thanks
    reply: Thanks {customer.first_name|there}!
"""


def _write(directory: Path, macros: str) -> Path:
    path = directory / "macros.yml"
    path.write_text(textwrap.dedent(macros), encoding="utf-8")
    return path


def _problems(tmp_path: Path, macros: str) -> list[str]:
    directory = write_rulebook(tmp_path / "rulebook", RULES)
    _write(directory, macros)
    with pytest.raises(RulebookError) as caught:
        ruleset(tmp_path, RULES)
    return list(caught.value.problems)


def test_macros_load_with_the_rulebook(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rulebook", RULES)
    _write(directory, GOOD)
    macros = ruleset(tmp_path, RULES).macros
    assert [m.name for m in macros] == ["refund-status", "thanks"]
    refund = macros.get("Refund-Status ")
    assert refund is not None and refund.line == 2 and refund.title == "Refund status"
    assert refund.actions() == {"status": "pending", "tags": ["refund"]}
    assert macros.suggest("refund-stauts") == "refund-status"


def test_a_rulebook_without_macros_has_none(tmp_path: Path) -> None:
    assert len(ruleset(tmp_path, RULES).macros) == 0


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        """\
        macros:
          - name: refund-status
            title: Refund status
            reply: Hi {customer.frist_name}, order {order_numbr}.
          - name: refund-status
            title: Again
            reply: Hello.
          - name: solve
            title: Solve
            reply: Done.
            actions: {status: solvd}
          - name: typo
            titel: Typo
            reply: Hi.
        """,
    )
    text = "\n".join(problems)
    path = tmp_path / "rulebook" / "macros.yml"
    # the schema's problems come first, alone: a file that does not parse is not checked further
    assert f"{path}:11: macros[2].actions.status: unknown value 'solvd' (did you mean 'solved'?)" in text
    assert f"{path}:13: macros[3].titel: unknown key 'titel' (did you mean 'title'?)" in text
    problems = _problems(
        tmp_path,
        """\
        macros:
          - name: refund-status
            title: Refund status
            reply: Hi {customer.frist_name}, order {order_numbr}.
          - name: refund-status
            title: Again
            reply: Hello.
        """,
    )
    assert problems == [
        f"{path}:4: macros[0].reply: unknown variable {{customer.frist_name}} "
        "(did you mean {customer.first_name}?)",
        f"{path}:4: macros[0].reply: unknown variable {{order_numbr}} (did you mean {{order_number}}?)",
        f"{path}:5: macros[1].name: macro name 'refund-status' is used twice (first at line 2)",
    ]


def test_rule_variables_that_mean_nothing_for_a_macro_are_errors(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path, "macros:\n  - {name: m, title: M, reply: 'You said {message} ({result.ticket})'}\n"
    )
    assert [p.split(": ", 2)[2] for p in problems] == [
        "unknown variable {message}",
        "unknown variable {result.ticket} (did you mean {ticket}?)",
    ]


def test_not_yaml_is_reported_too(tmp_path: Path) -> None:
    directory = tmp_path / "rb"
    directory.mkdir()
    _write(directory, "macros: [\n")
    problems: list[str] = []
    load_macros(directory, problems)
    assert len(problems) == 1 and problems[0].startswith(f"{directory / 'macros.yml'}:")


def load_one(directory: Path, text: str, name: str) -> Macro:
    directory.mkdir(exist_ok=True)
    _write(directory, text)
    problems: list[str] = []
    macro = load_macros(directory, problems).get(name)
    assert not problems and macro is not None
    return macro


def test_rendering_fills_the_ticket_and_never_leaves_a_variable(tmp_path: Path) -> None:
    macro = load_one(tmp_path, GOOD, "refund-status")
    ctx = MacroContext(
        ticket="T-1042",
        customer_name="  Dana  Scully ",
        entities=(("order_ref", "A-22222"), ("order_ref", "A-11111")),  # newest message first
    )
    filled = fill(macro, ctx)
    assert filled.ok and filled.text == "Hi Dana, the refund for order A-22222 is on its way (T-1042)."
    # the value the customer gave the bot's question wins over entities
    slots = fill(macro, MacroContext(ticket="T-1", slots={"order_number": "54321"}, entities=ctx.entities))
    assert "order 54321" in slots.text and "Hi there" in slots.text
    # no order number known: refused, and nothing rendered that could be sent
    refused = fill(macro, MacroContext(ticket="T-1042", customer_name="Dana"))
    assert not refused.ok and refused.missing == ("order_number",) and refused.text == ""


def test_customer_text_is_never_rescanned_for_variables(tmp_path: Path) -> None:
    macro = load_one(tmp_path, GOOD, "refund-status")
    filled = fill(
        macro, MacroContext(ticket="T-1", customer_name="{ticket}", entities=(("order_ref", "{x}"),))
    )
    assert filled.text == "Hi {ticket}, the refund for order {x} is on its way (T-1)."


async def test_hot_reload_swaps_macros_and_keeps_them_on_a_broken_file(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", RULES)
    path = _write(directory, GOOD)
    current = [Knowledge.load(directory, faq_threshold=0.8)]
    watcher = RulebookWatcher(
        directory=directory,
        load=lambda: Knowledge.load(directory, faq_threshold=0.8),
        apply=lambda k: current.__setitem__(0, k),
        interval=0.01,
    )
    save(path, GOOD.replace("Thanks {customer", "Many thanks {customer"))
    assert await watcher.check() is True
    assert current[0].ruleset.macros.get("thanks").reply.startswith("Many thanks")  # type: ignore[union-attr]

    save(path, GOOD + "  - name: broken\n    title: Broken\n    reply: Hi {custmer.name}\n")
    assert await watcher.check() is False
    assert watcher.last_error == (
        f"{path}:11: macros[2].reply: unknown variable {{custmer.name}} (did you mean {{customer.name}}?)",
    )
    live = current[0].ruleset.macros
    assert [m.name for m in live] == ["refund-status", "thanks"]  # the previous version stays
    assert live.get("thanks").reply.startswith("Many thanks")  # type: ignore[union-attr]

    path.unlink()
    assert await watcher.check() is True
    assert len(current[0].ruleset.macros) == 0


def test_the_shipped_macros_and_their_cases(tmp_path: Path) -> None:
    """rulebook/macros.yml loads, and rulebook/tests/macros.yaml covers every shipped macro."""
    knowledge = Knowledge.load(ROOT / "rulebook", faq_threshold=0.8)
    shipped = {m.name for m in knowledge.ruleset.macros}
    assert {"refund-status", "ask-for-order-number", "shipping-delay-apology", "solved-thanks"} <= shipped
    cases = [(w, c) for w, c in load_cases(ROOT / "rulebook" / "tests") if isinstance(c, MacroCase)]
    assert {c.macro for _, c in cases} == shipped
    for where, case in cases:
        result = run_any(case, where, analyzer=knowledge.analyzer, ruleset=knowledge.ruleset)
        assert result.passed, f"{where}: {result.failures}"


def test_rules_test_reports_a_failing_macro_case_with_its_line(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", RULES)
    _write(directory, GOOD)
    tests = directory / "tests"
    tests.mkdir()
    (tests / "m.yaml").write_text(
        "macros:\n"
        "  - name: ok\n    macro: thanks\n    customer: {name: Ana}\n"
        "    expect: {reply_contains: Thanks Ana}\n"
        "  - name: wrong\n    macro: refund-status\n"
        "    expect: {reply_contains: order 1, status: solved, tags: []}\n"
        "  - name: typo\n    macro: thnaks\n    expect: {missing: []}\n",
        encoding="utf-8",
    )
    code, text, _ = cli("rules", "test", "--all", "--no-train", "--rulebook", str(directory),
                        "--models", str(tmp_path / "models"))  # fmt: skip
    assert code == 1
    assert f"PASS  ok  ({tests / 'm.yaml'}:2)" in text
    assert f"FAIL  wrong  ({tests / 'm.yaml'}:6)" in text
    assert "the macro would be refused: no value for order_number" in text
    assert "expected status 'solved', the macro sets 'pending'" in text
    assert "expected tags [], the macro sets ['refund']" in text
    assert "no macro 'thnaks' in macros.yml (did you mean 'thanks'?)" in text
