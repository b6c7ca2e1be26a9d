from __future__ import annotations

from pathlib import Path

import pytest

from core.yamlfile import RulebookError
from rules.intents_file import load_entities, load_intents, load_nlu_rulebook, load_sentiment

from .conftest import RULEBOOK


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_rulebook_loads() -> None:
    book = load_nlu_rulebook(RULEBOOK)

    assert book.intents is not None
    names = {e.intent for e in book.intents.examples}
    assert {"greet", "order_status", "refund", "complaint", "human", "opening_hours"} <= names
    assert book.gazetteers
    assert book.sentiment_lexicon


def test_list_and_rasa_block_examples(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "intents.yml",
        "settings:\n  oos_threshold: 0.4\nintents:\n"
        "  - name: greet\n    examples: [hi, hello]\n"
        "  - name: bye\n    examples: |\n      - bye\n      - see you\n",
    )

    loaded = load_intents(path)

    assert [(e.text, e.intent) for e in loaded.examples] == [
        ("hi", "greet"),
        ("hello", "greet"),
        ("bye", "bye"),
        ("see you", "bye"),
    ]
    assert loaded.oos_threshold == 0.4


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("intents:\n  - name: greet\n    examples: [hi\n", 4, ""),
        ("intents:\n  - name: greet\n    exampels: [hi]\n", 3, "did you mean 'examples'"),
        ("intents:\n  - name: greet\n    examples: [hi]\n  - name: greet\n    examples: [yo]\n", 4, "twice"),
        ("intents:\n  - name: 9lives\n    examples: [hi]\n", 2, "start with a letter"),
        ("intents:\n  - name: greet\n    examples: []\n", 3, "examples"),
        ("settings:\n  oos_threshold: 2\nintents:\n  - name: a\n    examples: [x]\n", 2, "oos_threshold"),
    ],
)
def test_broken_intents_file_names_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, "intents.yml", text)

    with pytest.raises(RulebookError) as info:
        load_intents(path)

    matching = [p for p in info.value.problems if message in p]
    assert matching, info.value.problems
    assert matching[0].startswith(f"{path}:{line}:"), matching[0]


def test_entities_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "entities.yml",
        "entities:\n"
        "  - type: product\n    names: [Nimbus, {name: Trailblazer Jacket, synonyms: [trailblazer]}]\n"
        "  - type: sku\n    regex: 'SKU-\\d+'\n"
        "  - type: size\n    tokens: [{LOWER: size}, {IS_DIGIT: true}]\n",
    )

    patterns, names = load_entities(path)

    assert [p.type for p in patterns] == ["sku", "size"]
    assert [(n.value, n.synonyms) for n in names] == [
        ("Nimbus", ()),
        ("Trailblazer Jacket", ("trailblazer",)),
    ]


def test_bad_regex_and_ambiguous_entity_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "entities.yml",
        "entities:\n  - type: sku\n    regex: 'SKU-('\n  - type: both\n    regex: x\n    names: [y]\n",
    )

    with pytest.raises(RulebookError) as info:
        load_entities(path)

    assert info.value.problems[0].startswith(f"{path}:3: invalid regex")
    assert info.value.problems[1].startswith(f"{path}:4: entity 'both'")


def test_sentiment_file_range_is_checked(tmp_path: Path) -> None:
    assert load_sentiment(write(tmp_path, "sentiment.yml", "lexicon:\n  meh: -1\n")) == {"meh": -1.0}
    with pytest.raises(RulebookError, match=r"sentiment\.yml:"):
        load_sentiment(write(tmp_path, "sentiment.yml", "lexicon:\n  meh: -9\n"))
