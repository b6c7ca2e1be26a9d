"""Language detection (nlp/language.py) and how the pipeline reports it."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from bot.config import ConfigError, settings_from_text
from bot.knowledge import Knowledge
from nlp.language import DEFAULT_LANGUAGES, LanguageDetector, primary_language
from nlp.pipeline import Pipeline
from nlp.types import AnalysisContext
from tests.nlp.languages import ANSWERS, GERMAN, language_rulebook
from tests.nlp.test_cli_nlu import run as nlu_cli
from tests.rules.test_cli import cli as rules_cli

# Short support messages, as customers write them: each must be detected, and right.
SAMPLES = {
    "en": ["where is my order 12345?", "I want to return my shoes", "I need a refund for my jacket"],
    "de": [
        "Wo ist meine Bestellung?",
        "Ich möchte meine Schuhe zurückgeben",
        "der Reißverschluss ist kaputt",
    ],
    "fr": ["Où est ma commande ?", "je veux retourner mes chaussures", "mon colis n'est jamais arrivé"],
    "es": ["¿Dónde está mi pedido?", "quiero devolver mis zapatos", "mi paquete nunca llegó"],
    "it": ["Dov'è il mio ordine?", "voglio restituire le mie scarpe", "il mio pacco non è mai arrivato"],
    "nl": ["Waar is mijn bestelling?", "ik wil mijn schoenen terugsturen", "mijn pakket is nooit aangekomen"],
    "pt": ["Onde está a minha encomenda?", "quero devolver os meus sapatos", "o meu pacote nunca chegou"],
    "pl": ["Gdzie jest moje zamówienie?", "chcę zwrócić moje buty", "moja paczka nigdy nie dotarła"],
}
# Too little to tell: no language rather than a wrong one.
UNSURE = ["ok", "T-1042", "A-123456", "12345", "hi", "thx", "hm", "👍", "?", "", "a@b.com", "+49 170 1234567"]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(DEFAULT_LANGUAGES)


@pytest.mark.parametrize(("language", "text"), [(lang, t) for lang, ts in SAMPLES.items() for t in ts])
def test_short_messages_are_detected(detector: LanguageDetector, language: str, text: str) -> None:
    assert detector.detect(text) == language


@pytest.mark.parametrize("text", UNSURE)
def test_too_little_text_gets_no_language(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) is None


def test_references_and_addresses_are_not_evidence(detector: LanguageDetector) -> None:
    assert detector.detect("Bestellung A-123456 bitte an ann@example.com senden") == "de"
    assert detector.detect("A-123456 ann@example.com https://example.com/x 12,50 EUR") is None


def test_only_the_given_languages_are_candidates() -> None:
    only = LanguageDetector(["en", "de"])
    assert only.languages == ("de", "en")
    assert only.detect("Ich möchte meine Schuhe zurückgeben") == "de"
    assert only.detect("je veux retourner mes chaussures") != "fr"


def test_tags_and_unknown_codes() -> None:
    detector = LanguageDetector(["pt-BR", "de_DE", "EN", "xx", "tlh"])
    assert detector.languages == ("de", "en", "pt")  # regions dropped, unknown codes left out
    assert not LanguageDetector(["en"]).enabled  # one candidate: nothing to choose
    assert LanguageDetector(["en"]).detect("Ich möchte meine Schuhe zurückgeben") is None
    assert [primary_language(t) for t in ("de-DE", "pt_BR", " FR ", "", None, "12", "x")] == [
        "de", "pt", "fr", None, None, None, None,
    ]  # fmt: skip


def test_the_models_are_loaded_once_per_process(detector: LanguageDetector) -> None:
    detector.warm()
    again = pickle.loads(pickle.dumps(detector))
    assert again == detector and again is not detector
    assert not again.cold  # the same languages: the loaded models are shared


def test_the_pipeline_reports_detected_hinted_or_default_language() -> None:
    pipeline = Pipeline(default_language="de")
    found = pipeline.analyze(SAMPLES["fr"][0], AnalysisContext(language="es"))
    assert (found.language, found.detected_language) == ("fr", "fr")  # the text beats the hint
    hinted = pipeline.analyze("ok", AnalysisContext(language="es-MX"))
    assert (hinted.language, hinted.detected_language) == ("es", None)  # the channel's hint
    default = pipeline.analyze("ok", AnalysisContext())
    assert (default.language, default.detected_language) == ("de", None)  # the rulebook's default
    items = [(t, AnalysisContext(language="es")) for t in (SAMPLES["nl"][0], "ok", "")]
    assert pipeline.analyze_many(items) == [pipeline.analyze(t, c) for t, c in items]
    rebuilt = pickle.loads(pickle.dumps(pipeline))
    assert rebuilt.analyze("ok", AnalysisContext()).language == "de"
    assert rebuilt.language_detector == pipeline.language_detector


def test_the_command_line_shows_the_detected_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``frontdesk nlu analyze`` prints it in its JSON; ``frontdesk rules test`` says whether it
    was detected, and answers in it."""
    rulebook = language_rulebook(tmp_path / "rulebook")
    models = str(tmp_path / "models")
    assert nlu_cli("analyze", GERMAN, "--rulebook", str(rulebook), "--models", models) == 0
    analysis = json.loads(capsys.readouterr().out)
    assert (analysis["language"], analysis["detected_language"]) == ("de", "de")
    assert nlu_cli("analyze", "ok", "--language", "fr", "--rulebook", str(rulebook), "--models", models) == 0
    analysis = json.loads(capsys.readouterr().out)
    assert (analysis["language"], analysis["detected_language"]) == ("fr", None)

    code, out, _err = rules_cli("rules", "test", GERMAN, "--rulebook", str(rulebook), "--models", models)
    assert code == 0, out
    assert "language:  de (detected)" in out and ANSWERS["de"] in out
    code, out, _err = rules_cli("rules", "test", "ok", "--rulebook", str(rulebook), "--models", models)
    assert "language:  en (not detected: the hint or the default)" in out and ANSWERS["en"] in out
    given = "{language: de}"
    code, out, _err = rules_cli(
        "rules", "test", "ok", "--conversation", given, "--rulebook", str(rulebook), "--models", models
    )
    assert ANSWERS["de"] in out  # the conversation's language, kept


def test_the_configured_languages_are_detected_besides_the_rulebooks(tmp_path: Path) -> None:
    """``nlu.languages`` (config.yaml) defaults to the detector's defaults; the rulebook's own
    languages (its default and its responses' ``de:`` keys) are always added."""
    assert settings_from_text("{}").nlu.languages == list(DEFAULT_LANGUAGES)
    rulebook = language_rulebook(tmp_path / "rulebook")
    knowledge = Knowledge.load(rulebook, faq_threshold=0.8, languages=["sv"])
    assert knowledge.analyzer.language_detector.languages == ("de", "en", "fr", "sv")
    with pytest.raises(ConfigError):
        settings_from_text("nlu:\n  languages: [German]\n")
