"""Property tests: the engine decides something sensible for *any* analysis and facts, never crashes."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.types import Analysis, Entity, FaqCandidate, IntentScore, Sentiment
from rules.decision import Decision, Reply
from rules.engine import Engine
from rules.facts import ConversationFacts, CustomerFacts, RuleFacts, TicketFacts
from rules.loader import load_ruleset
from tests.rules.helpers import ROOT

RULESET = load_ruleset(ROOT / "rulebook", faq_threshold=0.8)
ENGINE = Engine(ruleset=RULESET, rng=random.Random(0))
NAMES = st.sampled_from(["greet", "order_status", "refund", "human", "complaint", "opening_hours", "x", ""])
TEXT = st.text(max_size=200)
UNIT = st.floats(min_value=0, max_value=1, allow_nan=False)

analyses = st.builds(
    Analysis,
    text=TEXT,
    language=st.sampled_from(["en", "de", "fr", ""]),
    intents=st.lists(st.builds(IntentScore, NAMES, UNIT), max_size=4).map(tuple),
    out_of_scope=st.booleans(),
    sentiment=st.builds(
        Sentiment,
        st.floats(min_value=-1, max_value=1, allow_nan=False),
        st.sampled_from(["negative", "neutral", "positive"]),
    ),
    entities=st.lists(
        st.builds(
            Entity,
            st.sampled_from(["order_ref", "email", "money", "x"]),
            TEXT,
            TEXT,
            st.integers(0, 9),
            st.integers(0, 9),
        ),
        max_size=4,
    ).map(tuple),
    # faq.yml requires a non-empty answer, so a real candidate always has one
    faq=st.lists(st.builds(FaqCandidate, NAMES, TEXT, TEXT.filter(str.strip), UNIT), max_size=3).map(tuple),
)
strs = st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3).map(MappingProxyType)
tickets = st.builds(
    TicketFacts,
    reference=st.text(max_size=10),
    status=st.sampled_from(["new", "open", "solved", ""]),
    priority=st.sampled_from(["low", "normal", "urgent"]),
    queue=st.text(max_size=10),
    tags=st.frozensets(st.text(max_size=8), max_size=3),
    previous=strs,
    previous_tags=st.none() | st.frozensets(st.text(max_size=8), max_size=3),
    caused_by=st.lists(st.sampled_from(["ticket_solved", "urgent_ticket_alert", "x"]), max_size=4).map(tuple),
)
facts = st.builds(
    RuleFacts,
    channel=st.sampled_from(["webchat", "email", "telegram", ""]),
    event=st.sampled_from(["message", "ticket"]),
    customer=st.builds(
        CustomerFacts,
        name=st.none() | st.text(max_size=30),
        email=st.none() | st.text(max_size=30),
        tags=st.frozensets(st.sampled_from(["vip", "unhappy", "x"])),
        attributes=strs,
        first_contact=st.booleans(),
        open_tickets=st.integers(0, 1000),
    ),
    conversation=st.builds(
        ConversationFacts,
        handed_off=st.booleans(),
        turns=st.integers(0, 10_000),
        language=st.none() | st.sampled_from(["en", "de", "xx"]),
        has_open_ticket=st.booleans(),
        automated_replies=st.integers(0, 100),
        rule_fires=st.dictionaries(NAMES, st.integers(0, 10), max_size=3).map(MappingProxyType),
        recent_rules=st.lists(st.sampled_from(["fallback", "clarify", "greeting"]), max_size=5).map(tuple),
    ),
    ticket=st.none() | tickets,
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(analyses, facts, st.booleans())
def test_decide_never_crashes(analysis: Analysis, facts: RuleFacts, explain: bool) -> None:
    decision = ENGINE.decide(analysis, facts, explain=explain)
    assert isinstance(decision, Decision)
    other = Engine(ruleset=RULESET, rng=random.Random(0)).decide(analysis, facts, explain=not explain)
    assert other.rules_fired == decision.rules_fired  # the fast path (intent index) agrees with the trace
    for action in decision.actions:
        if isinstance(action, Reply):
            assert action.template.strip()
    if explain and facts.event == "message" and facts.conversation.automated_replies < 25:
        assert len(decision.trace) == len(RULESET.by_event["message"])


@settings(max_examples=200, deadline=None)
@given(analyses, facts)
def test_every_message_gets_an_answer_from_the_example_shop(analysis: Analysis, facts: RuleFacts) -> None:
    """The example rulebook ends in catch-alls: a customer message is never met with silence."""
    message = RuleFacts(
        channel=facts.channel, customer=facts.customer, conversation=facts.conversation, now=facts.now
    )
    decision = ENGINE.decide(analysis, message)
    assert any(isinstance(a, Reply) for a in decision.actions), decision
