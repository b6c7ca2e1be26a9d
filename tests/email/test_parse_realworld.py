"""Real-world mail shapes that used to be misread (hardening issue, bug 8).

Each mail is raw bytes as mail software writes them. The parser and the quote stripper are
pure functions, so most cases check them directly; the last ones go through the real app
(``EmailConnector.ingest``) to pin what is stored and what is quarantined.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.email import EmailConnector
from connectors.email.parse import Unparseable, parse_mail
from connectors.email.quotes import strip_quotes
from tests.conftest import AppFactory
from tests.email.conftest import email_config
from tests.email.servers import SmtpRecorder
from tests.webchat.helpers import rows
from ticketing.models import Interaction


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("ascii")


HEAD = (
    "From: Bernd <b@example.com>\n"
    "To: support@acme.example\n"
    "Subject: Rechnung\n"
    "Date: Thu, 12 Mar 2026 10:20:00 +0100\n"
    "Message-ID: <{mid}@example.com>\n"
    "MIME-Version: 1.0\n"
)

SIGNATURE_TEXT_AND_FULL_HTML = crlf(
    HEAD.format(mid="alt1") + 'Content-Type: multipart/alternative; boundary="b1"\n'
    "\n"
    "--b1\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Bernd Mueller | Einkauf | +49 30 1234567\n"
    "--b1\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<html><body><p>Hello,</p><p>the invoice for order 4711 shows the wrong delivery address;"
    " please send a corrected invoice to our Berlin office and cancel the old one.</p>"
    "<p>Thank you!</p><p>Bernd Mueller | Einkauf | +49 30 1234567</p></body></html>\n"
    "--b1--\n"
)


def test_html_part_with_much_more_text_wins_over_a_signature_only_text_part() -> None:
    mail = parse_mail(SIGNATURE_TEXT_AND_FULL_HTML)
    assert "wrong delivery address" in mail.text
    assert "corrected invoice" in mail.text


def test_a_full_text_part_is_still_preferred_to_its_html_twin() -> None:
    """A guard: this shape was already handled; the change must keep it so."""
    raw = crlf(
        HEAD.format(mid="alt2") + 'Content-Type: multipart/alternative; boundary="b1"\n'
        "\n"
        "--b1\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "Hello, where is my parcel? See https://track.example/a/very/long/path/123456789\n"
        "--b1\n"
        "Content-Type: text/html; charset=utf-8\n"
        "\n"
        '<p>Hello, where is my <b>parcel</b>? See <a href="https://track.example/a/very/long/'
        'path/123456789">tracking</a></p>\n'
        "--b1--\n"
    )
    assert parse_mail(raw).text == (
        "Hello, where is my parcel? See https://track.example/a/very/long/path/123456789"
    )


def test_comma_inside_an_encoded_display_name_keeps_the_whole_name() -> None:
    raw = crlf(
        "From: =?utf-8?q?M=C3=BCller=2C_Bernd?= <b@example.com>\n"
        "To: support@acme.example, =?utf-8?q?Doe=2C_Jane?= <jane@example.com>\n"
        "Subject: Hallo\n"
        "Message-ID: <name1@example.com>\n"
        "\n"
        "Hallo\n"
    )
    mail = parse_mail(raw)
    assert mail.from_name == "Müller, Bernd"
    assert mail.from_address == "b@example.com"
    assert mail.to_addresses == ("support@acme.example", "jane@example.com")


def test_body_without_a_declared_charset_is_detected() -> None:
    body = (
        "Sehr geehrte Damen und Herren,\n"
        "ich möchte meine Bestellung über 89 € zurückgeben, die Größe passt nicht.\n"
        "Mit freundlichen Grüßen\n"
        "Jürgen Weiß\n"
    )
    raw = crlf(
        "From: Juergen <j@example.com>\n"
        "Subject: Rueckgabe\n"
        "Message-ID: <cs1@example.com>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain\n"
        "Content-Transfer-Encoding: 8bit\n"
        "\n"
    ) + body.replace("\n", "\r\n").encode("cp1252")
    text = parse_mail(raw).text
    assert "\ufffd" not in text
    assert "möchte meine Bestellung über 89 € zurückgeben, die Größe passt" in text
    assert "Grüßen" in text and "Weiß" in text


def test_german_reply_header_and_its_quote_are_stripped() -> None:
    """A guard: this shape was already handled; the change must keep it so."""
    text = (
        "Danke, das hat geklappt.\n"
        "\n"
        "Am 12.03.2026 um 10:15 schrieb Support <support@acme.example>:\n"
        "> Bitte starten Sie den Router neu.\n"
        "> Ihr Support-Team\n"
    )
    assert strip_quotes(text) == "Danke, das hat geklappt."


def test_german_reply_header_wrapped_by_the_client_is_stripped() -> None:
    """A guard: this shape was already handled; the change must keep it so."""
    text = (
        "Danke, das hat geklappt.\n"
        "\n"
        "Am Do., 12. März 2026 um 10:15 Uhr schrieb Acme Support <\n"
        "support@acme.example>:\n"
        "\n"
        "Bitte starten Sie den Router neu.\n"
    )
    assert strip_quotes(text) == "Danke, das hat geklappt."


def test_german_reply_header_wrapped_over_three_lines_is_stripped() -> None:
    text = (
        "Danke, das hat geklappt.\n"
        "\n"
        "Am Donnerstag, 12. März 2026, 10:15:04 CET schrieb Acme\n"
        "Kundenservice Support-Team <\n"
        "support@acme.example>:\n"
        "Bitte starten Sie den Router neu.\n"
    )
    assert strip_quotes(text) == "Danke, das hat geklappt."


def test_german_gmx_header_block_is_stripped() -> None:
    text = (
        "Danke, das hat geklappt.\n"
        "\n"
        "Gesendet: Donnerstag, 12. März 2026 um 10:15 Uhr\n"
        'Von: "Acme Support" <support@acme.example>\n'
        "An: b@example.com\n"
        "Betreff: Re: [T-1042] Router\n"
        "Bitte starten Sie den Router neu.\n"
    )
    assert strip_quotes(text) == "Danke, das hat geklappt."


def test_german_reply_header_with_a_comma_before_schrieb_is_stripped() -> None:
    """A guard: this shape was already handled; the change must keep it so."""
    text = "Geht wieder.\n\nAm 12.03.2026, 10:15, schrieb Support:\nBitte starten Sie neu.\n"
    assert strip_quotes(text) == "Geht wieder."


def test_lotus_domino_reply_block_is_stripped() -> None:
    text = (
        "The router works again, thanks.\n"
        "\n"
        '-----"Acme Support" <support@acme.example> wrote: -----\n'
        "To: Bernd Mueller/DE/Example@Example\n"
        'From: "Acme Support" <support@acme.example>\n'
        "Date: 03/12/2026 10:15AM\n"
        "Subject: Re: [T-1042] Router\n"
        "\n"
        "Please restart the router.\n"
    )
    assert strip_quotes(text) == "The router works again, thanks."


def test_lotus_domino_header_block_without_the_separator_is_stripped() -> None:
    text = (
        "The router works again, thanks.\n"
        "\n"
        "To: Bernd Mueller/DE/Example@Example\n"
        'From: "Acme Support" <support@acme.example>\n'
        "Date: 03/12/2026 10:15AM\n"
        "Subject: Re: [T-1042] Router\n"
        "\n"
        "Please restart the router.\n"
    )
    assert strip_quotes(text) == "The router works again, thanks."


UUENCODED = crlf(
    HEAD.format(mid="uu1") + "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "Here is the log you asked for.\n"
    "\n"
    "begin 644 file.txt\n"
    '6:&5L;&\\@=V]R;&0L(&QO9R!L:6YE"@``\n'
    "`\n"
    "end\n"
    "\n"
    "Regards, Bernd\n"
)


def test_inline_uuencode_becomes_an_attachment() -> None:
    mail = parse_mail(UUENCODED)
    assert "begin 644" not in mail.text and "end" not in mail.text.split()
    assert mail.text == "Here is the log you asked for.\n\nRegards, Bernd"
    [part] = mail.attachments
    assert part.filename == "file.txt"
    assert part.content_type == "text/plain"
    assert part.data == b"hello world, log line\n"


def test_text_that_only_looks_like_uuencode_stays_text() -> None:
    raw = crlf(
        HEAD.format(mid="uu2") + "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        "begin 644 is the mode I set on the file\n"
        "and it still fails.\n"
    )
    mail = parse_mail(raw)
    assert mail.text == "begin 644 is the mode I set on the file\nand it still fails."
    assert mail.attachments == ()


FORWARDED = crlf(
    HEAD.format(mid="fwd1") + 'Content-Type: multipart/mixed; boundary="m1"\n'
    "\n"
    "--m1\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "See the mail from our supplier below.\n"
    "--m1\n"
    "Content-Type: message/rfc822\n"
    "Content-Disposition: inline\n"
    "\n"
    "From: Supplier <s@supplier.example>\n"
    "Subject: Delivery delayed\n"
    "Message-ID: <inner@supplier.example>\n"
    "Content-Type: text/plain\n"
    "\n"
    "Your delivery is delayed by two weeks.\n"
    "--m1--\n"
)


def test_forwarded_message_is_an_attachment_named_by_its_subject() -> None:
    mail = parse_mail(FORWARDED)
    assert mail.text == "See the mail from our supplier below."
    [part] = mail.attachments
    assert part.filename == "Delivery delayed.eml"
    assert part.content_type == "message/rfc822"
    assert b"Your delivery is delayed by two weeks." in part.data
    assert parse_mail(part.data).subject == "Delivery delayed"


@pytest.mark.parametrize(
    "sender",
    ['"a b"@example.com', "ada @example.com", "Ada <ada @example.com>", "Ada <ada@exa mple.com>"],
)
def test_sender_address_with_spaces_is_refused(sender: str) -> None:
    raw = crlf(f"From: {sender}\nSubject: Hi\nMessage-ID: <sp1@example.com>\n\nHello\n")
    with pytest.raises(Unparseable, match=r"sender address .* spaces"):
        parse_mail(raw)


async def test_through_the_app_html_forward_and_uuencode_are_stored_and_bad_senders_quarantined(
    sqlite_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    app, _client = await make_client(sqlite_url, extra=email_config(smtp[1]))
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector)
    for raw in (SIGNATURE_TEXT_AND_FULL_HTML, FORWARDED, UUENCODED):
        assert (await email.ingest(raw)).outcome == "delivered"
    bad = crlf("From: ada @example.com\nSubject: Hi\nMessage-ID: <sp2@example.com>\n\nHello\n")
    result = await email.ingest(bad)
    assert result.outcome == "quarantined"
    assert "spaces" in result.detail
    stored = await rows(
        app.engine,
        select(Interaction.text, Interaction.attachments)
        .where(Interaction.direction == "in")
        .order_by(Interaction.id),
    )
    assert "corrected invoice" in stored[0].text
    assert stored[1].text == "See the mail from our supplier below."
    assert [a["filename"] for a in stored[1].attachments] == ["Delivery delayed.eml", "original.eml"]
    assert "begin 644" not in stored[2].text
    assert [a["filename"] for a in stored[2].attachments] == ["file.txt", "original.eml"]
