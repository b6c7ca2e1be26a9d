"""Every bookkeeping action of a rule, executed by the real app (web chat over loopback, both
engines): tags and attributes on the customer, ticket tags, notes, Slack notifications, closing.
The rulebook is written for the test so each action has a rule that triggers it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.conftest import AppFactory
from tests.webchat.helpers import rows, send, start_session
from tests.webchat.test_messages import conversation_pk
from ticketing.models import Conversation, Customer, Ticket, TicketEvent

RULES = """
rules:
  - name: vip
    when: {text: {contains: [vip]}}
    then:
      - open_ticket: {subject: "VIP", tags: [hot]}
      - tag: {customer: [vip, newcomer], ticket: [priority-lane]}
      - untag: {customer: [newcomer]}
      - set_attribute: {plan: gold}
      - add_note: "VIP asked"
      - notify: {slack: "#vip", text: "VIP waiting"}
      - reply: "Ticket {ticket} is in the priority lane"
  - name: later
    when: {text: {contains: [later]}}
    then:
      - untag: {ticket: [hot]}
      - reply: "Noted on {ticket}"
  - name: bye
    when: {text: {contains: [bye]}}
    then:
      - reply: "Bye!"
      - close_conversation: true
  - name: catch_all
    then:
      - reply: "Tell me more"
"""


def rulebook(tmp_path: Path) -> Path:
    directory = tmp_path / "rulebook"
    directory.mkdir()
    (directory / "faq.yml").write_text(
        "faq:\n  - id: hours\n    questions: [When are you open?]\n    answer: Always.\n"
    )
    (directory / "rules.yml").write_text(RULES)
    return directory


async def test_bookkeeping_actions_reach_the_records(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    app, client = await make_client(database_url, rulebook=rulebook(tmp_path))
    visitor = await start_session(client)
    pk = await conversation_pk(app, visitor.conversation_id)

    body = await send(client, visitor, "I am a vip customer")
    assert [r["text"] for r in body["replies"]] == ["Ticket T-1001 is in the priority lane"]
    [(customer_id, tags, attributes)] = await rows(
        app.engine,
        select(Customer.id, Customer.tags, Customer.attributes)
        .join(Conversation, Conversation.customer_id == Customer.id)
        .where(Conversation.id == pk),
    )
    assert tags == ["vip"] and attributes == {"plan": "gold"}
    [(ticket_id, ticket_tags)] = await rows(app.engine, select(Ticket.id, Ticket.tags))
    assert ticket_tags == ["hot", "priority-lane"]
    events = await rows(
        app.engine, select(TicketEvent.kind, TicketEvent.data).where(TicketEvent.actor == "rule:vip")
    )
    assert ("note", {"text": "VIP asked"}) in events
    assert ("notify", {"slack": "#vip", "text": "VIP waiting"}) in events

    body = await send(client, visitor, "I will come back later")
    assert body["replies"][0]["text"] == "Noted on T-1001"
    assert await rows(app.engine, select(Ticket.tags).where(Ticket.id == ticket_id)) == [(["priority-lane"],)]

    await send(client, visitor, "bye")
    assert await rows(app.engine, select(Conversation.status).where(Conversation.id == pk)) == [("closed",)]
    body = await send(client, visitor, "one more thing")  # writing again reopens the conversation
    assert body["replies"][0]["text"] == "Tell me more"
    assert await rows(app.engine, select(Conversation.status).where(Conversation.id == pk)) == [("open",)]
    assert customer_id  # the same customer record throughout
