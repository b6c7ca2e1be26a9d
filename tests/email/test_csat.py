"""A solved ticket by email, through the real app and a real SMTP server (aiosmtpd): the solve
mail goes out before the rating mail, which asks for a numbered reply (a mail has no buttons);
the customer's "4" in reply is recorded once, and "thanks, all good now" keeps the ticket solved."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from connectors.email import EmailConnector
from tests.conftest import AppFactory
from tests.email.conftest import email_config
from tests.email.mails import make_mail
from tests.email.servers import SmtpRecorder
from tests.webchat.helpers import rows
from ticketing.models import Ticket, TicketEvent


def _plain(mail: EmailMessage) -> str:
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def test_solve_mail_then_a_numbered_rating_mail_answered_once(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    app, _client = await make_client(database_url, extra=email_config(port))
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector)
    await email.ingest(
        make_mail("can I bring my dog to the shop", subject="Dogs", message_id="<d1@example.com>")
    )
    [opened] = await recorder.wait_for(1)
    assert "T-1001" in _plain(opened)
    await app.ticketing.desk.solve("T-1001", actor="agent:ana")
    [_, solve, question] = await recorder.wait_for(3)
    assert "marked as solved" in _plain(solve)
    text = _plain(question)
    assert "How did we do with T-1001" in text and "Reply with one of: 1 / 2 / 3 / 4 / 5" in text
    assert question["Auto-Submitted"] == "auto-generated"

    rating = make_mail("4\n\nOn Monday Acme Support wrote:\n> How did we do", subject="Re: Dogs",
                       message_id="<d2@example.com>", in_reply_to=question["Message-ID"])  # fmt: skip
    assert (await email.ingest(rating)).outcome == "delivered"
    [*_, thanks] = await recorder.wait_for(4)
    assert app.ticketing.config().settings.csat.thanks in _plain(thanks)
    closing = make_mail("Thanks, all good now", subject="Re: Dogs", message_id="<d3@example.com>",
                        in_reply_to=thanks["Message-ID"])  # fmt: skip
    assert (await email.ingest(closing)).outcome == "delivered"
    [*_, last] = await recorder.wait_for(5)
    assert "stays solved" in _plain(last)
    [ticket] = await rows(app.engine, select(Ticket.id, Ticket.status, Ticket.csat_score))
    assert (ticket.status, ticket.csat_score) == ("solved", 4)
    kinds = select(TicketEvent.kind).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind.in_(("csat", "closing"))
    )
    assert [k for (k,) in await rows(app.engine, kinds.order_by(TicketEvent.id))] == ["csat", "closing"]
