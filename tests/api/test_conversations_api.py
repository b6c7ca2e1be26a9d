"""``/api/v1/conversations/{public_id}`` and ``/api/v1/rulebook`` against the real app over
loopback: a transcript with every interaction and its analysis, a page at a time, audited; the
rulebook's files, fingerprint and a broken save's ``file``/``line`` while the old version serves."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.api_conversations import rulebook_problems
from rules.reload import fingerprint
from tests.api.customer_helpers import FAST, audit_actions, callers, ok, problem
from tests.conftest import ROOT, AppFactory
from tests.webchat.helpers import FAQ_HOURS, UNHANDLED, eventually, line_of, rows, save, send, start_session
from ticketing.models import Conversation, Ticket

V = "/api/v1/conversations"
RULEBOOK = "/api/v1/rulebook"


async def test_transcript_has_every_interaction_with_its_analysis(
    database_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(database_url, extra=FAST)
    who = await callers(app)
    visitor = await start_session(client)
    await send(client, visitor, FAQ_HOURS)
    await send(client, visitor, UNHANDLED)  # the fallback rule opens a ticket
    [(customer_id, number)] = await rows(
        app.engine,
        select(Conversation.customer_id, Ticket.number)
        .join(Ticket, Ticket.conversation_id == Conversation.id)
        .where(Conversation.public_id == visitor.conversation_id),
    )

    body = await ok(await client.get(f"{V}/{visitor.conversation_id}", headers=who.viewer), "getConversation")
    talk = body["conversation"]
    assert (talk["public_id"], talk["customer_id"], talk["channel"]) == (
        visitor.conversation_id, customer_id, "webchat",
    )  # fmt: skip
    assert talk["open_ticket"] == f"T-{number}" and body["next_cursor"] is None
    entries = body["interactions"]
    inbound = [e for e in entries if e["direction"] == "in"]
    outbound = [e for e in entries if e["direction"] == "out"]
    assert [e["text"] for e in inbound] == [FAQ_HOURS, UNHANDLED]
    assert {e["sender_role"] for e in inbound} == {"customer"}
    assert all(isinstance(e["analysis"], dict) and "intent" in e["analysis"] for e in inbound)
    assert outbound and all(e["rule"] for e in outbound) and all(e["in_reply_to"] for e in outbound)
    assert any(e["ticket"] == f"T-{number}" for e in entries)
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    assert await audit_actions(app, customer_id) == [("conversation.read", "account:viewer-1")]

    # A page at a time, oldest first: the same interactions, each once.
    paged: list[int] = []
    cursor = ""
    while True:
        page = await ok(await client.get(f"{V}/{visitor.conversation_id}?limit=1{cursor}", headers=who.agent),
                        "getConversation")  # fmt: skip
        paged += [e["id"] for e in page["interactions"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert paged == [e["id"] for e in entries]

    await problem(await client.get(f"{V}/wc_nothing", headers=who.viewer), 404, says="no conversation")
    await problem(await client.get(f"{V}/{'x' * 41}", headers=who.viewer), 400, says="at most 40")
    await problem(await client.get(f"{V}/a%00b", headers=who.viewer), 400)
    for query, says in (("limit=1001", "1 to 1000"), ("limit=-1", "1 to 1000"), ("cursor=zz", "next_cursor")):
        resp = await client.get(f"{V}/{visitor.conversation_id}?{query}", headers=who.viewer)
        await problem(resp, 400, says=says)
    resp = await client.get(f"{V}/{visitor.conversation_id}")
    await problem(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    secret, _row = await app.api_tokens.create(
        await app.accounts.get("admin-1"), scopes="tickets:read", expires_in=timedelta(days=1)
    )
    narrow = {"Authorization": f"Bearer {secret}"}
    await problem(
        await client.get(f"{V}/{visitor.conversation_id}", headers=narrow), 403, says="customers:read"
    )
    await problem(await client.get(RULEBOOK, headers=narrow), 403, says="rulebook:read")


async def test_rulebook_status_names_a_broken_files_line_while_the_old_version_serves(
    sqlite_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    directory = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", directory)
    app, client = await make_client(sqlite_url, extra=FAST, rulebook=directory)
    who = await callers(app)
    files, digest = fingerprint(directory)

    good = await ok(await client.get(RULEBOOK, headers=who.viewer), "getRulebookStatus")
    assert good["status"] == "ok" and good["errors"] == [] and good["failed_at"] is None
    assert good["fingerprint"] == digest and good["files"] == list(files) and "rules.yml" in files
    assert good["reloads"] == 0

    path = directory / "rules.yml"
    original = path.read_text(encoding="utf-8")
    reply = "          prompt: {response: refund_howto}\n"
    line = line_of(original, reply.strip())
    save(path, original.replace(reply, reply.replace("prompt:", "promptt:")))

    async def broken() -> bool:
        body = await ok(await client.get(RULEBOOK, headers=who.viewer), "getRulebookStatus")
        return bool(body["status"] == "errors")

    await eventually(broken)
    resp = await client.get(RULEBOOK, headers=who.agent)
    body = await ok(resp, "getRulebookStatus")
    assert str(tmp_path) not in await resp.text()  # where the rulebook lives is not shown
    assert {e["file"] for e in body["errors"]} == {"rules.yml"}
    [error] = [e for e in body["errors"] if "promptt" in e["message"]]
    assert error["line"] == line and "unknown key 'promptt'" in error["message"]
    assert body["fingerprint"] == digest and body["failed_at"] is not None  # the old version serves

    save(path, original + "# reviewed\n")

    async def fixed() -> bool:
        body = await ok(await client.get(RULEBOOK, headers=who.admin), "getRulebookStatus")
        return bool(body["status"] == "ok")

    await eventually(fixed)
    body = await ok(await client.get(RULEBOOK, headers=who.viewer), "getRulebookStatus")
    assert body["fingerprint"] == fingerprint(directory)[1] != digest and body["reloads"] == 1
    assert body["errors"] == [] and body["failed_at"] is None
    await problem(await client.get(RULEBOOK), 401)
    await problem(await client.get(RULEBOOK, headers={"Authorization": "Bearer fd_forged"}), 401)


def test_rulebook_problems_are_split_into_file_line_and_message(tmp_path: Path) -> None:
    folder = tmp_path / "rb"
    problems = (
        f"{folder}/rules.yml:12: rules[0].then: field required",
        f"{folder}/entities.yml:0: bad pattern: unbalanced parenthesis",
        f"{folder}/tests/a.yml:3: expected 'x', got 'y'\nsecond line",
        f"{folder}: internal error while loading (KeyError('x')); see the log",
    )
    assert rulebook_problems(problems, folder) == [
        {"file": "rules.yml", "line": 12, "message": "rules[0].then: field required"},
        {"file": "entities.yml", "line": None, "message": "bad pattern: unbalanced parenthesis"},
        {"file": "tests/a.yml", "line": 3, "message": "expected 'x', got 'y'\nsecond line"},
        {"file": None, "line": None, "message": "internal error while loading (KeyError('x')); see the log"},
    ]
