"""The upper bound of a prefix range (``ticketing/customer_records.py``): every string starting
with the prefix sorts below it, in code point order (UTF-8 byte order, what both engines use)."""

from __future__ import annotations

from ticketing.customer_records import _successor


def test_the_bound_is_the_next_string_after_every_extension_of_the_prefix() -> None:
    assert _successor("ann") == "ano"
    assert _successor("a\U0010ffff") == "b"
    assert _successor("\ud7ff") == "\ue000"  # past the surrogates, which cannot be stored
    assert _successor("\U0010ffff") is None  # no bound: everything from the prefix on
    for prefix in ("ann", "zz", "é", "a\U0010ffff"):
        bound = _successor(prefix)
        assert bound is not None and prefix < bound and (prefix + "\U0010ffff" * 3) < bound
        assert all((prefix + s).encode() < bound.encode() for s in ("", "a", "\U0010ffff", "\x00"))
