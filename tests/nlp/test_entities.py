from __future__ import annotations

import itertools
from datetime import date

import pytest

from nlp.entities import EntityExtractor, InvalidPatternError
from nlp.types import EntityPattern, GazetteerEntry

TODAY = date(2026, 3, 10)  # a Tuesday
E = EntityExtractor(today=lambda: TODAY)


def values(text: str, extractor: EntityExtractor = E) -> list[tuple[str, str]]:
    return [(e.type, e.value) for e in extractor.extract(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail John.Doe@Example.COM please", [("email", "john.doe@example.com")]),
        ("call +49 30 1234567", [("phone", "+49301234567")]),
        ("call (555) 123-4567", [("phone", "5551234567")]),
        ("call 0049 170 1234567", [("phone", "+491701234567")]),
        ("I paid $12.50", [("money", "12.50 USD")]),
        ("charged 30 euros twice", [("money", "30.00 EUR")]),
        ("refund of 1,299.99 EUR", [("money", "1299.99 EUR")]),
        ("costs €5", [("money", "5.00 EUR")]),
        ("ordered on 2026-02-28", [("date", "2026-02-28")]),
        ("ordered on 28.02.2026", [("date", "2026-02-28")]),
        ("deliver on May 5th", [("date", "2026-05-05")]),
        ("deliver on 5 May 2027", [("date", "2027-05-05")]),
        ("deliver tomorrow", [("date", "2026-03-11")]),
        ("next monday works", [("date", "2026-03-16")]),
        ("where is order #48213?", [("order_ref", "48213")]),
        ("order number: A-99812 is late", [("order_ref", "A-99812")]),
        ("see ORD-2026-001", [("order_ref", "ORD-2026-001")]),
        ("about ticket 4411", [("ticket_ref", "4411")]),
        ("re TCK-881", [("ticket_ref", "TCK-881")]),
        ("the 31.02.2026 is no date", []),
        ("", []),
    ],
)
def test_builtin_entities(text: str, expected: list[tuple[str, str]]) -> None:
    assert values(text) == expected


def test_spans_point_into_the_text_and_do_not_overlap() -> None:
    text = "Order 12345 for jane@shop.example, paid 49.90 EUR on 03/01/2026, call +1 555 123 4567"
    entities = E.extract(text)

    assert {e.type for e in entities} == {"order_ref", "email", "money", "date", "phone"}
    for entity in entities:
        assert text[entity.start : entity.end] == entity.text
    ends = [(e.start, e.end) for e in entities]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(ends))


def test_admin_gazetteer_regex_and_token_patterns() -> None:
    extractor = EntityExtractor(
        gazetteers=[GazetteerEntry("product", "Trailblazer Jacket", ("trailblazer",))],
        patterns=[
            EntityPattern("voucher", regex=r"\b(?P<value>ACME-[A-Z0-9]{4,8})\b"),
            EntityPattern("size", tokens=({"LOWER": "size"}, {"IS_DIGIT": True})),
        ],
    )

    found = values("Is the TRAILBLAZER in size 42? code ACME-SPRING", extractor)

    assert ("product", "Trailblazer Jacket") in found
    assert ("size", "size 42") in found
    assert ("voucher", "ACME-SPRING") in found


def test_gazetteer_matches_whole_tokens_only() -> None:
    extractor = EntityExtractor(gazetteers=[GazetteerEntry("product", "Nimbus")])

    assert values("nimbusbag", extractor) == []
    assert values("my nimbus broke", extractor) == [("product", "Nimbus")]


def test_invalid_admin_regex_is_reported() -> None:
    with pytest.raises(InvalidPatternError, match="sku"):
        EntityExtractor(patterns=[EntityPattern("sku", regex="SKU-(")])
