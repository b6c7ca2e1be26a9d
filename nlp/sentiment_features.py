"""The features of one message for the trained sentiment and complaint classifier.

Training and serving both call :func:`features`, so they can never disagree. Features are plain
strings (words, word pairs, words inside a negation's reach marked with ``~``) looked up in a
dict of weights: for one short message that is cheaper than any vectorizer, and a model is a
small mapping rather than a sparse matrix with a hashing scheme to keep stable.
"""

from __future__ import annotations

import re

from nlp.text import fold

__all__ = ["MAX_TOKENS", "features"]

MAX_TOKENS = 80
"""Only the first words count: a long message's tone is set early, and the cost stays bounded."""

_TOKEN = re.compile(
    r"[:;]'?-?[()dp]|<3|[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[!?]|[.,;]|[\U0001F000-\U0001FAFF\u2600-\u27BF]"
)
_NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "nor",
        "without",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "wont",
        "wouldnt",
        "couldnt",
        "shouldnt",
        "havent",
        "hasnt",
        "hadnt",
        "aint",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "wasn't",
        "aren't",
        "weren't",
        "won't",
        "wouldn't",
        "couldn't",
        "shouldn't",
        "haven't",
        "hasn't",
        "hadn't",
        "ain't",
        "can't",
    ]
)
_BREAKS = frozenset(
    [".", ",", ";", "!", "?", "but", "and", "so", "because", "for", "since", "although", "though"]
)
_PUNCT = frozenset(".,;")
_REACH = 3


def features(text: str) -> list[str]:
    """Unigrams (``~word`` for the three words after a negation, within its clause), bigrams, and cues:
    ``!``/``?`` counts and ``<caps>`` for a shouted word. Digits become ``0``."""
    head = text[: MAX_TOKENS * 12]
    raw = _TOKEN.findall(head if head.isascii() else fold(head))
    caps = any(len(t) > 2 and t.isupper() for t in raw)
    toks = [t.lower() if not t.isdigit() else "0" for t in raw[:MAX_TOKENS]]
    out: list[str] = ["<caps>"] if caps else []
    negated = 0  # words still inside the last negation's reach
    prev = "<s>"
    for tok in toks:
        if tok in _BREAKS:
            negated = 0
        if tok not in _PUNCT:
            out.append("~" + tok if negated else tok)
            out.append(prev + " " + tok)
            prev = tok
        else:
            prev = "<s>"
        negated = _REACH if tok in _NEGATIONS else max(0, negated - 1)
    out.append(prev + " </s>")
    return out
