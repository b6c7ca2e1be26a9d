"""Loading ``rules.yml`` (+ ``calendars.yml``, ``responses.yml``, ``faq.yml``, ``macros.yml``) into a
:class:`RuleSet`.

Everything that can be wrong is reported at load, with ``file:line``: unknown keys and wrong
types (schema), unknown intents, responses, calendars and FAQ ids, values outside a closed set (ticket
statuses and priorities: :mod:`rules.values`), bad regexes and template variables,
duplicate names, rules that can never fire because an earlier rule with a subset of their
conditions always stops first (a catch-all is the common case), and actions or conditions a
rule's ``event`` cannot use (:mod:`rules.scope`). A rulebook with any problem is rejected as a
whole; the caller keeps the previous one live.

Without a ``rules.yml`` the bot follows :data:`BUILTIN_RULES` (answer a good FAQ match, otherwise
open a ticket), compiled through the very same path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from core.calendars import Calendar, parse_calendar, parse_zone
from core.yamlfile import RulebookError, SourceError, line_of, load_yaml, parse_yaml, validate
from rules.acknowledge import Acknowledgement, compile_acknowledgement
from rules.actions import ActionPlan, compile_action
from rules.closing import Closing, compile_closing
from rules.compiler import Env, Loc, compile_condition
from rules.conditions import Predicate, Subject
from rules.guards import Limits
from rules.intents_file import OOS_INTENTS
from rules.labels import IntentDisplay, check_responses, check_rule_texts, intent_display
from rules.localized import missing_translations, rule_language_problems
from rules.macros import Macros, load_macros
from rules.promises import check_promises
from rules.rulebook import Rulebook, load_rulebook
from rules.schema import CalendarsFile, ConditionSpec, RulesFile, RuleSpec
from rules.scope import check_scope
from rules.values import check_intent_labels, check_values

__all__ = ["BUILTIN_RULES", "CompiledRule", "RuleSet", "intent_names", "load_ruleset", "rule_files"]

BUILTIN_RULES = """
rules:
  - name: faq
    when: {{faq: {{min_score: {threshold}}}}}
    then: [{{answer_faq: true}}]
  - name: fallback_existing_ticket
    when: {{conversation: {{has_open_ticket: true}}}}
    then: [{{open_ticket: {{tags: [bot-fallback]}}}}, {{reply: {{response: fallback_existing_ticket}}}}]
  - name: fallback
    then: [{{open_ticket: {{tags: [bot-fallback]}}}}, {{reply: {{response: fallback_new_ticket}}}}]
"""


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    line: int
    event: str
    when: Predicate
    then: tuple[ActionPlan, ...]
    continue_: bool
    max_fires: int | None
    description: str | None = None
    ok: Callable[[Subject], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ok", self.when.ok)  # one attribute lookup on the hot path


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One consistent, validated version of the whole rulebook."""

    rules: tuple[CompiledRule, ...]
    by_event: Mapping[str, tuple[CompiledRule, ...]]
    # (event, top intent) → the rules that can match such a message, in order; the key
    # (event, None) holds the rules that need no particular intent. Only used without a trace.
    by_intent: Mapping[tuple[str, str | None], tuple[CompiledRule, ...]]
    limits: Limits
    default_language: str
    rulebook: Rulebook
    calendars: Mapping[str, Calendar]
    source: Path | None  # the rules file, or None for the built-in rules
    by_name: Mapping[str, CompiledRule] = field(default_factory=dict)  # where a form resumes
    acknowledge: Acknowledgement | None = None  # settings.acknowledge, compiled (None: hand-built sets)
    closing: Closing | None = None  # settings.closing, compiled (None: hand-built sets)
    queue_labels: Mapping[str, str] = field(default_factory=dict)  # what replies call each queue's team
    warnings: tuple[str, ...] = ()  # ``file:line: ...`` worth fixing that do not stop loading (labels)
    macros: Macros = field(default_factory=Macros)  # macros.yml: agents' canned replies (rules/macros.py)


def rule_files(directory: Path) -> dict[str, Path]:
    """The rule-engine files present in ``directory`` (``.yml`` or ``.yaml``), by stem."""
    found: dict[str, Path] = {}
    for stem in ("rules", "calendars"):
        for suffix in (".yml", ".yaml"):
            path = directory / f"{stem}{suffix}"
            if path.is_file() and stem not in found:
                found[stem] = path
    return found


def intent_names(directory: Path) -> frozenset[str] | None:
    """Intent names declared in ``intents.yml`` (a mapping or a list of ``name:`` items).

    Returns ``None`` when there is no intents file or it cannot be read; its own loader reports
    its errors, and without it any intent name is accepted here.
    """
    path = directory / "intents.yml"
    if not path.is_file():
        return None
    try:
        data = load_yaml(path)
    except SourceError:
        return None
    intents = data.get("intents") if isinstance(data, dict) else None
    if isinstance(intents, dict):
        return frozenset(str(k) for k in intents) - OOS_INTENTS
    if isinstance(intents, list):
        names = {str(i.get("name") or i.get("intent") or "") for i in intents if isinstance(i, dict)}
        # `oos` examples make a message out of scope, never its intent: `intent: oos` could not match
        return frozenset(names - {""} - OOS_INTENTS)
    return None


def load_ruleset(
    directory: Path,
    *,
    faq_threshold: float,
    known_intents: frozenset[str] | None = None,
    rulebook: Rulebook | None = None,
) -> RuleSet:
    """Load and validate every rule file in ``directory``; raises :class:`RulebookError`."""
    rulebook = rulebook or load_rulebook(directory)
    files = rule_files(directory)
    problems: list[str] = []
    calendars = _calendars(files.get("calendars"), problems)
    rules_path = files.get("rules")
    if rules_path is None:
        filename, data = (
            "(built-in rules)",
            parse_yaml(BUILTIN_RULES.format(threshold=faq_threshold), filename=""),
        )
    else:
        filename, data = str(rules_path), load_yaml(rules_path)
    languages = rule_language_problems(data, filename)
    if languages:
        raise RulebookError(languages)
    parsed = validate(RulesFile, data if data is not None else {}, filename=filename, error=RulebookError)
    if known_intents is None:
        known_intents = intent_names(directory)
    settings = parsed.settings
    try:
        zone = parse_zone(settings.timezone)
    except ValueError as exc:
        problems.append(f"{filename}:{line_of(data, ('settings', 'timezone'))}: settings.timezone: {exc}")
        zone = parse_zone("UTC")
    env = Env(calendars=calendars, zone=zone, known_intents=known_intents)
    check_intent_labels(settings.intent_labels, env)
    display = intent_display(directory, settings.intent_labels)
    names = sorted({*(known_intents or ()), *(entry.id for entry in rulebook.faqs)})
    problems.extend(check_responses(directory, names))
    compiled = []
    seen: dict[str, int] = {}
    faq_ids = frozenset(entry.id for entry in rulebook.faqs)
    for i, spec in enumerate(parsed.rules):
        line = line_of(data, ("rules", i))
        if spec.name in seen:
            env.problem(
                ("rules", i, "name"),
                f"rule name {spec.name!r} is used twice (first at line {seen[spec.name]})",
            )
        seen.setdefault(spec.name, line)
        if not spec.enabled:
            continue
        check_scope(spec, env, ("rules", i))
        check_values(spec.when, env, ("rules", i, "when"), faq_ids=faq_ids)
        check_promises(spec, env, ("rules", i), responses=rulebook.localized, labels=settings.queue_labels)
        check_rule_texts(spec.then, names, env.problem, ("rules", i, "then"))
        compiled.append(
            _compile(
                spec,
                i,
                line,
                env,
                rulebook,
                display,
                settings.faq_threshold if settings.faq_threshold is not None else faq_threshold,
                settings.default_language,
            )
        )
    limits = Limits(**settings.limits.model_dump())
    if limits.limit_response not in rulebook.localized:
        env.problem(
            ("settings", "limits", "limit_response"),
            f"unknown response {limits.limit_response!r} (add it to responses.yml)",
        )
    acknowledge = compile_acknowledgement(settings.acknowledge, rulebook.localized, env)
    closing = compile_closing(settings.closing, rulebook.localized, env)
    _shadowed(parsed.rules, data, env)
    problems.extend(f"{filename}:{line_of(data, loc)}: {_dotted(loc)}: {msg}" for loc, msg in env.problems)
    macros = load_macros(directory, problems)
    if problems:
        raise RulebookError(problems)
    by_event = {on: tuple(r for r in compiled if r.event == on) for on in ("message", "ticket")}
    by_intent = _intent_index(compiled, [s for s in parsed.rules if s.enabled])
    return RuleSet(
        rules=tuple(compiled),
        by_event=MappingProxyType(by_event),
        by_intent=MappingProxyType(by_intent),
        limits=limits,
        default_language=settings.default_language,
        rulebook=rulebook,
        calendars=MappingProxyType(calendars),
        source=rules_path,
        by_name=MappingProxyType({rule.name: rule for rule in compiled}),
        acknowledge=acknowledge,
        closing=closing,
        queue_labels=MappingProxyType(dict(settings.queue_labels)),
        warnings=(
            *rulebook.warnings,
            *display.warnings,
            *_untranslated(rulebook, display, settings.default_language),
        ),
        macros=macros,
    )


def _required_intents(spec: ConditionSpec | None) -> frozenset[str] | None:
    """The intents a rule needs as its top intent (``None``: any message may match)."""
    if spec is None:
        return None
    found = [spec, *(spec.all or ())]
    for cond in found:
        if cond.intent is not None and cond.intent.is_ and not cond.intent.best_guess:
            return frozenset(cond.intent.is_)
    return None


def _intent_index(
    compiled: list[CompiledRule], specs: list[RuleSpec]
) -> dict[tuple[str, str | None], tuple[CompiledRule, ...]]:
    """Pre-filtered rule lists per (event, top intent), so a message skips other intents' rules."""
    needs = [_required_intents(spec.when) for spec in specs]
    names = {name for need in needs if need for name in need}
    index: dict[tuple[str, str | None], tuple[CompiledRule, ...]] = {}
    for event in ("message", "ticket"):
        for intent in (None, *names):
            index[(event, intent)] = tuple(
                rule
                for rule, need in zip(compiled, needs, strict=True)
                if rule.event == event and (need is None or intent in need)
            )
    return index


def _compile(
    spec: RuleSpec,
    i: int,
    line: int,
    env: Env,
    rulebook: Rulebook,
    display: IntentDisplay,
    threshold: float,
    default_language: str,
) -> CompiledRule:
    loc: Loc = ("rules", i)
    when = compile_condition(spec.when, env, (*loc, "when"))
    then = tuple(
        compile_action(
            a,
            env,
            (*loc, "then", j),
            responses=rulebook.localized,
            intent_labels=display.labels,
            faq_threshold=threshold,
            rule=spec.name,
            offered=display.offered,
            label_translations=display.translations,
            faq_answers={faq.id: faq.answers() for faq in rulebook.faqs if faq.translations},
            default_language=default_language,
        )
        for j, a in enumerate(spec.then)
    )
    return CompiledRule(
        spec.name, line, spec.event, when, then, spec.continue_, spec.max_fires, spec.description
    )


def _untranslated(rulebook: Rulebook, display: IntentDisplay, default_language: str) -> tuple[str, ...]:
    """The warning of :func:`rules.localized.missing_translations` over the customer's texts."""
    texts: dict[str, Mapping[str, Any]] = {f"responses.{k}": v for k, v in rulebook.localized.items()}
    for faq in rulebook.faqs:
        texts[f"faq {faq.id} label"], texts[f"faq {faq.id} answer"] = faq.labels(), faq.answers()
    offered = display.offered if display.offered is not None else display.translations
    texts.update({f"intent {n} label": v for n, v in display.translations.items() if n in offered})
    warning = missing_translations(texts, default_language)
    return (f"{rulebook.source}: {warning}",) if warning else ()


def _calendars(path: Path | None, problems: list[str]) -> dict[str, Calendar]:
    if path is None:
        return {}
    data = load_yaml(path)
    parsed = validate(CalendarsFile, data, filename=str(path), error=RulebookError)
    out: dict[str, Calendar] = {}
    for name, spec in parsed.calendars.items():
        calendar, errors = parse_calendar(name, timezone=spec.timezone, hours=spec.hours, closed=spec.closed)
        for key, message in errors:
            where: Loc = (
                ("calendars", name, "timezone") if key == "timezone" else ("calendars", name, "hours", key)
            )
            problems.append(f"{path}:{line_of(data, where)}: calendars.{name}: {message}")
        if calendar is not None:
            out[name] = calendar
    return out


def _conjuncts(spec: ConditionSpec | None) -> frozenset[str]:
    """The conditions that must all hold, as comparable strings (for the shadowing check)."""
    if spec is None:
        return frozenset()
    items: set[str] = set()
    dumped: dict[str, Any] = spec.model_dump(by_alias=True, exclude_none=True)
    for key, value in dumped.items():
        if key == "all":
            for sub in spec.all or ():
                items |= _conjuncts(sub)
        elif key in ("customer", "conversation", "ticket"):
            items.update(json.dumps([key, k, v], sort_keys=True, default=str) for k, v in value.items())
        else:
            items.add(json.dumps([key, value], sort_keys=True, default=str))
    return frozenset(items)


def _shadowed(rules: list[RuleSpec], data: Any, env: Env) -> None:
    """Report rules an earlier always-stopping rule with a subset of their conditions hides."""
    blockers: list[tuple[int, RuleSpec, frozenset[str]]] = []
    for i, spec in enumerate(rules):
        if not spec.enabled:
            continue
        mine = _conjuncts(spec.when)
        for j, earlier, theirs in blockers:
            if earlier.event == spec.event and theirs <= mine:
                what = "matches every message" if not theirs else "has a subset of these conditions"
                env.problem(
                    ("rules", i, "name"),
                    f"rule {spec.name!r} can never fire: rule {earlier.name!r} (line "
                    f"{line_of(data, ('rules', j))}) {what} and stops first (move this rule above it, "
                    "or give that rule `continue: true`)",
                )
                break
        if not spec.continue_ and spec.max_fires is None:
            blockers.append((i, spec, mine))


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
