"""An ``oos`` intent in intents.yml: its examples make a message out of scope for the rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.knowledge import Knowledge
from core.yamlfile import SourceError
from nlp import AnalysisContext, ModelStore
from rules.decision import OpenTicket, Reply
from rules.intents_file import load_nlu_rulebook

from .helpers import ROOT, facts, ruleset

OOS_EXAMPLES = """
  - name: oos
    examples:
      - what's the weather like today
      - will it rain tomorrow
      - tell me a joke
      - tell me something funny
      - who won the football match last night
      - what's the score of the game
      - recommend a good movie
      - what should I cook for dinner tonight
      - what is the capital of france
      - how tall is mount everest
      - play some music
      - sing me a song
"""


@pytest.fixture
def rulebook(tmp_path: Path) -> Path:
    """The example rulebook with out-of-scope examples, and no threshold: only the class rejects."""
    directory = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", directory)
    intents = directory / "intents.yml"
    text = intents.read_text(encoding="utf-8").replace("  oos_threshold: 0.8\n", "  oos_threshold: 0.0\n")
    if "  - name: oos\n" not in text:  # the example rulebook has its own since issue 22
        text += OOS_EXAMPLES
    intents.write_text(text, encoding="utf-8")
    return directory


def test_oos_examples_make_a_message_out_of_scope_for_the_rule_engine(tmp_path: Path, rulebook: Path) -> None:
    nlu = load_nlu_rulebook(rulebook)
    assert nlu.intents is not None and nlu.intents.oos_label == "oos"
    store = ModelStore(tmp_path / "models")
    store.train(list(nlu.intents.examples), oos_label=nlu.intents.oos_label)

    knowledge = Knowledge.load(rulebook, faq_threshold=0.8, models=store)

    assert knowledge.model_ready  # the server computes the same model version, oos label included
    context = AnalysisContext(channel="webchat", language="en")
    outside = knowledge.analyzer.analyze("what is the weather like in paris", context)
    assert outside.out_of_scope
    assert all(score.name != "oos" for score in outside.intents)  # never ranked as an intent
    decision = knowledge.engine.decide(outside, facts())
    assert decision.rule == "clarify"  # "I didn't understand" with the topics, never a guess
    [reply] = [a for a in decision.actions if isinstance(a, Reply)]
    assert "did you mean" not in reply.template.lower() and not any(
        isinstance(a, OpenTicket) for a in decision.actions
    )

    inside = knowledge.analyzer.analyze("where is my order? it has not arrived", context)
    assert not inside.out_of_scope
    assert inside.intent is not None and inside.intent.name == "order_status"
    assert knowledge.engine.decide(inside, facts()).rule.startswith("order_status")


def test_a_rule_cannot_name_the_oos_intent(tmp_path: Path) -> None:
    intents = "intents:\n  - name: greet\n    examples: [hi]\n  - name: oos\n    examples: [tell me a joke]\n"
    rules = "rules:\n  - name: joke\n    when: {intent: oos}\n    then: [{reply: matched}]\n"

    with pytest.raises(SourceError, match="unknown intent 'oos'"):
        ruleset(tmp_path, rules, intents=intents)


def test_out_of_scope_examples_under_two_names_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "intents.yml"
    path.write_text(
        "intents:\n  - name: greet\n    examples: [hi]\n  - name: oos\n    examples: [a joke]\n"
        "  - name: out_of_scope\n    examples: [the weather]\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError, match="not both"):
        load_nlu_rulebook(tmp_path)
