"""Rule engine benchmark: decide() time with 1,000 rules, and file save → live latency.

    .venv/bin/python bench/rules_eval.py [--rules 1000] [--messages 2000]

Prints one JSON object. Goals (issue 4): ≤ 1 ms per message with 1,000 rules; save → live < 1 s.
The 1,000 rules mix every condition kind; the worst case is a message that no rule matches until
the final catch-all, so every rule's conditions are evaluated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlp.types import Analysis, Entity, FaqCandidate, IntentScore, Sentiment
from rules.engine import Engine
from rules.facts import ConversationFacts, CustomerFacts, RuleFacts
from rules.loader import RuleSet, load_ruleset
from rules.reload import RulebookWatcher

FAQ = 'faq:\n  - id: shipping\n    questions: ["How much is shipping?"]\n    answer: 4.90 EUR\n'
CALENDARS = 'calendars:\n  shop:\n    timezone: Europe/Berlin\n    hours: {mon-fri: "09:00-18:00"}\n'
CONDITIONS = [
    "{{intent: {{is: intent_{i}, min_confidence: 0.5}}}}",
    "{{all: [{{channel: email}}, {{customer: {{tag: tag_{i}}}}}]}}",
    "{{entity: {{type: order_ref, equals: ['A-{i}']}}}}",
    "{{text: {{contains: ['keyword{i}', 'other{i}']}}}}",
    "{{any: [{{sentiment: {{max: -0.9}}}}, {{customer: {{attribute: {{name: plan{i}, equals: gold}}}}}}]}}",
    "{{faq: {{id: shipping, min_score: 0.99}}, conversation: {{turns: {{min: {i}}}}}}}",
    "{{not: {{out_of_scope: true}}, intent: intent_{i}}}",
    "{{time: {{business_hours: shop}}, customer: {{open_tickets: {{min: 50}}}}, "
    "text: {{regex: 'zz{i}\\\\d'}}}}",
]


def rules_yaml(n: int) -> str:
    lines = ["rules:"]
    for i in range(n - 1):
        lines += [
            f"  - name: r{i}",
            f"    when: {CONDITIONS[i % len(CONDITIONS)].format(i=i)}",
            f"    then: [{{reply: 'rule {i} for {{customer.name|you}}'}}]",
        ]
    lines += [
        "  - name: fallback",
        "    then: [{open_ticket: {tags: [x]}}, {reply: {response: fallback_new_ticket}}]",
    ]
    return "\n".join(lines) + "\n"


def write(directory: Path, n: int) -> None:
    (directory / "faq.yml").write_text(FAQ)
    (directory / "calendars.yml").write_text(CALENDARS)
    (directory / "rules.yml").write_text(rules_yaml(n))


def messages(count: int) -> list[Analysis]:
    rng = random.Random(7)
    out = []
    for k in range(count):
        text = f"hello, where is my parcel number {k}? it has been a week " * rng.randint(1, 3)
        out.append(
            Analysis(
                text=text,
                intents=(IntentScore("unknown_intent", 0.3), IntentScore("other", 0.2)),
                out_of_scope=True,
                sentiment=Sentiment(-0.2, "neutral"),
                entities=(Entity("order_ref", "B-1", "B-1", 0, 3),),
                faq=(FaqCandidate("shipping", "q", "a", 0.5),),
            )
        )
    return out


def time_decide(ruleset: RuleSet, analyses: list[Analysis], *, explain: bool) -> dict[str, float]:
    engine = Engine(ruleset=ruleset, rng=random.Random(0))
    facts = RuleFacts(
        channel="webchat",
        customer=CustomerFacts(name="Ana", tags=frozenset({"x"})),
        conversation=ConversationFacts(turns=2),
    )
    for a in analyses[:50]:
        engine.decide(a, facts, explain=explain)
    samples = []
    cpu_start = time.process_time()
    for a in analyses:
        start = time.perf_counter_ns()
        decision = engine.decide(a, facts, explain=explain)
        samples.append((time.perf_counter_ns() - start) / 1e6)
        assert decision.rules_fired == ("fallback",), decision.rules_fired
    cpu_ms = (time.process_time() - cpu_start) * 1000 / len(analyses)
    samples.sort()
    return {
        "mean_ms": round(statistics.fmean(samples), 4),
        "p50_ms": round(samples[len(samples) // 2], 4),
        "p99_ms": round(samples[int(len(samples) * 0.99)], 4),
        "max_ms": round(samples[-1], 4),
        "cpu_ms_per_message": round(cpu_ms, 4),
    }


async def save_to_live(directory: Path, n: int, rounds: int) -> dict[str, float]:
    live: dict[str, RuleSet] = {}
    watcher = RulebookWatcher(
        directory=directory,
        load=lambda: load_ruleset(directory, faq_threshold=0.8),
        apply=lambda rs: live.__setitem__("rs", rs),
        interval=0.05,
    )
    samples = []
    async with watcher.running():
        for r in range(rounds):
            text = rules_yaml(n).replace("rule 0 for", f"rule 0 (v{r}) for")
            start = time.perf_counter()
            (directory / "rules.yml").write_text(text)
            os.utime(directory / "rules.yml")
            while watcher.reloads <= r:
                await asyncio.sleep(0.002)
            samples.append(time.perf_counter() - start)
    return {
        "mean_s": round(statistics.fmean(samples), 3),
        "max_s": round(max(samples), 3),
        "poll_interval_s": 0.05,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--reloads", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write(directory, args.rules)
        start = time.perf_counter()
        ruleset = load_ruleset(directory, faq_threshold=0.8)
        load_s = time.perf_counter() - start
        analyses = messages(args.messages)
        result = {
            "rules": len(ruleset.rules),
            "messages": args.messages,
            "python": sys.version.split()[0],
            "load_and_validate_s": round(load_s, 3),
            "decide_worst_case": time_decide(ruleset, analyses, explain=False),
            "decide_with_full_trace": time_decide(ruleset, analyses, explain=True),
            "save_to_live": asyncio.run(save_to_live(directory, args.rules, args.reloads)),
            "goal_ms_per_message": 1.0,
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
