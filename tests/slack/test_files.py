"""Files both ways: a customer's file (Telegram, email) is uploaded into the ticket's thread
through the fake's ``files_upload_v2`` calls; an agent's file in the thread reaches the customer
on web chat (a download URL of the conversation's own), Telegram (sendDocument/sendPhoto) and
email (a MIME attachment). Limits are refused with a clear message; retries never duplicate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError

from bot.app import App
from connectors.email import EmailConnector
from connectors.slack.config import FileSettings
from connectors.slack.translate import SlackFile, parse_thread_message
from connectors.telegram.connector import SECRET_HEADER
from core.contracts import utcnow
from core.roles import Role
from tests.conftest import AppFactory
from tests.email.conftest import email_config
from tests.email.servers import SmtpRecorder, smtp_server
from tests.slack.fake_api import BOT_TOKEN, FakeSlack
from tests.slack.helpers import PASSWORD, card_ts, in_thread, is_card, post_event, start
from tests.slack.payloads import thread_message
from tests.telegram.conftest import TOKEN
from tests.telegram.fake_api import FakeBotApi
from tests.telegram.updates import CUSTOMER, message
from tests.webchat.helpers import count, eventually, history, next_frame, send, start_session
from ticketing.models import Interaction

HUMAN = "I want to talk to a human about my broken parcel"
SECRET = "hook-secret_1"
PDF = b"%PDF-1.4 the agent's label " + bytes(range(256))
PNG = b"\x89PNG\r\n\x1a\n a photo of the label"


@pytest.fixture
async def telegram() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[SmtpRecorder, int]]:
    """A real SMTP server (aiosmtpd) on a loopback port, as tests/email uses."""
    recorder = SmtpRecorder()
    async with smtp_server(recorder) as port:
        yield recorder, port


async def _with_agent(app: App) -> None:
    await app.ticketing.roster.add_agent("alice", queues=["support"], display_name="Alice Agent")
    await app.accounts.add("alice", role=Role.AGENT, password=PASSWORD)


def file_message(slack: FakeSlack, ts: str, text: str, files: dict[str, tuple[bytes, str]]) -> dict[str, Any]:
    """An agent's ``file_share`` message in the thread ``ts``: ``name=(bytes, mimetype)``."""
    body = thread_message(text, thread_ts=ts)
    body["event"]["subtype"] = "file_share"
    body["event"]["files"] = [
        slack.add_file(name, data, mimetype=kind) for name, (data, kind) in files.items()
    ]
    return body


async def _telegram_app(
    database_url: str, make_client: AppFactory, slack: FakeSlack, telegram: FakeBotApi, **slack_config: str
) -> tuple[App, TestClient]:
    extra = slack.config(**slack_config) + telegram.config(mode="webhook", secret=SECRET)
    app, client = await make_client(database_url, extra=extra)
    await _with_agent(app)
    return app, client


async def _telegram_says(client: TestClient, update: dict[str, Any]) -> None:
    resp = await client.post("/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET})
    assert resp.status == 200, await resp.text()


async def test_telegram_files_both_ways(
    database_url: str, make_client: AppFactory, slack: FakeSlack, telegram: FakeBotApi
) -> None:
    app, client = await _telegram_app(database_url, make_client, slack, telegram)
    await _telegram_says(client, message(HUMAN))
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)

    # The customer sends a document; Slack is rate limited once and the upload POST fails once:
    # the file is shared into the thread once, with the customer's bytes.
    slack.rate_limit("files.completeUploadExternal", times=1)
    slack.fail_uploads = 1
    telegram.files["doc-9"] = b"%PDF-1.4 the customer's invoice"
    doc = {"file_id": "doc-9", "file_unique_id": "d9", "file_name": "invoice.pdf",
           "mime_type": "application/pdf", "file_size": 30}  # fmt: skip
    await _telegram_says(client, message(None, document=doc))
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "invoice.pdf"))
    [shared] = await slack.wait_for_shared()
    assert (shared.channel, shared.thread_ts, shared.title) == ("C0SUPPORT", ts, "invoice.pdf")
    assert shared.data == telegram.files["doc-9"]

    # The agent posts a PDF and a photo; Slack retries the event: each reaches the chat once.
    event = file_message(
        slack,
        ts,
        "Here is your return label",
        {"label.pdf": (PDF, "application/pdf"), "label.png": (PNG, "image/png")},
    )
    assert (await post_event(client, event)).status == 200
    assert (await post_event(client, event, **{"X-Slack-Retry-Num": "1"})).status == 200
    [document] = await telegram.wait_for("sendDocument")
    [photo] = await telegram.wait_for("sendPhoto")
    assert document.params["chat_id"] == str(CUSTOMER["id"])
    assert document.files["document"] == ("label.pdf", PDF)
    assert photo.files["photo"] == ("label.png", PNG)
    [text] = [c for c in telegram.calls_to("sendMessage") if "return label" in c.params["text"]]
    assert text.params["text"] == "Alice Agent:\nHere is your return label"
    assert {token for _id, token in slack.downloads} == {BOT_TOKEN}
    assert await count(app.engine, Interaction, Interaction.text == "Here is your return label") == 1
    assert len(slack.shared) == 1  # an agent's own file is never uploaded back into the thread
    assert len(telegram.calls_to("sendDocument")) == 1


async def test_customer_file_over_the_limit_is_named_in_the_thread(
    database_url: str, make_client: AppFactory, slack: FakeSlack, telegram: FakeBotApi
) -> None:
    app, client = await _telegram_app(database_url, make_client, slack, telegram, files="{max_bytes: 1KB}")
    await _telegram_says(client, message(HUMAN))
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    telegram.files["big-1"] = b"x" * 5000
    doc = {"file_id": "big-1", "file_unique_id": "b1", "file_name": "scan.pdf",
           "mime_type": "application/pdf", "file_size": 5000}  # fmt: skip
    await _telegram_says(client, message(None, document=doc))
    [line] = await slack.wait_for("chat.postMessage", where=in_thread(ts, "not uploaded here"))
    assert line.params["text"] == (
        ":paperclip: The customer sent *scan.pdf* (5 KB), not uploaded here: it is 5 KB, over the 1 KB limit"
    )
    await _telegram_says(client, message("and one more thing"))
    await slack.wait_for("chat.postMessage", where=in_thread(ts, "one more thing"))
    assert slack.calls_to("files.getUploadURLExternal") == [] and slack.shared == []


async def test_agent_files_over_the_limit_or_of_a_refused_type_are_refused_with_a_reason(
    database_url: str, make_client: AppFactory, slack: FakeSlack, telegram: FakeBotApi
) -> None:
    app, client = await _telegram_app(database_url, make_client, slack, telegram, files="{max_bytes: 1KB}")
    await _telegram_says(client, message(HUMAN))
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)

    files = {
        "setup.exe": (b"MZ" * 10, "application/x-msdownload"),
        "big.pdf": (b"%PDF" * 500, "application/pdf"),
    }
    assert (await post_event(client, file_message(slack, ts, "", files))).status == 200
    notes = await slack.wait_for("chat.postEphemeral", count=2)
    texts = sorted(str(n.params["text"]) for n in notes)
    assert texts == [
        ":no_entry: Not sent to the customer: big.pdf is 2 KB, over the 1 KB limit.",
        ":no_entry: Not sent to the customer: setup.exe is of type application/x-msdownload, "
        "which is not allowed.",
    ]
    assert all(n.params["user"] == "U0ALICE" and n.params["thread_ts"] == ts for n in notes)
    # With some text, the text goes and the refused file stays behind.
    event = file_message(slack, ts, "see attached", {"tool.exe": (b"MZ", "application/x-msdownload")})
    assert (await post_event(client, event)).status == 200
    await slack.wait_for("chat.postEphemeral", count=3)
    await telegram.wait_for("sendMessage", count=2)  # the bot's hand-off answer, then the reply
    assert telegram.calls_to("sendDocument") == [] and telegram.calls_to("sendPhoto") == []
    assert await count(app.engine, Interaction, Interaction.sender_role == "agent") == 1


def _mail_with_file(text: str, name: str, data: bytes, kind: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Ada Lovelace <ada@example.com>"
    mail["To"] = "support@acme.example"
    mail["Subject"] = "Broken parcel"
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = "<broken-1@example.com>"
    mail.set_content(text)
    maintype, subtype = kind.split("/")
    mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail.as_bytes()


async def test_email_files_both_ways(
    database_url: str, make_client: AppFactory, slack: FakeSlack, smtp: tuple[SmtpRecorder, int]
) -> None:
    recorder, port = smtp
    app, client = await make_client(database_url, extra=slack.config() + email_config(port))
    await _with_agent(app)
    email = app.connectors["email"]
    assert isinstance(email, EmailConnector)
    photo = b"\xff\xd8\xff\xe0 the broken parcel"
    result = await email.ingest(_mail_with_file(HUMAN, "parcel.jpg", photo, "image/jpeg"))
    assert result.outcome == "delivered"
    # The first message is on the card; its photo goes into the thread (the raw mail does not).
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)
    [shared] = await slack.wait_for_shared()
    assert (shared.thread_ts, shared.title, shared.data) == (ts, "parcel.jpg", photo)
    await recorder.wait_for(1)  # the bot's answer to the first mail

    event = file_message(slack, ts, "Your label", {"label.pdf": (PDF, "application/pdf")})
    assert (await post_event(client, event)).status == 200
    [_answer, reply] = await recorder.wait_for(2)
    body = reply.get_body(("plain",))
    assert body is not None and "Your label" in str(body.get_content())
    [part] = list(reply.iter_attachments())
    assert part.get_filename() == "label.pdf" and part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == PDF
    assert len(slack.shared) == 1


async def test_webchat_customer_downloads_an_agents_file(
    database_url: str, make_client: AppFactory, slack: FakeSlack
) -> None:
    app, client = await start(database_url, make_client, slack)
    visitor = await start_session(client)
    ws = await client.ws_connect("/api/v1/ws")
    await ws.send_json({"type": "auth", "token": visitor.token})
    await send(client, visitor, HUMAN)
    await slack.wait_for("chat.postMessage", where=is_card)
    ts = await card_ts(app)

    event = file_message(slack, ts, "", {"label.pdf": (PDF, "application/pdf")})  # a file, no text
    assert (await post_event(client, event)).status == 200
    frame = await next_frame(ws, lambda f: f.get("type") == "message" and bool(f["message"]["attachments"]))
    await ws.close()
    [file] = frame["message"]["attachments"]
    assert (file["filename"], file["content_type"], file["size"]) == (
        "label.pdf",
        "application/pdf",
        len(PDF),
    )
    assert frame["message"]["sender_name"] == "Alice Agent"

    got = await client.get(file["url"], headers=visitor.auth)
    assert got.status == 200 and await got.read() == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert 'filename="label.pdf"' in got.headers["Content-Disposition"]
    [listed] = [m for m in await history(client, visitor) if m["attachments"]]
    assert listed["attachments"] == frame["message"]["attachments"]

    # Only this conversation's own files, only with its token.
    stranger = await start_session(client)
    assert (await client.get(file["url"], headers=stranger.auth)).status == 404
    assert (await client.get(file["url"])).status == 401
    assert (await client.get(file["url"].replace("index=0", "index=1"), headers=visitor.auth)).status == 404

    async def delivered() -> bool:
        return await count(app.engine, Interaction, Interaction.sender_role == "agent") == 1

    await eventually(delivered)


# -- pure parts: the limits' config and the thread message's files --------------------------------


def test_file_limits_read_sizes_and_type_patterns() -> None:
    assert FileSettings(max_bytes="10MB").max_bytes == 10_000_000
    assert FileSettings(max_bytes="512KiB").max_bytes == 512 * 1024
    assert FileSettings(max_bytes=2048).max_bytes == 2048
    with pytest.raises(ValidationError, match="10485760 or 10MB"):
        FileSettings(max_bytes="ten megabytes")
    limits = FileSettings(allowed_types=["image/*", "application/pdf"])
    assert limits.refusal("a.png", "image/png", 10) is None
    assert limits.refusal("a.pdf", "application/pdf; name=a.pdf", 10) is None
    assert (
        limits.refusal("a.zip", "application/zip", 10)
        == "a.zip is of type application/zip, which is not allowed"
    )
    assert FileSettings(allowed_types=[]).refusal("a.bin", "application/octet-stream", 10) is None


def test_a_file_only_message_in_a_thread_is_an_agent_message_with_its_files() -> None:
    body = thread_message("", thread_ts="1700000000.000001")
    body["event"]["subtype"] = "file_share"
    body["event"]["files"] = [
        {"id": "F1", "name": "a.pdf", "mimetype": "application/pdf", "size": 3,
         "url_private_download": "https://files.slack.com/files-pri/T-F1/download/a.pdf"},
        {"id": "F2", "mode": "tombstone"},  # deleted meanwhile
        {"name": "no id"},
    ]  # fmt: skip
    parsed = parse_thread_message(body)
    assert parsed is not None and parsed.text == ""
    assert parsed.files == (
        SlackFile(
            "F1", "a.pdf", "application/pdf", 3, "https://files.slack.com/files-pri/T-F1/download/a.pdf"
        ),
    )
    body["event"]["files"] = []
    assert parse_thread_message(body) is None  # neither text nor files: nothing to do
