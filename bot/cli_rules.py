"""``frontdesk rules check`` and ``frontdesk rules test``: the admins' tools for the rulebook.

Both load the rulebook exactly as the running bot does (:meth:`bot.knowledge.Knowledge.load`), so
"check passes" means "the bot would accept this version", and ``test`` shows the real analysis
and the real decision. ``test`` uses the intent model the server would serve: the one stored in
the model store (``nlu.models``) under the hash of the current ``intents.yml``. When that model
is not trained yet, ``test`` trains and stores it first, as the server does at start-up, and
says so on stderr (``--no-train`` tests without intents instead). Nothing touches the database
or sends anything. Problems in files raise :class:`~core.yamlfile.SourceError`, which
``bot.cli.main`` turns into exit code 2; failing rule tests exit with 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.config import Settings, load_cli_settings
from bot.knowledge import Knowledge
from core.yamlfile import RulebookError, parse_yaml
from nlp import ModelStore, TrainingError
from nlp import train as train_model
from nlp.types import Analysis, AnalysisContext
from rules.decision import Action, Decision, QuickReplyButton, RuleTrace
from rules.engine import Engine
from rules.stories import run_any
from rules.test_report import TestReport, outcome, report_of
from rules.testcases import (
    CaseResult,
    ConversationInput,
    CustomerInput,
    KnownFailure,
    facts_from,
    load_cases,
)

__all__ = ["cmd_rules_check", "cmd_rules_test", "load_with_model"]


def _settings(args: argparse.Namespace) -> Settings:
    return load_cli_settings(getattr(args, "config", None))


def _directory(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.rulebook) if getattr(args, "rulebook", None) else settings.rulebook_dir


def cmd_rules_check(args: argparse.Namespace, *, out: TextIO = sys.stdout) -> int:
    settings = _settings(args)
    directory = _directory(args, settings)
    knowledge = Knowledge.load(directory, faq_threshold=settings.bot.faq_threshold)
    rs = knowledge.ruleset
    source = rs.source or "built-in rules (no rules.yml)"
    print(
        f"{directory}: OK ({len(rs.rules)} rules from {source}, {len(rs.calendars)} calendars, "
        f"{len(knowledge.rulebook.faqs)} FAQs, {len(knowledge.rulebook.responses)} responses, "
        f"{len(rs.macros)} macros)",
        file=out,
    )
    for warning in rs.warnings:
        print(f"warning: {warning}", file=out)
    return 0


def cmd_rules_test(args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    settings = _settings(args)
    directory = _directory(args, settings)
    models = ModelStore(Path(args.models) if args.models else settings.resolve(settings.nlu.models))
    knowledge = load_with_model(
        directory,
        faq_threshold=settings.bot.faq_threshold,
        models=models,
        train=not args.no_train,
        notes=err,
    )
    if args.all:
        return _run_all(directory / "tests", knowledge, out=out, as_json=args.json)
    if args.message is None:
        print("give a message to test, or --all to run the rulebook's tests", file=out)
        return 2
    facts = facts_from(
        channel=args.channel,
        customer=_inline(CustomerInput, args.customer, "--customer"),
        conversation=_inline(ConversationInput, args.conversation, "--conversation"),
        now=datetime.fromisoformat(args.now) if args.now else None,
    )
    analysis = knowledge.analyzer.analyze(
        args.message, AnalysisContext(channel=args.channel, language=args.language)
    )
    decision = Engine(ruleset=knowledge.ruleset).decide(analysis, facts, explain=True)
    if args.json:
        print(
            json.dumps({"analysis": _analysis_json(analysis), **_decision_json(decision)}, indent=2), file=out
        )
    else:
        _print_analysis(analysis, out)
        _print_decision(decision, str(knowledge.ruleset.source or "built-in rules"), out)
    return 0


def load_with_model(
    directory: Path, *, faq_threshold: float, models: ModelStore, train: bool = True, notes: TextIO
) -> Knowledge:
    """The rulebook with the intent model the server would serve for it.

    The model is loaded from ``models`` under the hash of the rulebook's intents. If it is not
    there, it is trained and stored (marked current), as the server does when it starts with
    new intents, unless ``train`` is false; either way a note on ``notes`` says what happened.

    Raises:
        SourceError: a rulebook file is invalid, or the intents cannot be trained on.
    """
    knowledge = Knowledge.load(directory, faq_threshold=faq_threshold, models=models)
    if knowledge.model_ready:
        if knowledge.model_version is None:
            print(f"note: {directory}: no intents.yml examples; testing without intents", file=notes)
        return knowledge
    where = f"{models.root} has no intent model {knowledge.model_version} for {directory / 'intents.yml'}"
    if not train:
        print(
            f"note: {where}; testing WITHOUT intents (--no-train). "
            "Train it with 'frontdesk nlu train' or run without --no-train.",
            file=notes,
        )
        return knowledge
    print(
        f"note: {where}; training it now ({len(knowledge.examples)} examples), "
        "as the server would at start-up ...",
        file=notes,
        flush=True,
    )
    started = time.perf_counter()
    try:
        model = train_model(list(knowledge.examples), oos_label=knowledge.oos_label)
    except TrainingError as exc:
        raise RulebookError(
            [f"{directory / 'intents.yml'}:0: cannot train the intent model: {exc}"]
        ) from None
    took = f"note: trained in {time.perf_counter() - started:.1f}s"
    try:
        stored = models.save(model)
    except OSError as exc:
        print(f"{took}; cannot store it ({exc}), so it is used for this run only", file=notes)
    else:
        print(f"{took} and stored in {stored}; the server will load it from there", file=notes)
    if knowledge.oos_threshold is not None:
        model = model.with_threshold(knowledge.oos_threshold)
    return replace(knowledge, analyzer=knowledge.analyzer.with_model(model), model_ready=True)


def _inline(model: Any, text: str | None, flag: str) -> Any:
    if not text:
        return model()
    data = parse_yaml(text, filename=flag)
    try:
        return model.model_validate(data)
    except ValueError as exc:
        raise RulebookError([f"{flag}: {exc}"]) from None


def _run_all(tests: Path, knowledge: Knowledge, *, out: TextIO, as_json: bool) -> int:
    if not tests.is_dir():
        print(f"{tests}: no test folder (add rulebook/tests/*.yaml; see docs/rules.md)", file=out)
        return 1
    results = [
        run_any(case, where, analyzer=knowledge.analyzer, ruleset=knowledge.ruleset)
        for where, case in load_cases(tests)
    ]
    report = report_of(results, (rule.name for rule in knowledge.ruleset.rules))
    if as_json:
        print(json.dumps(_report_json(report, results), indent=2), file=out)
        return 0 if report.ok else 1
    for r in results:
        mark = outcome(r)
        print(f"{mark:<5} {r.case.name}  ({r.location})", file=out)
        if isinstance(r.case, KnownFailure):
            print(f"      known failure: {r.case.why}", file=out)
            if r.passed:
                print("      it passes now: move it from known_failures to stories", file=out)
        for failure in r.failures:
            print(f"      {failure}", file=out)
        if r.failures and mark == "FAIL":
            for t in r.decision.trace:
                print(f"        {_mark(t)} {t.rule}: {t.reason}", file=out)
    if report.uncovered:
        print(f"rules no test exercises: {', '.join(report.uncovered)}", file=out)
    else:
        print("every rule is exercised by a test", file=out)
    print(report.summary(), file=out)
    return 0 if report.ok else 1


def _report_json(report: TestReport, results: list[CaseResult]) -> dict[str, Any]:
    return {
        "cases": [_result_json(r) for r in results],
        "total": report.total,
        "passed": report.passed,
        "failed": len(report.failed),
        "known_failures": len(report.known),
        "known_failures_now_passing": len(report.fixed),
        "pass_rate": round(report.pass_rate, 4),
        "rules_not_exercised": list(report.uncovered),
    }


def _result_json(r: CaseResult) -> dict[str, Any]:
    return {
        "name": r.case.name,
        "location": r.location,
        "passed": r.passed,
        "failures": list(r.failures),
        "outcome": outcome(r),
        "rules_fired": list(r.decision.rules_fired),
        **({"known_failure": r.case.why} if isinstance(r.case, KnownFailure) else {}),
    }


def _analysis_json(a: Analysis) -> dict[str, Any]:
    return {
        "text": a.text,
        "language": a.language,
        "detected_language": a.detected_language,
        "intent": a.intent.name if a.intent else None,
        "out_of_scope": a.out_of_scope,
        "intents": [{"name": i.name, "confidence": round(i.confidence, 4)} for i in a.intents[:5]],
        "sentiment": {"label": a.sentiment.label, "score": round(a.sentiment.score, 4)},
        "complaint": {"is": a.complaint, "confidence": round(a.complaint_confidence, 4)},
        "entities": [{"type": e.type, "text": e.text, "value": e.value} for e in a.entities],
        "faq": [{"id": f.faq_id, "score": round(f.score, 4)} for f in a.faq[:3]],
    }


def _decision_json(decision: Decision) -> dict[str, Any]:
    return {
        "rules_fired": list(decision.rules_fired),
        "reason": decision.reason,
        "trace": [
            {"rule": t.rule, "line": t.line, "matched": t.matched, "reason": t.reason} for t in decision.trace
        ],
        "actions": [describe_action(a) for a in decision.actions],
    }


def describe_action(action: Action) -> dict[str, Any]:
    kind = type(action).__name__
    fields = {k: getattr(action, k) for k in getattr(action, "__slots__", ())}
    for key, value in fields.items():
        if isinstance(value, tuple):
            fields[key] = [v.label if isinstance(v, QuickReplyButton) else v for v in value]
    return {"action": kind, **fields}


def _print_analysis(a: Analysis, out: TextIO) -> None:
    print("Analysis", file=out)
    top = f"{a.intent.name} ({a.intent.confidence:.2f})" if a.intent else "none (out of scope)"
    print(f"  intent:    {top}", file=out)
    if a.intents:
        print("  ranking:   " + ", ".join(f"{i.name} {i.confidence:.2f}" for i in a.intents[:5]), file=out)
    how = "detected" if a.detected_language else "not detected: the hint or the default"
    print(f"  language:  {a.language} ({how})", file=out)
    print(f"  sentiment: {a.sentiment.label} ({a.sentiment.score:+.2f})", file=out)
    print(f"  complaint: {'yes' if a.complaint else 'no'} ({a.complaint_confidence:.2f})", file=out)
    print("  entities:  " + (", ".join(f"{e.type}={e.value}" for e in a.entities) or "none"), file=out)
    print(
        "  FAQ:       " + (", ".join(f"{f.faq_id} {f.score:.2f}" for f in a.faq[:3]) or "no candidates"),
        file=out,
    )


def _mark(t: RuleTrace) -> str:
    return "✓" if t.matched else ("·" if t.reason.startswith("not evaluated") else "✗")


def _print_decision(decision: Decision, source: str, out: TextIO) -> None:
    print(f"Rules ({source}, top to bottom)", file=out)
    for t in decision.trace:
        print(f"  {_mark(t)} {t.rule} (line {t.line}): {t.reason}", file=out)
    print("Actions (nothing was sent or stored)", file=out)
    if not decision.actions:
        print("  none: " + decision.reason, file=out)
    for n, action in enumerate(decision.actions, 1):
        info = describe_action(action)
        kind = info.pop("action")
        detail = ", ".join(f"{k}={v!r}" for k, v in info.items() if v not in ((), [], ""))
        print(f"  {n}. {kind}" + (f": {detail}" if detail else ""), file=out)
