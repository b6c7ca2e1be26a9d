"""The shortcuts behind analyze() give what the long way gives, bit for bit.

Each shortcut skips work that provably cannot change the result (a scan that cannot match, a
cached value); these tests pin that on varied text, so a changed expression or library that
breaks the proof fails here rather than in production.
"""

from __future__ import annotations

import copy
import random
import string
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz, process

import nlp.entities as entities_module
from nlp import EntityPattern, GazetteerEntry, IntentModel
from nlp._patterns import BUILTIN, NEEDS_AT, NEEDS_DIGIT
from nlp.entities import EntityExtractor, _needles, _spans
from nlp.faq import FaqMatcher, _scores, content, normalize
from nlp.intent import IntentClassifier
from nlp.text import fold
from rules.intents_file import load_nlu_rulebook
from rules.rulebook import load_rulebook

RULEBOOK = Path(__file__).resolve().parents[2] / "rulebook"
_PLAIN = (
    "where is my order size M trailblazer Trail blazer jacket NIMBUS nimbus-bag summit boots cozy "
    "merino sweater refund ORD-1234 #98765 ticket 42 bob@example.com +49 170 1234567 12,50 "
    "€ tomorrow next monday KELVIN Kelvin straße don't `quoted` size42 10kg (nimbus) 😡"
)
WORDS = [
    *_PLAIN.split(),
    "\u03a3\u039f\u03a6\u038a\u0391",  # a Greek word with capital sigma
    "\ufb01ne",  # ligature
    "\uff12\uff10\uff12\uff16",  # full-width digits
    "\u0663\u0664\u0665",  # Arabic-Indic digits
    "it\u2019s",
]


def corpus(n: int = 400, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 12))) for _ in range(n)]
    noise = (
        string.ascii_letters
        + string.digits
        + string.punctuation
        + " \t\n"
        + "éß\u03a3\u03c3\u03c2\u2019\u2018\u02bc`\ufb01\u0663\uff12\u212a"
    )
    texts += ["".join(rng.choice(noise) for _ in range(rng.randint(0, 60))) for _ in range(n)]
    rulebook = load_rulebook(RULEBOOK)
    nlu = load_nlu_rulebook(RULEBOOK)
    texts += [q for entry in rulebook.faqs for q in entry.questions]
    texts += [e.text for e in nlu.intents.examples] if nlu.intents else []
    return texts


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    nlu = load_nlu_rulebook(RULEBOOK)
    extra = [GazetteerEntry("unit", "Kelvin"), GazetteerEntry("brand", "(Nimbus)")]
    return EntityExtractor(patterns=nlu.entity_patterns, gazetteers=[*nlu.gazetteers, *extra])


def test_spacy_is_skipped_only_where_the_ruler_finds_nothing(extractor: EntityExtractor) -> None:
    assert extractor._needles is not None  # the rulebook's patterns all have a first token to look for
    skipped = 0
    for text in corpus():
        always = _spans(extractor._nlp(text)) if text.strip() else []
        assert extractor._extract(text, always) == extractor.extract(text), text
        if not extractor._needs_spacy(text):
            skipped += 1
            assert always == [], text
    assert skipped > 100  # the shortcut does get taken


def test_patterns_that_may_start_anywhere_always_run_spacy() -> None:
    for tokens in (
        ({"LOWER": "size", "OP": "?"}, {"IS_DIGIT": True}),
        ({"IS_DIGIT": True},),
        ({"LOWER": {"IN": ["size", "gr"]}},),
        ({"TEXT": "Size"},),
    ):
        extractor = EntityExtractor(patterns=[EntityPattern("x", tokens=tokens)])
        assert extractor._needles is None
        assert extractor._needs_spacy("anything")
    sigma = EntityExtractor(gazetteers=[GazetteerEntry("word", "ΟΔΟΣ")])
    assert sigma._needles is None
    assert not sigma._needs_spacy("   ")


def test_needles_are_the_first_tokens_lower_cased(extractor: EntityExtractor) -> None:
    patterns = [{"pattern": "Summit Hiking Boots"}, {"pattern": [{"LOWER": "size"}, {"IS_ALPHA": False}]}]
    needles = _needles(extractor._nlp, patterns)
    assert needles is not None
    assert needles.pattern == "size|summit"


def test_builtin_scans_skipped_without_digits_or_at_sign_cannot_match() -> None:
    texts = corpus()
    for type_, compiled, _normalize in BUILTIN:
        for text in texts:
            if type_ in NEEDS_DIGIT:
                stripped = entities_module._DIGIT.sub("x", text)
                assert list(compiled.finditer(stripped)) == [], (type_, stripped)
            if type_ in NEEDS_AT:
                assert list(compiled.finditer(text.replace("@", " "))) == [], (type_, text)


def test_builtin_gates_change_nothing(extractor: EntityExtractor, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = corpus()
    gated = [extractor.extract(t) for t in texts]
    monkeypatch.setattr(entities_module, "NEEDS_DIGIT", frozenset())
    monkeypatch.setattr(entities_module, "NEEDS_AT", frozenset())
    assert [extractor.extract(t) for t in texts] == gated
    assert extractor.extract_many(texts) == gated


def test_two_faq_scorers_equal_the_three_they_replace() -> None:
    rulebook = load_rulebook(RULEBOOK)
    matcher = FaqMatcher(rulebook.faqs)
    queries = [q for q in (normalize(t) for t in corpus()) if q]
    for choices, asked in ((matcher._choices, queries), (matcher._content, [content(q) for q in queries])):
        three = np.maximum.reduce(
            [
                process.cdist(asked, choices, scorer=scorer, dtype=np.float64)
                for scorer in (fuzz.ratio, fuzz.token_sort_ratio, fuzz.token_set_ratio)
            ]
        )
        assert np.array_equal(_scores(asked, choices), three)
        one_at_a_time = np.vstack([_scores([q], choices) for q in asked[:100]])
        assert np.array_equal(one_at_a_time, _scores(asked[:100], choices))


def test_faq_batches_equal_single_matches() -> None:
    matcher = FaqMatcher(load_rulebook(RULEBOOK).faqs)
    texts = corpus()
    assert matcher.match_many(texts) == [matcher.match(t) for t in texts]
    assert FaqMatcher([]).match_many(texts[:3]) == [(), (), ()]


def test_ascii_fold_shortcut() -> None:
    import unicodedata

    from nlp.text import _APOSTROPHES

    def slow(text: str) -> str:
        return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()

    ascii_chars = "".join(chr(c) for c in range(128))
    assert fold(ascii_chars) == slow(ascii_chars)
    for text in corpus():
        assert fold(text) == slow(text)


def test_standard_fast_rows_equal_generic_scikit_learn_analyzers(shop_classifier: IntentClassifier) -> None:
    classifier = shop_classifier
    texts = corpus()
    scores, known = classifier.score_each(texts)
    generic = copy.copy(classifier)
    generic._fast = None
    generic.score_each(texts[:1])  # compile
    assert generic._fast is not None and generic._fast._standard
    generic._fast._standard = False
    generic._fast._generic = []
    from nlp._fastpath import FeatureRows

    rows = FeatureRows.__new__(FeatureRows)
    rows.__dict__.update(generic._fast.__dict__)
    offset = 0
    for _name, vectorizer in classifier._features.transformer_list:  # type: ignore[union-attr]
        vocabulary = {gram: col + offset for gram, col in vectorizer.vocabulary_.items()}
        rows._generic.append((vectorizer.build_analyzer(), vocabulary))
        offset += len(vectorizer.idf_)
    generic._fast = rows
    slow_scores, slow_known = generic.score_each(texts)

    assert np.array_equal(scores, slow_scores)
    assert known == slow_known == [classifier.known_words(t) > 0 for t in texts]


def test_rows_are_the_same_from_the_word_cache(shop_model: IntentModel) -> None:
    classifier = shop_model.classifier
    texts = corpus()[:200]
    first = classifier.score_each(texts)[0]
    again = classifier.score_each(texts)[0]
    assert classifier._fast is not None
    classifier._fast._char_cache.clear()
    alone = np.vstack([classifier.score_each([t])[0] for t in texts])
    assert np.array_equal(first, again)
    assert np.array_equal(first, alone)
