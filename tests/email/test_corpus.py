"""Every raw mail in tests/email/corpus is ingested or quarantined; none crashes the channel.

The corpus (see corpus/LICENSES) mixes CPython's email test messages with mails written to
reproduce what arrives in the wild. Expectations for the latter pin the decoding: charsets,
transfer encodings, RFC 2047 headers, HTML-only bodies, quotes and signatures stripped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.email import EmailConnector
from connectors.email.classify import classify
from connectors.email.parse import Unparseable, parse_mail
from connectors.email.quotes import strip_quotes
from tests.conftest import AppFactory
from tests.email.conftest import SUPPORT, email_config
from tests.email.servers import SmtpRecorder
from tests.webchat.helpers import rows
from ticketing.models import Interaction

CORPUS = Path(__file__).parent / "corpus"
MAILS = sorted(CORPUS.rglob("*.eml"))


def test_corpus_is_not_empty() -> None:
    assert len(MAILS) >= 60


async def test_every_mail_is_ingested_or_quarantined(
    sqlite_url: str, make_client: AppFactory, smtp: tuple[SmtpRecorder, int]
) -> None:
    app, _client = await make_client(sqlite_url, extra=email_config(smtp[1]))
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector)
    outcomes = {}
    for path in MAILS:
        result = await email.ingest(path.read_bytes())  # any exception fails the test
        outcomes[path.relative_to(CORPUS).as_posix()] = result.outcome
    assert set(outcomes.values()) <= {"delivered", "duplicate", "ignored", "quarantined"}
    assert outcomes["frontdesk/garbage-not-a-mail.eml"] == "quarantined"
    assert outcomes["frontdesk/no-sender.eml"] == "quarantined"
    assert outcomes["frontdesk/bounce-dsn.eml"] == "ignored"
    assert outcomes["frontdesk/out-of-office.eml"] == "ignored"
    assert outcomes["frontdesk/mailing-list.eml"] == "ignored"
    assert outcomes["frontdesk/iso-2022-jp.eml"] == "delivered"
    texts = [
        r.text for r in await rows(app.engine, select(Interaction.text).where(Interaction.direction == "in"))
    ]
    assert all("\ufffd" not in t for t in texts if "caf" not in t and "Hello world" not in t)


def parsed(name: str):  # type: ignore[no-untyped-def]
    return parse_mail((CORPUS / "frontdesk" / name).read_bytes())


def test_iso_2022_jp_body_and_headers() -> None:
    mail = parsed("iso-2022-jp.eml")
    assert mail.from_name == "山田太郎"
    assert mail.subject == "配送について"
    assert mail.text.strip() == "注文した商品がまだ届きません。確認していただけますか\uff1f"


def test_gb2312_with_gbk_characters_in_base64() -> None:
    mail = parsed("gb2312-base64.eml")
    assert mail.subject == "订单查询"
    assert "镕" in mail.text and "订单" in mail.text


def test_windows_1252_quoted_printable_reply_is_stripped() -> None:
    mail = parsed("windows-1252-qp-reply.eml")
    assert mail.from_name == "Zoë Müller"
    assert "“winter jacket” I ordered costs 89€" in mail.text
    stripped = strip_quotes(mail.text)
    assert stripped.endswith("Cheers,\nZoë")
    assert "shipped" not in stripped and "Acme fan" not in stripped
    assert mail.in_reply_to == ("<frontdesk.7.0123456789abcdef@acme.example>",)


def test_html_only_mail_becomes_text_without_the_quote() -> None:
    mail = parsed("html-only-gmail.eml")
    text = strip_quotes(mail.text)
    assert 'where is my parcel? Tracking says "delivered" but nothing arrived.' in text
    assert "on its way" not in text and "color" not in text


def test_raw_8bit_headers_and_missing_message_id() -> None:
    mail = parsed("no-message-id-8bit-headers-lf.eml")
    assert mail.subject == "Größe ändern"
    assert mail.from_name == "Jürgen"
    assert mail.message_id is None and mail.dedup_key.startswith("sha256:")


def test_korean_outlook_reply_block_is_stripped() -> None:
    mail = parsed("outlook-korean.eml")
    assert mail.subject == "주문 취소"
    assert strip_quotes(mail.text) == "주문 취소하고 싶습니다."


def test_unknown_charsets_degrade_instead_of_failing() -> None:
    mail = parsed("unknown-charset.eml")
    assert "caf" in mail.text and "au lait" in mail.text


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("bounce-dsn.eml", "bounce"),
        ("out-of-office.eml", "auto-reply"),
        ("vacation-precedence.eml", "mailing-list"),
        ("mailing-list.eml", "mailing-list"),
        ("iso-2022-jp.eml", None),
    ],
)
def test_classification(name: str, kind: str | None) -> None:
    assert classify(parsed(name), own_address=SUPPORT) == kind


def test_not_a_mail_is_unparseable() -> None:
    with pytest.raises(Unparseable):
        parsed("garbage-not-a-mail.eml")
