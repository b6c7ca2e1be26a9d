"""docs/rules.md stays in step with the schema: every key an admin can write is documented."""

from __future__ import annotations

import pytest

from rules.schema import schema_keys
from rules.templates import KNOWN_PREFIXES, KNOWN_VARIABLES
from tests.rules.helpers import ROOT

DOCS = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
KEYS = [(model, key) for model, keys in schema_keys().items() for key in keys]


@pytest.mark.parametrize(("model", "key"), KEYS, ids=[f"{m}.{k}" for m, k in KEYS])
def test_every_schema_key_is_documented(model: str, key: str) -> None:
    assert f"`{key}`" in DOCS or f"{key}:" in DOCS, f"docs/rules.md has no entry for {model}.{key}"


@pytest.mark.parametrize("model", sorted(schema_keys()))
def test_every_schema_section_is_named(model: str) -> None:
    assert model in DOCS, f"docs/rules.md does not mention {model}"


@pytest.mark.parametrize(
    "name", sorted(KNOWN_VARIABLES) + [p + "NAME" for p in KNOWN_PREFIXES if p == "attribute."]
)
def test_every_template_variable_is_documented(name: str) -> None:
    assert "{" + name + "}" in DOCS
