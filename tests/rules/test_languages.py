"""The rulebook in several languages: FAQs, responses, intents' labels and examples, buttons.

Each text may be plain (the default language) or split by language; customers get the
conversation's language, else the default language. Unknown language codes, languages without
text and unknown variables in any one language are ``file:line`` errors; texts missing a
language the rulebook uses elsewhere are one warning.
"""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest

from core.yamlfile import RulebookError
from rules.decision import QuickReplyButton, Reply
from rules.engine import Engine
from rules.facts import ConversationFacts
from rules.intents_file import load_intents
from rules.loader import load_ruleset
from rules.rulebook import load_rulebook
from tests.rules.helpers import analysis, facts, ruleset, write_rulebook

FAQ = """
faq:
  - id: shipping
    label: {en: Shipping costs, de: Versandkosten}
    questions:
      en: ["How much is shipping?"]
      de: ["Was kostet der Versand?"]
    examples:
      de: ["ab wann ist die lieferung gratis"]
    answer:
      en: Shipping is 4.90 EUR.
      de: Der Versand kostet 4,90 EUR.
  - id: hours
    questions: ["When are you open?"]
    answer: We are open 9-18.
"""
INTENTS = """
intents:
  - name: order_status
    label: {en: Where is my order?, de: Wo ist meine Bestellung?}
    examples:
      en: [where is my order, has my parcel shipped]
      de: [wo ist meine bestellung]
  - name: refund
    label: Returns & refunds
    examples: [I want a refund]
"""
CLARIFY = """
rules:
  - name: clarify
    when: {out_of_scope: true}
    then:
      - clarify: {min_confidence: 0.3}
"""


def _rulebook(tmp_path: Path, faq: str = FAQ, **files: str) -> Path:
    directory = write_rulebook(tmp_path / "rulebook", files.pop("rules", None), **files)
    (directory / "faq.yml").write_text(textwrap.dedent(faq), encoding="utf-8")
    return directory


def _problems(tmp_path: Path, faq: str = FAQ, **files: str) -> str:
    with pytest.raises(RulebookError) as info:
        directory = _rulebook(tmp_path, faq, **files)
        load_rulebook(directory)
        if (directory / "intents.yml").is_file():
            load_intents(directory / "intents.yml")
    return "\n".join(info.value.problems)


def test_a_faq_split_by_language_keeps_its_first_language_and_translations(tmp_path: Path) -> None:
    shipping, hours = load_rulebook(_rulebook(tmp_path)).faqs

    assert (shipping.language, shipping.label, shipping.answer) == (
        "en",
        "Shipping costs",
        "Shipping is 4.90 EUR.",
    )
    assert shipping.answers() == {"en": "Shipping is 4.90 EUR.", "de": "Der Versand kostet 4,90 EUR."}
    assert shipping.labels() == {"en": "Shipping costs", "de": "Versandkosten"}
    assert shipping.variants() == [
        ("en", "How much is shipping?"),
        ("de", "Was kostet der Versand?"),
        ("de", "ab wann ist die lieferung gratis"),
    ]
    assert (hours.language, hours.translations) == ("", ())  # plain: the default language


def test_the_faq_answer_is_in_the_conversation_language_else_the_default(tmp_path: Path) -> None:
    e = _engine_on(_rulebook(tmp_path, rules="rules:\n  - name: f\n    then: [{answer_faq: true}]\n"))
    german = facts(conversation=ConversationFacts(language="de"))

    assert e.decide(analysis(faq=(("shipping", 0.95),)), german).actions[0] == Reply(
        "Der Versand kostet 4,90 EUR."
    )
    french = analysis(faq=(("shipping", 0.95),), language="fr")  # no French: the default's
    assert e.decide(french, facts()).actions[0] == Reply("Shipping is 4.90 EUR.")
    plain = analysis(faq=(("hours", 0.95),), language="de")  # a plain FAQ answers as written
    assert e.decide(plain, facts()).actions[0] == Reply("answer of hours")


def _engine_on(directory: Path) -> Engine:
    return Engine(ruleset=load_ruleset(directory, faq_threshold=0.8), rng=random.Random(1))


def test_clarify_buttons_show_the_label_in_the_conversation_language(tmp_path: Path) -> None:
    e = _engine_on(_rulebook(tmp_path, rules=CLARIFY, intents=INTENTS))
    unsure = analysis(intents=(("order_status", 0.6), ("refund", 0.5)), language="de")

    reply = e.decide(unsure, facts()).actions[0]

    assert isinstance(reply, Reply)
    assert reply.quick_replies == (
        QuickReplyButton("Wo ist meine Bestellung?", "Wo ist meine Bestellung?"),
        QuickReplyButton("Returns & refunds", "Returns & refunds"),  # not translated: the default
    )
    english = e.decide(analysis(intents=(("order_status", 0.6),), language="en"), facts()).actions[0]
    assert isinstance(english, Reply)
    assert [b.label for b in english.quick_replies] == ["Where is my order?"]


def test_every_language_label_and_example_is_learnt(tmp_path: Path) -> None:
    directory = _rulebook(tmp_path, intents=INTENTS)
    examples = {(e.text, e.intent) for e in load_intents(directory / "intents.yml").examples}

    assert ("wo ist meine bestellung", "order_status") in examples
    assert ("Wo ist meine Bestellung?", "order_status") in examples  # a pressed German button
    assert ("Where is my order?", "order_status") in examples
    assert ("Returns & refunds", "refund") in examples


def test_reply_buttons_may_be_split_by_language(tmp_path: Path) -> None:
    rules = (
        "rules:\n  - name: r\n    then:\n      - reply:\n          text: {en: Sure?, de: Sicher?}\n"
        "          buttons: [{label: {en: 'Yes', de: Ja}}, {label: 'No', payload: no-thanks}]\n"
    )
    e = _engine_on(_rulebook(tmp_path, rules=rules))

    german = e.decide(analysis(language="de"), facts()).actions[0]
    spanish = e.decide(analysis(language="es"), facts()).actions[0]

    assert german == Reply("Sicher?", (QuickReplyButton("Ja", "Ja"), QuickReplyButton("No", "no-thanks")))
    assert spanish == Reply("Sure?", (QuickReplyButton("Yes", "Yes"), QuickReplyButton("No", "no-thanks")))


def test_unknown_language_codes_are_errors_with_their_line(tmp_path: Path) -> None:
    faq = FAQ.replace("de: Versandkosten", "ger: Versandkosten")
    text = _problems(tmp_path, faq)

    assert "faq.yml:4: faq[0].label.ger: unknown language code 'ger' (did you mean 'de'?)" in text


def test_a_language_without_text_is_an_error(tmp_path: Path) -> None:
    responses = "responses:\n  hello:\n    en: [Hello]\n    de: []\n"
    text = _problems(tmp_path, responses=responses)

    assert "responses.yml:4: responses.hello.de: no text for language 'de'" in text
    assert "no language given" in _problems(tmp_path / "x", responses="responses:\n  hello: {}\n")


def test_an_unknown_variable_in_one_language_is_reported_at_its_line(tmp_path: Path) -> None:
    responses = (
        "responses:\n  opened:\n    en:\n      - Ticket {ticket} is open.\n"
        "    de:\n      - Ticket {tiket} ist offen.\n"
    )
    text = _problems(tmp_path, responses=responses)

    assert (
        "responses.yml:6: responses.opened.de[0]: unknown variable {tiket} (did you mean {ticket}?)" in text
    )
    assert "opened.en" not in text


def test_intents_with_an_unknown_language_are_errors(tmp_path: Path) -> None:
    intents = INTENTS.replace("de: [wo ist", "dk: [wo ist")
    text = _problems(tmp_path, intents=intents)

    assert "intents.yml:7: intents[0].examples.dk: unknown language code 'dk' (did you mean 'da'?)" in text


def test_rules_texts_and_buttons_with_an_unknown_language_are_errors(tmp_path: Path) -> None:
    rules = "rules:\n  - name: r\n    then:\n      - reply:\n          text: {en: Hi, xx: Hallo}\n"
    with pytest.raises(RulebookError) as info:
        load_ruleset(_rulebook(tmp_path, rules=rules), faq_threshold=0.8)

    assert any(
        "rules.yml:5: rules[0].then[0].reply.text.xx: unknown language code 'xx'" in p
        for p in info.value.problems
    )


def test_missing_translations_are_one_warning_and_fall_back_silently(tmp_path: Path) -> None:
    responses = (
        "responses:\n  hello:\n    en: [Hello]\n    de: [Hallo]\n  bye:\n    en: [Bye]\n    fr: [Au revoir]\n"
    )
    rules = "rules:\n  - name: r\n    then: [{reply: {response: bye}}]\n"
    rs = ruleset(tmp_path, rules, responses=responses)

    [warning] = [w for w in rs.warnings if "no translation" in w]
    assert "responses.hello (fr)" in warning and "responses.bye (de)" in warning
    e = _engine_on(tmp_path / "rulebook")
    assert e.decide(analysis(language="de"), facts()).actions[0] == Reply("Bye")
