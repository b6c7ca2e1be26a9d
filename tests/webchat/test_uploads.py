"""Files from the widget: ``POST /api/v1/messages`` as multipart/form-data.

Limits from ``webchat.uploads`` (tests/webchat/uploads.py sets small ones), refusals that say
what to fix with nothing stored, retries of the same ``client_message_id`` that store nothing
twice, and the file downloaded back through ``GET /api/v1/files``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import App
from bot.config import ConfigError, settings_from_text
from bot.webchat_backend import upload_limits
from tests.webchat.helpers import (
    Visitor,
    count,
    erase_customer,
    history,
    new_id,
    rows,
    send,
    start_session,
)
from tests.webchat.uploads import MAX_BYTES, MAX_FILES, png, stored_files, upload_app
from ticketing.models import Conversation, Interaction


@pytest.fixture
async def served(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[App, TestClient]]:
    async for pair in upload_app(database_url, tmp_path):
        yield pair


def form(cid: str, text: str, *files: tuple[str, str, bytes]) -> aiohttp.FormData:
    data = aiohttp.FormData(default_to_multipart=True)
    data.add_field("client_message_id", cid)
    data.add_field("text", text)
    for name, content_type, body in files:
        data.add_field("files", body, filename=name, content_type=content_type)
    return data


async def post(client: TestClient, visitor: Visitor, data: aiohttp.FormData) -> tuple[int, dict[str, Any]]:
    resp = await client.post("/api/v1/messages", data=data, headers=visitor.auth)
    body: dict[str, Any] = await resp.json()
    return resp.status, body


async def test_files_are_stored_shown_and_downloadable(
    served: tuple[App, TestClient], tmp_path: Path
) -> None:
    _, client = served
    visitor = await start_session(client)
    image, notes = png(), b"order 1234, blue, size M\n"
    status, body = await post(
        client,
        visitor,
        form(
            "up-1", "here is the label", ("label.png", "image/png", image), ("notes.txt", "text/plain", notes)
        ),
    )
    assert status == 200, body
    mine = body["message"]
    assert mine["text"] == "here is the label" and mine["client_message_id"] == "up-1"
    assert [(a["filename"], a["content_type"], a["size"]) for a in mine["attachments"]] == [
        ("label.png", "image/png", len(image)),
        ("notes.txt", "text/plain", len(notes)),
    ]
    assert body["replies"], "the bot answers a message with files like any other"

    # The history shows the same files, and each downloads back byte for byte.
    (stored,) = [m for m in await history(client, visitor) if m["direction"] == "in"]
    assert stored["attachments"] == mine["attachments"]
    for attachment, original in zip(mine["attachments"], (image, notes), strict=True):
        resp = await client.get(attachment["url"], headers=visitor.auth)
        assert resp.status == 200
        assert await resp.read() == original
        assert resp.headers["Content-Type"].startswith(attachment["content_type"])
        assert "attachment" in resp.headers["Content-Disposition"]
    assert len(stored_files(tmp_path)) == 2

    # Another visitor cannot read them.
    stranger = await start_session(client)
    resp = await client.get(mine["attachments"][0]["url"], headers=stranger.auth)
    assert resp.status == 404


async def test_file_only_message_has_empty_text(served: tuple[App, TestClient]) -> None:
    _, client = served
    visitor = await start_session(client)
    status, body = await post(client, visitor, form("up-2", "", ("photo.png", "image/png", png())))
    assert status == 200, body
    assert body["message"]["text"] == "" and len(body["message"]["attachments"]) == 1
    # No files and no text is still an empty message.
    status, body = await post(client, visitor, form("up-3", "  "))
    assert (status, body["error"]["code"]) == (422, "empty_text")


async def test_retry_with_same_client_message_id_stores_nothing_twice(
    served: tuple[App, TestClient], tmp_path: Path
) -> None:
    app, client = served
    visitor = await start_session(client)
    files = ("a.png", "image/png", png(seed=1)), ("b.png", "image/png", png(seed=2))
    first_status, first = await post(client, visitor, form("up-4", "two photos", *files))
    again_status, again = await post(client, visitor, form("up-4", "two photos", *files))
    assert (first_status, again_status) == (200, 200)
    assert first["duplicate"] is False and again["duplicate"] is True
    assert again["message"]["id"] == first["message"]["id"]
    assert await count(app.engine, Interaction, Interaction.external_message_id == "up-4") == 1
    assert len(stored_files(tmp_path)) == 2
    found = await rows(
        app.engine, select(Interaction.attachments).where(Interaction.external_message_id == "up-4")
    )
    assert [a["filename"] for a in found[0][0]] == ["a.png", "b.png"]


_TOO_MANY = [(f"{i}.png", "image/png", png(seed=i)) for i in range(MAX_FILES + 1)]
REFUSALS = {
    "too large": ([("big.png", "image/png", png() + b"\0" * MAX_BYTES)], 413, "file_too_large",
                  "big.png is larger than 64 KB"),
    "wrong type": ([("run.exe", "application/x-msdownload", b"MZ\x90\0")], 415, "unsupported_file_type",
                   "application/x-msdownload"),
    "lying type": ([("fake.png", "image/png", b"<html>not a png</html>")], 415, "unsupported_file_type",
                   "not a valid image/png"),
    "too many": (_TOO_MANY, 422, "too_many_files", f"at most {MAX_FILES}"),
    "empty": ([("empty.txt", "text/plain", b"")], 422, "empty_file", "empty.txt is empty"),
}  # fmt: skip


@pytest.mark.parametrize(("files", "status", "code", "says"), REFUSALS.values(), ids=REFUSALS.keys())
async def test_refused_files_say_what_to_fix_and_store_nothing(
    served: tuple[App, TestClient],
    tmp_path: Path,
    files: list[tuple[str, str, bytes]],
    status: int,
    code: str,
    says: str,
) -> None:
    app, client = served
    visitor = await start_session(client)
    # A valid file first: a refusal of a later one must not have stored it either.
    ok = ("fine.png", "image/png", png(seed=9))
    cid = new_id("refused")
    got_status, body = await post(
        client,
        visitor,
        form(cid, "see attached", ok, *files)
        if code != "too_many_files"
        else form(cid, "see attached", *files),
    )
    assert (got_status, body["error"]["code"]) == (status, code), body
    assert says in body["error"]["message"]
    assert stored_files(tmp_path) == []
    assert await count(app.engine, Interaction, Interaction.external_message_id == cid) == 0
    # The same message without the offending file then goes through.
    resent = await send(client, visitor, "see attached", client_message_id=cid)
    assert resent["duplicate"] is False


async def test_malformed_forms_are_4xx(served: tuple[App, TestClient]) -> None:
    _, client = served
    visitor = await start_session(client)
    cases: list[tuple[aiohttp.FormData, str]] = []
    extra = form("up-5", "hi")
    extra.add_field("evil", "x")
    cases.append((extra, "invalid_fields"))
    missing = aiohttp.FormData(default_to_multipart=True)
    missing.add_field("text", "hi")
    missing.add_field("files", png(), filename="a.png", content_type="image/png")
    cases.append((missing, "invalid_fields"))
    cases.append((form("bad id!", "hi"), "invalid_fields"))
    cases.append((form("up-6", "x" * 5000), "text_too_long"))
    for data, code in cases:
        status, body = await post(client, visitor, data)
        assert 400 <= status < 500 and body["error"]["code"] == code, body
    resp = await client.post(
        "/api/v1/messages",
        data=b"--xyz\r\nnot a part",
        headers={**visitor.auth, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert 400 <= resp.status < 500, await resp.text()


async def test_declared_body_over_the_cap_is_refused_unread(served: tuple[App, TestClient]) -> None:
    _, client = served
    visitor = await start_session(client)
    resp = await client.post(
        "/api/v1/messages",
        data=b"x" * 16,
        headers={
            **visitor.auth,
            "Content-Type": "multipart/form-data; boundary=xyz",
            "Content-Length": str(MAX_FILES * MAX_BYTES * 2 + 10_000_000),
        },
    )
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "body_too_large"


async def test_json_messages_keep_the_64_kib_limit(served: tuple[App, TestClient]) -> None:
    """Only multipart bodies get the upload allowance; a JSON body over 64 KiB is still refused."""
    _, client = served
    visitor = await start_session(client)
    resp = await client.post(
        "/api/v1/messages",
        data=b'{"client_message_id": "j", "text": "' + b"a" * 70_000 + b'"}',
        headers={**visitor.auth, "Content-Type": "application/json"},
    )
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "body_too_large"


def test_upload_settings_are_validated_with_the_line() -> None:
    text = "webchat:\n  uploads:\n    max_files: 3\n    allowed_types: [image/png, 'not a type', 'image/*']\n"
    with pytest.raises(ConfigError) as info:
        settings_from_text(text)
    (problem,) = info.value.problems
    assert problem.startswith("config.yaml:4: webchat.uploads.allowed_types"), problem
    assert "'not a type'" in problem and "image/*" in problem
    settings = settings_from_text("webchat:\n  uploads:\n    allowed_types: [IMAGE/PNG, 'image/*']\n")
    limits = upload_limits(settings.webchat.uploads)
    assert limits.allows("image/png") and limits.allows("image/heic") and not limits.allows("text/html")
    with pytest.raises(ConfigError, match="max_bytes"):
        settings_from_text("webchat:\n  uploads:\n    max_bytes: 0\n")


async def test_erasing_the_customer_deletes_their_files_but_not_shared_ones(
    served: tuple[App, TestClient], database_url: str, tmp_path: Path
) -> None:
    """``frontdesk tickets customer-erase`` in its own process: the visitor's own file is gone,
    a file another customer sent too (stored once, by content) stays for them."""
    app, client = served
    ada, bob = await start_session(client), await start_session(client)
    own, shared = png(seed=11), png(seed=12)
    status, _ = await post(
        client, ada, form("e-1", "mine", ("own.png", "image/png", own), ("same.png", "image/png", shared))
    )
    assert status == 200
    status, bobs = await post(client, bob, form("e-2", "mine too", ("same.png", "image/png", shared)))
    assert status == 200
    assert len(stored_files(tmp_path)) == 2
    [(customer_id,)] = await rows(
        app.engine, select(Conversation.customer_id).where(Conversation.public_id == ada.conversation_id)
    )
    await erase_customer(database_url, tmp_path, int(customer_id))
    [left] = stored_files(tmp_path)
    assert left.read_bytes() == shared
    resp = await client.get(bobs["message"]["attachments"][0]["url"], headers=bob.auth)
    assert resp.status == 200 and await resp.read() == shared
