"""``frontdesk nlu evaluate --task faq``: pick the FAQ thresholds on a labelled dev split.

Reads the rulebook's FAQs (questions and examples, as the server matches them) and a CSV with
``text``, ``faq`` (an FAQ id or ``none``) and ``split`` (``dev``/``test``), as
``bench/data/faq_dev.csv``; prints the picked thresholds and precision/recall as JSON (always
JSON: the numbers go into ``faq.yml``'s ``settings`` and into docs). Exit codes as the other
``nlu`` commands: 1 bad data, 2 rulebook problem.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.yamlfile import SourceError
from nlp.faq_eval import evaluate_faq, read_faq_csv
from rules.rulebook import load_rulebook

__all__ = ["evaluate_faq_task"]


def evaluate_faq_task(args: argparse.Namespace) -> int:
    try:
        rulebook = load_rulebook(args.rulebook)
    except SourceError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    try:
        figures = evaluate_faq(rulebook.faqs, read_faq_csv(args.data))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    figures["rulebook_thresholds"] = dict(
        zip(("fuzzy_threshold", "similarity_threshold"), rulebook.faq_thresholds, strict=True)
    )
    print(json.dumps(figures, indent=2))
    return 0
