"""Every condition and action of the rule language, through Engine.decide with hand-built inputs."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from rules.decision import (
    Acknowledge,
    AddNote,
    CloseConversation,
    HandOff,
    NotifySlack,
    OpenTicket,
    QuickReplyButton,
    Reply,
    SetAttribute,
    Tag,
    Untag,
)
from rules.facts import ConversationFacts, CustomerFacts, TicketFacts
from rules.templates import render
from tests.rules.helpers import CLOSED, OPEN, analysis, engine, facts


def one_rule(tmp_path: Path, when: str) -> object:
    return engine(tmp_path, f"rules:\n  - name: r\n    when: {when}\n    then: [{{reply: matched}}]\n")


@pytest.mark.parametrize(
    ("when", "yes", "no"),
    [
        ("{channel: [email, telegram]}", facts(channel="email"), facts(channel="webchat")),
        ("{customer: {tag: vip}}", facts(customer=CustomerFacts(tags=frozenset({"vip"}))), facts()),
        (
            "{customer: {attribute: {name: plan, equals: gold}}}",
            facts(customer=CustomerFacts(attributes=MappingProxyType({"plan": "Gold"}))),
            facts(customer=CustomerFacts(attributes=MappingProxyType({"plan": "basic"}))),
        ),
        (
            "{customer: {attribute: {name: plan, present: false}}}",
            facts(),
            facts(customer=CustomerFacts(attributes=MappingProxyType({"plan": "x"}))),
        ),
        ("{customer: {first_contact: true}}", facts(customer=CustomerFacts(first_contact=True)), facts()),
        ("{customer: {open_tickets: {min: 2}}}", facts(customer=CustomerFacts(open_tickets=2)), facts()),
        (
            "{conversation: {handed_off: true}}",
            facts(conversation=ConversationFacts(handed_off=True)),
            facts(),
        ),
        (
            "{conversation: {turns: {min: 2, max: 3}}}",
            facts(conversation=ConversationFacts(turns=3)),
            facts(),
        ),
        ("{conversation: {language: de}}", facts(conversation=ConversationFacts(language="de")), facts()),
        (
            "{conversation: {has_open_ticket: true}}",
            facts(conversation=ConversationFacts(has_open_ticket=True)),
            facts(),
        ),
        ("{time: {business_hours: shop}}", facts(now=OPEN), facts(now=CLOSED)),
        ("{time: {outside_business_hours: shop}}", facts(now=CLOSED), facts(now=OPEN)),
        ("{time: {weekday: [sun], timezone: Europe/Berlin}}", facts(now=CLOSED), facts(now=OPEN)),
        ("{time: {between: '10:00-12:00', timezone: Europe/Berlin}}", facts(now=OPEN), facts(now=CLOSED)),
    ],
)
def test_fact_conditions(tmp_path: Path, when: str, yes: object, no: object) -> None:
    e = one_rule(tmp_path, when)
    assert e.decide(analysis(), yes).rules_fired == ("r",)  # type: ignore[attr-defined]
    traced = e.decide(analysis(), no, explain=True)  # type: ignore[attr-defined]
    assert traced.rules_fired == ()
    assert traced.trace[0].reason.startswith("needs ")


@pytest.mark.parametrize(
    ("when", "yes", "no"),
    [
        ("{intent: order_status}", analysis(intent="order_status"), analysis(intent="refund")),
        (
            "{intent: {is: [a, b], min_confidence: 0.7}}",
            analysis(intent="b", confidence=0.8),
            analysis(intent="b", confidence=0.5),
        ),
        (
            "{intent: {best_guess: true, min_confidence: 0.3}}",
            analysis(intents=(("x", 0.4),)),
            analysis(intents=(("x", 0.2),)),
        ),
        ("{out_of_scope: true}", analysis(), analysis(intent="greet")),
        ("{sentiment: negative}", analysis(sentiment=-0.5), analysis(sentiment=0.1)),
        ("{sentiment: {max: -0.6}}", analysis(sentiment=-0.7), analysis(sentiment=-0.5)),
        ("{entity: order_ref}", analysis(entities={"order_ref": "123"}), analysis()),
        (
            "{entity: {type: email, equals: a@b.c}}",
            analysis(entities={"email": "A@b.c"}),
            analysis(entities={"email": "x@y.z"}),
        ),
        (
            "{entity: {type: order_ref, matches: 'A-\\d+'}}",
            analysis(entities={"order_ref": "A-12"}),
            analysis(entities={"order_ref": "12"}),
        ),
        ("{faq: {min_score: 0.8}}", analysis(faq=(("shipping", 0.9),)), analysis(faq=(("shipping", 0.5),))),
        (
            "{faq: {id: shipping}}",
            analysis(faq=(("shipping", 0.5),)),
            analysis(faq=(("opening_hours", 0.9),)),
        ),
        ("{text: refund}", analysis("I want a REFUND"), analysis("hello")),
        ("{text: {contains: Refund, case_sensitive: true}}", analysis("Refund"), analysis("refund")),
        ("{text: {regex: '\\border\\s+\\d+'}}", analysis("order 123"), analysis("order abc")),
        ("{all: [{intent: greet}, {channel: webchat}]}", analysis(intent="greet"), analysis(intent="bye")),
        ("{any: [{intent: greet}, {text: hi}]}", analysis("hi there"), analysis("yo")),
        ("{not: {intent: greet}}", analysis(intent="bye"), analysis(intent="greet")),
    ],
)
def test_analysis_conditions(tmp_path: Path, when: str, yes: object, no: object) -> None:
    e = one_rule(tmp_path, when)
    assert e.decide(yes, facts()).rules_fired == ("r",)  # type: ignore[attr-defined]
    traced = e.decide(no, facts(), explain=True)  # type: ignore[attr-defined]
    assert traced.rules_fired == ()
    assert traced.trace[0].reason


def ticket(**kw: object) -> TicketFacts:
    base: dict[str, object] = {"reference": "T-1001", "status": "open", "priority": "normal"}
    return TicketFacts(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("when", "yes", "no"),
    [
        ("{ticket: {status: solved}}", ticket(status="solved"), ticket()),
        (
            "{ticket: {status: {changed: true}}}",
            ticket(previous=MappingProxyType({"status": "new"})),
            ticket(),
        ),
        (
            "{ticket: {status: {changed_from: new, changed_to: solved}}}",
            ticket(status="solved", previous=MappingProxyType({"status": "new"})),
            ticket(status="solved", previous=MappingProxyType({"status": "pending"})),
        ),
        (
            "{ticket: {priority: {changed_to: urgent}}}",
            ticket(priority="urgent", previous=MappingProxyType({"priority": "high"})),
            ticket(priority="urgent"),
        ),
        ("{ticket: {queue: returns}}", ticket(queue="returns"), ticket()),
        ("{ticket: {tag: vip}}", ticket(tags=frozenset({"vip"})), ticket()),
        (
            "{ticket: {tag_added: vip}}",
            ticket(tags=frozenset({"vip"}), previous_tags=frozenset()),
            ticket(tags=frozenset({"vip"})),
        ),
    ],
)
def test_ticket_conditions(tmp_path: Path, when: str, yes: TicketFacts, no: TicketFacts) -> None:
    e = engine(
        tmp_path, f"rules:\n  - name: r\n    event: ticket\n    when: {when}\n    then: [{{add_note: hit}}]\n"
    )
    assert e.decide(analysis(""), facts(event="ticket", ticket=yes)).rules_fired == ("r",)
    assert e.decide(analysis(""), facts(event="ticket", ticket=no)).rules_fired == ()
    assert e.decide(analysis(""), facts()).rules_fired == ()  # ticket rules never see messages


ALL_ACTIONS = """
settings:
  intent_labels: {order_status: Where is my order?, refund: Returns & refunds}
rules:
  - name: everything
    then:
      - reply:
          text: ["Hi {customer.first_name|there}, order {entity.order_ref} ({ticket})"]
          buttons: ["Yes", {label: "No thanks", payload: "no"}]
      - answer_faq: true
      - clarify: true
      - open_ticket: {subject: "Order {entity.order_ref}", queue: orders, priority: high, tags: [order]}
      - add_note: "intent {intent|none}"
      - tag: {customer: [vip], ticket: [hot]}
      - untag: {customer: [new]}
      - set_attribute: {last_order: "{entity.order_ref}"}
      - hand_off: {note: needs a person}
      - notify: {slack: "#support", text: "{customer.name} on {channel}"}
      - close_conversation: true
"""


def test_every_action(tmp_path: Path) -> None:
    e = engine(tmp_path, ALL_ACTIONS)
    a = analysis(
        "order 42?",
        intents=(("order_status", 0.5), ("refund", 0.3)),
        entities={"order_ref": "42"},
        faq=(("shipping", 0.95),),
    )
    got = e.decide(a, facts(customer=CustomerFacts(name="Ana Lima"))).actions
    assert got == (
        Reply(
            "Hi Ana, order 42 ({ticket})",
            (QuickReplyButton("Yes", "Yes"), QuickReplyButton("No thanks", "no")),
        ),
        Reply("answer of shipping"),
        Reply(
            "I'm not quite sure what you mean. Is it one of these?",
            (
                QuickReplyButton("Where is my order?", "Where is my order?"),
                QuickReplyButton("Returns & refunds", "Returns & refunds"),
            ),
        ),
        OpenTicket(subject="Order 42", queue="orders", priority="high", tags=("order",)),
        AddNote("intent none"),
        Tag("customer", ("vip",)),
        Tag("ticket", ("hot",)),
        Untag("customer", ("new",)),
        SetAttribute("last_order", "42"),
        HandOff("needs a person"),
        NotifySlack("support", "Ana Lima on webchat"),
        CloseConversation(),
    )


def test_answer_faq_below_threshold_is_skipped_and_traced(tmp_path: Path) -> None:
    e = engine(tmp_path, "rules:\n  - name: f\n    then: [{answer_faq: {min_score: 0.9}}]\n")
    decision = e.decide(analysis(faq=(("shipping", 0.85),)), facts())
    assert decision.actions == (NOT_ACKNOWLEDGED,)  # nothing said, and that is recorded
    assert "answer_faq skipped" in decision.trace[0].reason


def test_per_language_variants(tmp_path: Path) -> None:
    e = engine(tmp_path, "rules:\n  - name: g\n    then: [{reply: {text: {en: Hello, de: Hallo}}}]\n")
    assert e.decide(analysis(language="de"), facts()).actions == (Reply("Hallo"),)
    assert e.decide(analysis(language="fr"), facts()).actions == (Reply("Hello"),)
    german = facts(conversation=ConversationFacts(language="de"))
    assert e.decide(analysis(), german).actions == (Reply("Hallo"),)


def test_response_key_variants_are_random_but_seeded(tmp_path: Path) -> None:
    e = engine(
        tmp_path,
        "rules:\n  - name: g\n    then: [{reply: {response: hello}}]\n",
        responses="responses:\n  hello: [one, two, three]\n",
    )
    seen = {e.decide(analysis(), facts()).actions[0].template for _ in range(50)}  # type: ignore[union-attr]
    assert seen == {"one", "two", "three"}


def test_stop_and_continue(tmp_path: Path) -> None:
    e = engine(
        tmp_path,
        """
        rules:
          - name: log
            then: [{tag: seen}]
            continue: true
          - name: greet
            when: {intent: greet}
            then: [{reply: hi}]
          - name: fallback
            then: [{reply: sorry}]
        """,
    )
    decision = e.decide(analysis(intent="greet"), facts(), explain=True)
    assert decision.rules_fired == ("log", "greet")
    assert decision.rule == "log+greet"
    assert [t.matched for t in decision.trace] == [True, True, False]
    assert decision.trace[2].reason == "not evaluated: rule 'greet' stopped"


# A decision without a reply, on a conversation without a ticket, in a rulebook without an
# acknowledge.without_ticket response: the silence is recorded (rules/acknowledge.py).
NOT_ACKNOWLEDGED = Acknowledge(None, "no ticket and no acknowledge.without_ticket response")


def test_no_rule_matched(tmp_path: Path) -> None:
    decision = one_rule(tmp_path, "{intent: greet}").decide(analysis(), facts())  # type: ignore[attr-defined]
    assert decision.actions == (NOT_ACKNOWLEDGED,) and decision.reason == "no rule matched"


LOOPY = """
rules:
  - name: ask
    when: {out_of_scope: true}
    then: [{reply: "could you rephrase?"}]
    max_fires: 5
  - name: give_up
    then: [{hand_off: true}]
  - name: bump
    event: ticket
    then: [{tag: {ticket: [bumped]}}]
"""


def test_loop_guard_repeats(tmp_path: Path) -> None:
    e = engine(tmp_path, LOOPY)
    twice = facts(conversation=ConversationFacts(recent_rules=("x", "ask", "ask")))
    assert e.decide(analysis(), twice).rules_fired == ("ask",)
    thrice = facts(conversation=ConversationFacts(recent_rules=("ask", "ask", "ask")))
    decision = e.decide(analysis(), thrice, explain=True)
    assert decision.rules_fired == ("give_up",)
    assert "max_repeats" in decision.trace[0].reason


def test_loop_guard_max_fires(tmp_path: Path) -> None:
    e = engine(tmp_path, LOOPY)
    spent = facts(conversation=ConversationFacts(rule_fires=MappingProxyType({"ask": 5})))
    assert e.decide(analysis(), spent).rules_fired == ("give_up",)


def test_loop_guard_ticket_chain(tmp_path: Path) -> None:
    e = engine(tmp_path, LOOPY)
    assert e.decide(analysis(""), facts(event="ticket", ticket=ticket())).rules_fired == ("bump",)
    own = facts(event="ticket", ticket=ticket(caused_by=("bump",)))
    assert e.decide(analysis(""), own).rules_fired == ()
    long_chain = facts(event="ticket", ticket=ticket(caused_by=("a", "b", "c")))
    assert "max_chain" in e.decide(analysis(""), long_chain).reason


def test_automated_reply_limit_hands_off(tmp_path: Path) -> None:
    e = engine(tmp_path, LOOPY)
    decision = e.decide(analysis(), facts(conversation=ConversationFacts(automated_replies=30)))
    assert decision.rule == "reply_limit"
    assert isinstance(decision.actions[0], Reply)
    assert isinstance(decision.actions[1], HandOff)


@pytest.mark.parametrize(
    "evil",
    [
        "{__class__}",
        "{customer.__class__.__mro__}",
        "{0}",
        "{message.__init__.__globals__}",
        "{{ 7*7 }}",
        "%(x)s",
    ],
)
def test_templates_are_sandboxed(evil: str) -> None:
    out = render(f"a {evil} b", {"message": "m"})
    assert "class" not in out or out == f"a {evil} b"
    assert "49" not in out and "function" not in out and "module" not in out


def test_customer_text_is_never_reinterpreted() -> None:
    assert render("You said: {message}", {"message": "{customer.email}", "customer.email": "x@y"}) == (
        "You said: {customer.email}"
    )
    assert render("Hi {customer.name|there}", {}) == "Hi there"
    assert render("Ticket {ticket}", {}) == "Ticket {ticket}"
