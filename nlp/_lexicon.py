"""The built-in sentiment lexicon, tuned for customer-service messages.

Valences follow the VADER convention (about -4 .. +4). The list is short on purpose: it holds
the words customers actually use about orders, deliveries, refunds and support, plus the
complaint phrases that carry frustration without any "negative" word ("third time I'm
asking", "still not fixed"). Admins add their own words in ``rulebook/sentiment.yml``.
"""

from __future__ import annotations

__all__ = ["BOOSTERS", "DAMPENERS", "EMOJI", "NEGATIONS", "PHRASES", "SCOPE_BREAKERS", "WORDS"]

_POSITIVE = {
    4.0: "amazing awesome excellent fantastic perfect outstanding superb wonderful brilliant",
    3.0: "love loved great delighted thrilled impressed best happy glad",
    2.5: "helpful thanks thank thx appreciate appreciated pleased recommend",
    2.0: "good nice quick fast fixed solved resolved works working smooth friendly easy",
    1.5: "fine ok okay satisfied kind polite arrived received sorted",
    1.0: "right correct clear cool",
}
_NEGATIVE = {
    -4.0: "worst horrible terrible awful disgusting scam fraud pathetic useless appalling",
    -3.0: "hate unacceptable ridiculous furious angry outraged disgusted incompetent rude lied"
    " lying liar joke nightmare",
    -2.5: "disappointed disappointing frustrated frustrating annoyed annoying upset bad poor"
    " broken damaged defective faulty rubbish garbage crap",
    -2.0: "wrong missing lost late delayed slow problem problems issue issues error failed fail"
    " fails failure complaint complain unhappy sad worried confused",
    -1.5: "overcharged stuck unable difficult confusing",
    -1.0: "waiting charged",
    -0.5: "unfortunately expensive",
}

WORDS: dict[str, float] = {
    word: valence
    for table in (_POSITIVE, _NEGATIVE)
    for valence, words in table.items()
    for word in words.split()
}

# Regular expressions over the folded text; they add their valence once per match.
PHRASES: dict[str, float] = {
    r"\b(second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th|umpteenth|several|many|multiple)"
    r" (time|times)\b": -2.5,
    r"\bstill (not|no|nothing|waiting|broken|missing|haven't|hasn't|isn't|doesn't|didn't"
    r"|can't|cannot|won't|wrong)\b": -2.5,
    r"\b(no one|nobody|noone) (has |have |is |ever )?(answer|repl|respond|help|call|got back)": -2.5,
    r"\b(waste|wasted|wasting) (of )?(my )?(time|money)\b": -3.0,
    r"\b(fed up|sick of|tired of|had enough|last time i|never again|give up)\b": -3.0,
    r"\b(how (many|much) (more )?(times|longer))\b": -2.5,
    r"\b(weeks?|months?|days?) (ago|now|later)\b": -1.0,
    r"\b(as soon as possible|asap|immediately|right now)\b": -1.0,
    r"\b(speak|talk) to (a |an |the )?(human|person|manager|supervisor|someone real)\b": -1.5,
    r"\b(money back|chargeback|lawyer|legal action|report you|bad review)\b": -2.5,
    r"\b(hung up|cut off|disconnected)\b": -2.5,
    r"\bon hold\b": -1.0,
    r"\b(cancel+ed|delayed|late|broken|down|wrong|failed|crashed|charged|missing) again\b": -2.5,
    r"\b(charged|billed|debited) (me )?(twice|double|two times)\b|\bdouble (charged|billed)\b": -2.5,
    r"\bnever (arrived|came|showed up|got back|received|replied|answered|called back)\b": -2.5,
    r"\bno excuse\b": -1.5,
    r"\b(no (problem|problems|worries|issue|issues)|not a problem)\b": 0.5,
    r"\b(thank you|thanks a lot|much appreciated|well done|great job|you rock)\b": 1.0,
}

NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "without",
        "hardly",
        "barely",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "dont",
        "doesnt",
        "didnt",
        "cant",
        "couldnt",
        "wont",
        "wouldnt",
        "shouldnt",
        "havent",
        "hasnt",
        "hadnt",
        "aint",
        "isn't",
        "aren't",
        "wasn't",
        "weren't",
        "don't",
        "doesn't",
        "didn't",
        "can't",
        "couldn't",
        "won't",
        "wouldn't",
        "shouldn't",
        "haven't",
        "hasn't",
        "hadn't",
        "ain't",
        "cannot",
    ]
)

# Words that end a negation's reach: punctuation and clause openers.
SCOPE_BREAKERS = frozenset(
    [
        ",",
        ".",
        ";",
        ":",
        "?",
        "!",
        "for",
        "but",
        "because",
        "since",
        "and",
        "so",
        "although",
        "though",
        "if",
        "when",
        "while",
    ]
)

BOOSTERS: dict[str, float] = {
    w: 0.3
    for w in [
        "very",
        "really",
        "extremely",
        "so",
        "totally",
        "completely",
        "absolutely",
        "utterly",
        "incredibly",
        "super",
        "seriously",
        "truly",
        "highly",
        "most",
        "such",
        "too",
    ]
}
DAMPENERS: dict[str, float] = {
    w: -0.3
    for w in ["slightly", "somewhat", "bit", "little", "kinda", "sorta", "fairly", "marginally", "almost"]
}

EMOJI: dict[str, float] = {
    **dict.fromkeys("😀😃😄😁😊🙂😍🥰😘👍🙏🎉🥳💯✨🤩😎💖💕💚💙❤♥👏🌟⭐😆😂🤗😌", 2.0),
    **dict.fromkeys("😡🤬😠😤👎💩🖕", -3.0),
    **dict.fromkeys("😞😢😭😩😫😒🙄😔😟😕🙁☹😣😖💔😑😐🤦😬😰😱", -2.0),
    ":)": 1.5,
    ":-)": 1.5,
    ":D": 2.0,
    ";)": 1.0,
    "<3": 2.0,
    ":(": -2.0,
    ":-(": -2.0,
    ":'(": -2.5,
    ">:(": -3.0,
}
