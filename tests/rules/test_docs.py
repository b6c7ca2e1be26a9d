"""docs/rules.md stays in step with the schema: every key of every model is documented in its section.

The models are not listed by hand: every pydantic model reachable from the roots of the files
docs/rules.md describes (``rules.yml``, ``calendars.yml``, ``rulebook/tests/*.yaml``) is found by
walking ``model_fields`` through unions, lists, dicts and ``Annotated``, so a new model or key
cannot slip past. Each model has a section: a heading naming it in backticks, e.g.
``### Rule keys (`RuleSpec`)``. Its keys must be the first cell of a table row in that section
(up to the next heading of any level), so a common key such as `min` documented for one model
does not count for another.
"""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from rules.schema import CalendarsFile, RulesFile
from rules.templates import KNOWN_PREFIXES, KNOWN_VARIABLES
from rules.testcases import Story, TestCase
from tests.rules.helpers import ROOT

DOCS = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
ROOTS: tuple[type[BaseModel], ...] = (RulesFile, CalendarsFile, TestCase, Story)


def reachable_models(*roots: type[BaseModel]) -> list[type[BaseModel]]:
    """Every model reachable from ``roots`` through field annotations, in discovery order."""
    found: list[type[BaseModel]] = []

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.append(annotation)
                for info in annotation.model_fields.values():
                    visit(info.annotation)
            return
        for arg in get_args(annotation):  # X | Y, list[X], dict[K, V], Annotated[X, ...]
            visit(arg)

    for root in roots:
        visit(root)
    return found


def keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def sections(markdown: str) -> list[tuple[str, list[str]]]:
    """(heading, body lines up to the next heading of any level); fenced code is never a heading."""
    out: list[tuple[str, list[str]]] = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#{1,6} ", line):
            out.append((line, []))
        elif out:
            out[-1][1].append(line)
    return out


def table_keys(body: list[str]) -> set[str]:
    """The backticked names in the first cell of each table row."""
    found: set[str] = set()
    for line in body:
        if line.startswith("|") and not re.match(r"\|[\s|:-]+\|?$", line):
            found.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return found


MODELS = reachable_models(*ROOTS)
SECTIONS = sections(DOCS)


def undocumented(model: type[BaseModel], body: list[str]) -> list[str]:
    """``Model.key`` for each key of ``model`` without a table row in ``body``."""
    documented = table_keys(body)
    return [f"{model.__name__}.{key}" for key in keys(model) if key not in documented]


def section_of(model: type[BaseModel]) -> list[str]:
    named = [(heading, body) for heading, body in SECTIONS if f"`{model.__name__}`" in heading]
    assert named, f"docs/rules.md has no section for {model.__name__} (a heading naming `{model.__name__}`)"
    assert len(named) == 1, (
        f"docs/rules.md names {model.__name__} in several headings: {[h for h, _ in named]}"
    )
    return named[0][1]


def test_the_walk_finds_nested_models() -> None:
    names = {m.__name__ for m in MODELS}
    # Reached only through unions, lists, dicts or Annotated: a hand-written list missed such models.
    assert {
        "ConditionSpec",
        "FieldCond",
        "ButtonSpec",
        "CalendarSpec",
        "ClarifySpec",
        "ExpectedTicket",
    } <= names


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
def test_every_schema_key_is_documented_in_its_models_section(model: type[BaseModel]) -> None:
    missing = undocumented(model, section_of(model))
    assert not missing, (
        f"docs/rules.md: the section of {model.__name__} has no table row for {', '.join(missing)}"
    )


def test_no_heading_names_two_models() -> None:
    names = {m.__name__ for m in MODELS}
    for heading, _ in SECTIONS:
        named = [n for n in re.findall(r"`([^`]+)`", heading) if n in names]
        assert len(named) <= 1, f"docs/rules.md: one section per model, but {heading!r} names {named}"


def test_a_missing_key_fails_with_the_model_and_field() -> None:
    class Probe(BaseModel):
        min: int = 0
        undocumented_key: int = 0

    body = ["| key | meaning |", "|---|---|", "| `min` | lower end |", "Prose naming `undocumented_key`."]
    assert undocumented(Probe, body) == ["Probe.undocumented_key"]


@pytest.mark.parametrize(
    "name", sorted(KNOWN_VARIABLES) + [p + "NAME" for p in KNOWN_PREFIXES if p == "attribute."]
)
def test_every_template_variable_is_documented(name: str) -> None:
    assert "{" + name + "}" in DOCS
