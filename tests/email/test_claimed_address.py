"""A web chat claim and real mail, through one real app: mail links only on verified addresses.

Before the fix, a visitor who typed an address nobody had yet became its owner
(``customers.email``), so the real owner's first mail was filed under the visitor's record;
and a visitor who typed a mail customer's address was moved onto that customer's record.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from connectors.email import EmailConnector
from tests.conftest import AppFactory
from tests.email.conftest import email_config
from tests.email.mails import make_mail
from tests.email.servers import SmtpRecorder
from tests.webchat.helpers import Visitor, rows, start_session
from ticketing.models import Conversation, Customer, Interaction

ADA = "ada@example.com"  # make_mail's sender


async def _start(database_url: str, make_client: AppFactory, port: int):  # type: ignore[no-untyped-def]
    app, client = await make_client(database_url, extra=email_config(port))
    connector = app.connectors["email"]
    assert isinstance(connector, EmailConnector)
    return app, client, connector


async def _customer(app: App, visitor: Visitor) -> int:
    found = await rows(
        app.engine, select(Conversation.customer_id).where(Conversation.public_id == visitor.conversation_id)
    )
    return int(found[0][0])


async def test_mail_from_an_address_a_visitor_claimed_gets_its_own_customer(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    app, client, email = await _start(database_url, make_client, port)
    a = await start_session(client)
    resp = await client.post("/api/v1/identify", json={"name": "Mallory", "email": ADA}, headers=a.auth)
    assert resp.status == 200, await resp.text()
    claimant = await _customer(app, a)

    result = await email.ingest(make_mail("what are your opening hours?", sender=ADA, name="Ada Lovelace"))
    assert result.outcome == "delivered"
    [reply] = await recorder.wait_for(1)
    assert reply["To"] == ADA

    [(mail_customer,)] = await rows(
        app.engine,
        select(Interaction.customer_id).where(Interaction.channel == "email", Interaction.direction == "in"),
    )
    assert mail_customer != claimant
    people = await rows(
        app.engine,
        select(Customer.id, Customer.display_name, Customer.email, Customer.claimed_email)
        .where(Customer.id.in_([claimant, mail_customer]))
        .order_by(Customer.id),
    )
    assert people == [(claimant, "Mallory", None, ADA), (mail_customer, "Ada Lovelace", ADA, None)]


async def test_a_visitor_claiming_a_mail_customers_address_learns_nothing_of_them(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    app, client, email = await _start(database_url, make_client, port)
    assert (
        await email.ingest(make_mail("my parcel is late", sender=ADA, name="Ada Lovelace"))
    ).outcome == "delivered"
    await recorder.wait_for(1)
    [(owner,)] = await rows(app.engine, select(Customer.id).where(Customer.email == ADA))

    a = await start_session(client)
    resp = await client.post("/api/v1/identify", json={"email": ADA.upper()}, headers=a.auth)
    assert resp.status == 200, await resp.text()
    assert "Lovelace" not in await resp.text()
    assert (await resp.json())["customer"] == {"name": None, "email": ADA}
    assert await _customer(app, a) != owner
    conversations = await rows(
        app.engine, select(Conversation.channel).where(Conversation.customer_id == owner)
    )
    assert conversations == [("email",)]

    # Ada's next mail still goes to Ada's record.
    assert (
        await email.ingest(make_mail("any news?", sender=ADA, name="Ada Lovelace"))
    ).outcome == "delivered"
    found = await rows(
        app.engine,
        select(Interaction.customer_id).where(Interaction.channel == "email", Interaction.direction == "in"),
    )
    assert found == [(owner,), (owner,)]
