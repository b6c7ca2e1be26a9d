"""A mail has no buttons: a customer who answers our reply with one of its labels sends that
button's payload, as pressing it in the web chat would."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import select

from connectors.email import EmailConnector
from connectors.email.translate import answered_button
from core.contracts import QuickReply
from tests.conftest import ROOT, AppFactory
from tests.email.conftest import email_config
from tests.email.mails import make_mail
from tests.email.servers import SmtpRecorder
from tests.webchat.helpers import rows
from ticketing.models import Interaction

BUTTONS = (QuickReply("Where is my order?", "Where is my order?"), QuickReply("Option B", "I want a refund"))


def test_the_label_alone_in_any_case_with_our_bullet_or_a_full_stop_is_the_payload() -> None:
    for said in ("Option B", "option b", "  * Option  B.\n", "'Option B'", "- option b!"):
        assert answered_button(said, BUTTONS) == "I want a refund", said


def test_anything_more_than_a_label_is_the_customers_own_text() -> None:
    for said in ("Option B please, and also my invoice", "Option", "", "*", "B"):
        assert answered_button(said, BUTTONS) is None, said
    assert answered_button("Option B", ()) is None
    assert answered_button("Option B " * 50, BUTTONS) is None


async def test_a_mail_answering_our_reply_with_a_label_is_its_payload(
    database_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int], tmp_path: Path
) -> None:
    recorder, port = smtp
    rulebook = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", rulebook)
    rules = rulebook / "rules.yml"
    # The greeting's buttons (a label per language, one per line) become two English buttons.
    offered = re.search(r"^          buttons:.*\n(?:            - .*\n)+", rules.read_text(), re.MULTILINE)
    assert offered is not None
    rules.write_text(
        rules.read_text().replace(
            offered.group(0),
            '          buttons: ["Where is my order?", '
            '{label: "Option B", payload: "How do I return an item?"}]\n',
        )
    )
    app, _client = await make_client(database_url, extra=email_config(port), rulebook=rulebook)
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector)
    await email.ingest(make_mail("hello", subject="Hi", message_id="<h1@example.com>"))
    [greeting] = await recorder.wait_for(1)
    plain = greeting.get_body(("plain",))
    assert plain is not None and "Option B" in plain.get_content()

    answer = make_mail(
        "* option b.\n", subject="Re: Hi", message_id="<h2@example.com>", in_reply_to=greeting["Message-ID"]
    )
    assert (await email.ingest(answer)).outcome == "delivered"
    [_, reply] = await recorder.wait_for(2)
    plain = reply.get_body(("plain",))
    assert plain is not None and "within 30 days" in plain.get_content()  # the returns FAQ
    inbound = select(Interaction.text).where(Interaction.direction == "in").order_by(Interaction.id)
    assert [text for (text,) in await rows(app.engine, inbound)] == ["hello", "How do I return an item?"]

    # The same words in a new mail (answering nothing of ours) are the customer's own.
    await email.ingest(make_mail("Option B", subject="New", message_id="<h3@example.com>"))
    await recorder.wait_for(3)
    assert [text for (text,) in await rows(app.engine, inbound)][-1] == "Option B"
