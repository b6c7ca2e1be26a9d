"""The action registries agree: every key of a rule's ``then`` item compiles, every decided action
has one executor entry, and what ticket rules may use is what the executor can do on a ticket."""

from __future__ import annotations

from bot.rule_actions import EFFECTS
from rules.actions import SPEC_KINDS
from rules.decision import ACTION_TYPES, DERIVED_KINDS
from rules.schema import ActionSpec


def test_every_action_key_has_one_compile_entry() -> None:
    assert list(SPEC_KINDS) == list(ActionSpec.model_fields)


def test_every_decided_action_has_one_executor_entry() -> None:
    assert set(EFFECTS) == set(ACTION_TYPES)
    for action in ACTION_TYPES:
        source = DERIVED_KINDS.get(action.kind, action.kind)
        assert source in SPEC_KINDS or source.startswith("settings."), action.kind


def test_ticket_rules_may_use_exactly_what_has_an_effect_on_a_ticket() -> None:
    for action in ACTION_TYPES:
        source = DERIVED_KINDS.get(action.kind, action.kind)
        refused = source not in SPEC_KINDS or SPEC_KINDS[source].not_on_tickets is not None
        assert (EFFECTS[action].ticket is None) is refused, action.kind
