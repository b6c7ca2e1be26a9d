"""Writes the composed part of ``bench/data/cs_dev.csv`` (see bench/data/README.md).

The hand-written messages (``source`` = ``hand``) live in the CSV itself and are kept as they
are; this adds messages composed from hand-written templates and fillers (waits, products,
typos), seeded, so the file is the same on every run::

    python bench/data/make_cs_dev.py

Labels: ``C`` a complaint (sentiment negative), ``N`` negative but no complaint, ``U`` neutral,
``P`` positive. Nothing here is copied from a public data set; none of it is in the training
examples (tests/nlp/test_sentiment_model.py checks that).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).with_name("cs_dev.csv")
TRAINING = Path(__file__).parents[2] / "nlp" / "data" / "cs_sentiment.yml"

# Composed messages: (label, template). Fillers below; "{wait}" etc. are picked at random.
TEMPLATES = [
    ("C", "I've been waiting {wait} for my {thing} and nobody {answers}"),
    ("C", "my {thing} still hasn't arrived after {wait}"),
    ("C", "{wait} on hold and then {hangup}"),
    ("C", "the {item} I got is {broken}"),
    ("C", "this is the {nth} time I'm contacting you about my {thing}"),
    ("C", "you charged me {twice} for my {thing}"),
    ("C", "still no {thing} after {wait}, {angry}"),
    ("C", "my {thing} was cancelled again, {angry}"),
    ("C", "{angry}. {wait} and still nothing"),
    ("C", "the {staff} was {rude}"),
    ("C", "I'm {leaving} because of how you handled my {thing}"),
    ("U", "{greet} can you tell me {question}"),
    ("U", "{greet} {question}"),
    ("U", "quick question: {question}"),
    ("U", "where is my {thing}? order {num}"),
    ("U", "my {thing} reference is {num}, can you check it?"),
    ("U", "I'd like to {request}"),
    ("U", "{greet} I want to {request}"),
    ("P", "{thanks}, {praise}"),
    ("P", "{praise}! {thanks}"),
    ("P", "the {staff} was {nice}, {thanks}"),
    ("N", "I'm {worried} that my {thing} {worry}"),
]
FILL = {
    "wait": ["2 weeks", "10 days", "a month", "three weeks", "45 minutes", "over an hour", "5 days", "6 wks"],
    "thing": ["order", "refund", "parcel", "replacement", "repair", "booking", "claim", "new card", "router"],
    "answers": ["answers", "replies", "has called me back", "has got back to me", "has updated me"],
    "hangup": ["the call got cut off", "they hung up", "the line went dead", "the chat closed"],
    "item": ["kettle", "phone case", "jacket", "laptop", "sofa", "headphones", "mattress", "lamp"],
    "broken": ["broken", "cracked", "not working", "scratched all over", "the wrong one", "missing parts"],
    "nth": ["third", "fourth", "5th", "sixth"],
    "twice": ["twice", "two times", "double"],
    "angry": [
        "ridiculous",
        "this is a joke",
        "unacceptable",
        "so fed up",
        "not good enough",
        "terrible service",
    ],
    "staff": ["driver", "agent", "engineer", "cashier", "pilot", "receptionist", "advisor"],
    "rude": ["really rude", "rude and unhelpful", "dismissive", "shouting at me", "very unprofessional"],
    "leaving": ["cancelling my contract", "switching provider", "closing my account", "never ordering again"],
    "greet": ["hi,", "hello,", "hey", "good morning,", "", "hiya"],
    "question": [
        "when my order ships?",
        "how to reset my pin?",
        "what your opening hours are?",
        "if you deliver on weekends?",
        "how to change my plan?",
        "where to find my invoice?",
        "how long a refund takes?",
        "whether the item is in stock?",
    ],
    "num": ["10234", "AB-5521", "778812", "T-3310", "99120"],
    "request": [
        "change my delivery address",
        "update my phone number",
        "cancel my subscription",
        "book an appointment",
        "return an item",
        "add a bag to my flight",
        "switch to paperless billing",
    ],
    "thanks": ["thank you", "thanks a lot", "many thanks", "cheers", "thx", "thanks so much"],
    "praise": [
        "great service",
        "really quick",
        "all sorted now",
        "very helpful",
        "works perfectly",
        "spot on",
    ],
    "nice": ["really friendly", "lovely", "so helpful", "very patient", "brilliant"],
    "worried": ["worried", "a bit anxious", "nervous", "concerned"],
    "worry": ["won't arrive before my holiday", "might get lost while I'm away", "won't fit"],
}
COMPOSED_PER_TEMPLATE = 32
TYPO_RATE = 0.15


def _typo(text: str, rng: random.Random) -> str:
    """Lower-case, drop an apostrophe or swap two letters: how people type on phones."""
    choice = rng.random()
    if choice < 0.4:
        return text.lower()
    if choice < 0.7:
        return text.replace("'", "")
    words = text.split()
    i = rng.randrange(len(words))
    w = words[i]
    if len(w) > 3:
        j = rng.randrange(len(w) - 1)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def rows() -> list[tuple[str, str, int, str]]:
    """(text, sentiment, complaint, source) rows: hand-written, then composed; no duplicates."""
    labels = {"C": ("negative", 1), "N": ("negative", 0), "U": ("neutral", 0), "P": ("positive", 0)}
    import yaml

    groups = yaml.safe_load(TRAINING.read_text(encoding="utf-8"))["examples"]
    taken = {" ".join(str(t).lower().split()) for texts in groups.values() for t in texts}
    out: dict[str, tuple[str, str, int, str]] = {t: ("", "", 0, "") for t in taken}  # not in dev
    if OUT.is_file():
        with OUT.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["source"] == "hand":
                    text = row["text"]
                    out.setdefault(text.lower(), (text, row["sentiment"], int(row["complaint"]), "hand"))
    rng = random.Random(23)
    for code, template in TEMPLATES:
        for _ in range(COMPOSED_PER_TEMPLATE):
            text = template.format(**{k: rng.choice(v) for k, v in FILL.items()}).strip()
            text = text[0].upper() + text[1:] if rng.random() < 0.5 else text
            if rng.random() < TYPO_RATE:
                text = _typo(text, rng)
            out.setdefault(text.lower(), (text, *labels[code], "composed"))
    return [row for row in out.values() if row[0]]


def main() -> None:
    data = rows()
    with OUT.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["text", "sentiment", "complaint", "source"])
        writer.writerows(data)
    print(f"{OUT}: {len(data)} messages")


if __name__ == "__main__":
    main()
