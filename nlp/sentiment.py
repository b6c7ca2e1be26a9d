"""Rule-based sentiment scoring for support messages.

A lexicon scorer in the spirit of VADER rather than a trained model: support teams have no
labelled sentiment data, the cues that matter (negation, "very", ALL CAPS, "!!!", emoji,
"third time I'm asking") are few and well understood, and an admin can fix a wrong score by
adding one line to ``rulebook/sentiment.yml`` instead of retraining anything.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping

from nlp import _lexicon
from nlp.text import fold
from nlp.types import Sentiment, SentimentLabel

__all__ = ["SentimentAnalyzer"]

_LOGGER = logging.getLogger(__name__)

_EMOTICONS = sorted((k for k in _lexicon.EMOJI if len(k) > 1), key=len, reverse=True)
_TOKEN = re.compile(
    "|".join(re.escape(e) for e in _EMOTICONS)
    + r"|[^\W\d_]+(?:['\u2019][^\W\d_]+)?|\d+|!|[,.;:?]|[\U0001F000-\U0001FAFF\u2600-\u27BF]"
)
_NEGATION_WINDOW = 3
_NEGATION_FACTOR = -0.74  # "not good": a negated positive word is negative
_NEGATED_NEGATIVE = -0.3  # "not bad", "no problem": mildly positive, never as strong as praise
_CAPS_BOOST = 0.733
_SHOUTING = -1.0  # a whole message in capitals is frustration in a support inbox
_BUT_BEFORE, _BUT_AFTER = 0.5, 1.5
_ALPHA = 15.0  # VADER's normalisation constant
_NEUTRAL_BAND = 0.05


class SentimentAnalyzer:
    """Scores text in [-1, 1]; ``extra`` entries (word or phrase → valence) override the lexicon.

    Args:
        extra: admin lexicon from the rulebook. Single words replace or extend the word list;
            entries with a space are matched as whole phrases.
    """

    def __init__(self, *, extra: Mapping[str, float] | None = None) -> None:
        self._words = dict(_lexicon.WORDS)
        phrases = {re.compile(p): v for p, v in _lexicon.PHRASES.items()}
        for key, valence in (extra or {}).items():
            term = fold(key).strip()
            if not term:
                continue
            if " " in term:
                phrases[re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)")] = float(valence)
            else:
                self._words[term] = float(valence)
        self._phrases = phrases

    def score(self, text: str) -> Sentiment:
        tokens = _TOKEN.findall(text)
        words = [t for t in tokens if t[0].isalpha()]
        letters = [t for t in words if len(t) > 1]
        shouting = len(letters) >= 2 and all(t.isupper() for t in letters)
        mixed_case = not shouting and any(not t.isupper() for t in letters)
        folded = [fold(t) for t in tokens]
        total = 0.0
        but_at = folded.index("but") if "but" in folded else -1
        for i, (raw, tok) in enumerate(zip(tokens, folded, strict=True)):
            valence = self._valence(raw, tok)
            if valence == 0.0:
                continue
            if mixed_case and raw.isupper() and len(raw) > 1 and raw.isalpha():
                valence += math.copysign(_CAPS_BOOST, valence)
            valence = self._modify(folded, i, valence)
            if but_at >= 0:
                valence *= _BUT_BEFORE if i < but_at else (_BUT_AFTER if i > but_at else 1.0)
            total += valence
        flat = " ".join(t for t in folded if t != "!")
        for pattern, valence in self._phrases.items():
            total += valence * len(pattern.findall(flat))
        if shouting:
            total += _SHOUTING
        if total:
            total += math.copysign(min(folded.count("!"), 4) * 0.292, total)
        return _sentiment(total)

    def _valence(self, raw: str, tok: str) -> float:
        if tok in self._words:
            return self._words[tok]
        return _lexicon.EMOJI.get(raw, 0.0) or _lexicon.EMOJI.get(raw.rstrip("\ufe0f"), 0.0)

    @staticmethod
    def _modify(folded: list[str], i: int, valence: float) -> float:
        """Apply boosters and negations from the few words before position ``i``."""
        start = max(0, i - _NEGATION_WINDOW)
        # A negation reaches no further than the clause: in "no excuse for poor service" the
        # "no" is about the excuse, and in "no problem, thanks" it is not about the thanks.
        for j in range(i - 1, start - 1, -1):
            if folded[j] in _lexicon.SCOPE_BREAKERS:
                start = j + 1
                break
        for distance, prev in enumerate(reversed(folded[start:i]), start=1):
            scale = 1.0 if distance == 1 else (0.95 if distance == 2 else 0.9)
            boost = _lexicon.BOOSTERS.get(prev, 0.0) + _lexicon.DAMPENERS.get(prev, 0.0)
            if boost:
                valence += math.copysign(boost * scale, valence)
        if any(prev in _lexicon.NEGATIONS for prev in folded[start:i]):
            valence *= _NEGATION_FACTOR if valence > 0 else _NEGATED_NEGATIVE
        return valence


def _sentiment(total: float) -> Sentiment:
    score = total / math.sqrt(total * total + _ALPHA)
    score = max(-1.0, min(1.0, round(score, 4)))
    label: SentimentLabel = "neutral"
    if score >= _NEUTRAL_BAND:
        label = "positive"
    elif score <= -_NEUTRAL_BAND:
        label = "negative"
    return Sentiment(score=score, label=label)
