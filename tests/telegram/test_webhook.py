"""Webhook mode end to end: Telegram posts updates to the real app, replies reach the fake API."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import insert, select

from connectors.telegram.connector import SECRET_HEADER
from connectors.telegram.deeplink import deep_link_key, make_parameter
from tests.conftest import ROOT, AppFactory
from tests.telegram.conftest import TOKEN
from tests.telegram.fake_api import BOT_USER, FakeBotApi
from tests.telegram.updates import CUSTOMER, button, edited, message
from tests.webchat.helpers import count, eventually, rows
from ticketing.models import ChannelIdentity, Customer, Interaction, OutboxItem, Ticket
from ticketing.time import utcnow

HOURS = "what are your opening hours?"
SECRET = "hook-secret_1"


async def post(client, update, secret: str | None = SECRET):  # type: ignore[no-untyped-def]
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return await client.post("/telegram/webhook", json=update, headers=headers)


async def test_message_is_answered_through_the_bot_api(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    _app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    update = message(HOURS, message_id=501)
    resp = await post(client, update)
    assert resp.status == 200, await resp.text()
    [call] = await api.wait_for("sendMessage")
    assert "Monday to Friday" in call.params["text"]
    assert call.params["chat_id"] == str(CUSTOMER["id"])
    assert call.json("reply_parameters")["message_id"] == 501
    assert api.calls_to("getMe")


async def test_duplicate_update_is_recorded_and_answered_once(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    update = message(HOURS)
    assert (await post(client, update)).status == 200
    assert (await post(client, update)).status == 200  # Telegram retried the delivery
    assert await count(app.engine, Interaction, Interaction.direction == "in") == 1
    assert await count(app.engine, OutboxItem) == 1

    async def sent() -> bool:
        return await count(app.engine, OutboxItem, OutboxItem.state == "sent") == 1

    await eventually(sent)
    assert len(api.calls_to("sendMessage")) == 1


async def test_wrong_or_missing_secret_is_refused(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    for secret in ("wrong", None, SECRET + "x", ""):
        resp = await post(client, message(HOURS), secret=secret)
        assert resp.status == 401
        assert SECRET not in await resp.text()
    assert await count(app.engine, Interaction) == 0


async def test_photo_and_document_are_stored_as_attachments(
    database_url: str, make_client: AppFactory, api: FakeBotApi, tmp_path: Path
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    api.files["photo-big"] = b"\xff\xd8\xff\xe0 fake jpeg"
    api.files["doc-1"] = b"%PDF-1.4 fake"
    photo = [
        {"file_id": "photo-small", "file_unique_id": "s", "file_size": 3, "width": 90, "height": 90},
        {"file_id": "photo-big", "file_unique_id": "b", "file_size": 15, "width": 800, "height": 600},
    ]
    doc = {
        "file_id": "doc-1",
        "file_unique_id": "d1",
        "file_name": "invoice.pdf",
        "mime_type": "application/pdf",
        "file_size": 13,
    }
    assert (await post(client, message(None, photo=photo, caption="broken box"))).status == 200
    assert (await post(client, message(None, document=doc))).status == 200
    stored = await rows(
        app.engine,
        select(Interaction.text, Interaction.attachments)
        .where(Interaction.direction == "in")
        .order_by(Interaction.id),
    )
    assert [s.text for s in stored] == ["broken box", "(sent invoice.pdf)"]
    photo_att, doc_att = stored[0].attachments[0], stored[1].attachments[0]
    assert (photo_att["content_type"], photo_att["size"]) == ("image/jpeg", len(api.files["photo-big"]))
    assert (tmp_path / "var" / photo_att["storage_key"]).read_bytes() == api.files["photo-big"]
    assert doc_att["filename"] == "invoice.pdf"
    assert (tmp_path / "var" / doc_att["storage_key"]).read_bytes() == api.files["doc-1"]


async def test_a_file_telegram_refuses_keeps_the_message_without_it(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    """Telegram's 400 for a file id (found by tests/reliability/test_fuzz.py) was a 500, so
    Telegram would resend the update until it dropped the customer's message."""
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    doc = {"file_id": "gone-1", "file_unique_id": "g1", "file_name": "a.pdf", "mime_type": "application/pdf"}
    assert (await post(client, message(None, document=doc))).status == 200
    [stored] = await rows(app.engine, select(Interaction.attachments).where(Interaction.direction == "in"))
    assert stored.attachments == [
        {"filename": "a.pdf", "content_type": "application/pdf", "size": 0, "storage_key": None, "url": None}
    ]
    assert api.calls_to("getFile")


async def test_button_press_is_answered_and_sends_its_payload(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    bot_message = {
        "message_id": 9100,
        "date": 1_700_000_000,
        "from": BOT_USER,
        "chat": {"id": CUSTOMER["id"], "type": "private"},
        "text": "Anything else?",
        "reply_markup": {"inline_keyboard": [[{"text": "Opening hours", "callback_data": HOURS}]]},
    }
    assert (await post(client, button(HOURS, bot_message=bot_message))).status == 200
    [answered] = await api.wait_for("answerCallbackQuery")
    assert answered.params["callback_query_id"].startswith("cbq-")
    [reply] = await api.wait_for("sendMessage")
    assert "Monday to Friday" in reply.params["text"]
    [text] = (await rows(app.engine, select(Interaction.text).where(Interaction.direction == "in")))[0]
    assert text == HOURS


LONG_PAYLOAD = "How do I return an item? It came last week and it does not fit me at all"


def long_payload_rulebook(tmp_path: Path) -> Path:
    """The example rulebook, whose greeting offers "Option B" with ``LONG_PAYLOAD``."""
    rulebook = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", rulebook)
    rules = rulebook / "rules.yml"
    # The greeting's buttons (a label per language, one per line) become two English buttons.
    offered = re.search(r"^          buttons:.*\n(?:            - .*\n)+", rules.read_text(), re.MULTILINE)
    assert offered is not None
    buttons = f'          buttons: ["Where is my order?", {{label: "Option B", payload: "{LONG_PAYLOAD}"}}]\n'
    rules.write_text(rules.read_text().replace(offered.group(0), buttons))
    return rulebook


async def test_a_button_whose_payload_is_too_long_for_telegram_still_sends_its_payload(
    database_url: str, make_client: AppFactory, api: FakeBotApi, tmp_path: Path
) -> None:
    """Telegram carries at most 64 bytes of callback_data: a longer payload travels as the
    button's index and is looked up in our reply, so the rules see the payload, not the label."""
    assert len(LONG_PAYLOAD.encode()) > 64
    rulebook = long_payload_rulebook(tmp_path)
    app, client = await make_client(database_url, extra=api.config(mode="webhook"), rulebook=rulebook)
    assert (await post(client, message("hello"))).status == 200
    [greeting] = await api.wait_for("sendMessage")
    markup = greeting.json("reply_markup")
    assert [row[0]["callback_data"] for row in markup["inline_keyboard"]] == ["Where is my order?", "~1"]
    bot_message = {
        "message_id": 9200,
        "date": 1_700_000_000,
        "from": BOT_USER,
        "chat": {"id": CUSTOMER["id"], "type": "private"},
        "text": greeting.params["text"],
        "reply_markup": markup,
    }
    assert (await post(client, button("~1", bot_message=bot_message))).status == 200
    [_, reply] = await api.wait_for("sendMessage", 2)
    assert "within 30 days" in reply.params["text"]  # the returns FAQ
    inbound = select(Interaction.text).where(Interaction.direction == "in").order_by(Interaction.id)
    assert [t.text for t in await rows(app.engine, inbound)] == ["hello", LONG_PAYLOAD]


async def test_edit_is_processed_as_a_new_message(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    assert (await post(client, message("hello", message_id=700))).status == 200
    assert (await post(client, edited(HOURS, message_id=700))).status == 200
    texts = await rows(
        app.engine, select(Interaction.text).where(Interaction.direction == "in").order_by(Interaction.id)
    )
    assert [t.text for t in texts] == ["hello", HOURS]
    calls = await api.wait_for("sendMessage", 2)
    assert any("Monday to Friday" in c.params["text"] for c in calls)


async def test_start_deep_link_links_the_chat_to_an_existing_customer(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    now = utcnow()
    async with app.engine.begin() as conn:
        known = (
            await conn.execute(
                insert(Customer).returning(Customer.id),
                {
                    "display_name": "Ada L.",
                    "email": "ada@example.com",
                    "tags": [],
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                },
            )
        ).scalar_one()
    key = deep_link_key(link_secret=None, bot_token=TOKEN)
    assert (await post(client, message(f"/start {make_parameter(known, key=key)}"))).status == 200
    identity = await rows(
        app.engine,
        select(ChannelIdentity.customer_id).where(
            ChannelIdentity.channel == "telegram", ChannelIdentity.external_id == str(CUSTOMER["id"])
        ),
    )
    assert [i.customer_id for i in identity] == [known]
    owners = await rows(app.engine, select(Interaction.customer_id).where(Interaction.direction == "in"))
    assert [o.customer_id for o in owners] == [known]


async def test_forged_deep_link_links_nobody(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    assert (await post(client, message("/start c1-AAAAAAAAAAAAAAAAAAAAAA"))).status == 200
    identity = await rows(
        app.engine, select(ChannelIdentity.customer_id).where(ChannelIdentity.channel == "telegram")
    )
    linked = await rows(app.engine, select(Customer.id).where(Customer.email.is_not(None)))
    assert len(identity) == 1 and linked == []


async def test_agent_reply_carries_the_agents_name_bot_replies_do_not(
    database_url: str, make_client: AppFactory, api: FakeBotApi
) -> None:
    app, client = await make_client(database_url, extra=api.config(mode="webhook"))
    assert (await post(client, message("I want to talk to a human about my broken parcel"))).status == 200
    [bot_reply] = await api.wait_for("sendMessage")
    assert "entities" not in bot_reply.params and not bot_reply.params["text"].startswith("Frontdesk")
    [[number]] = await rows(app.engine, select(Ticket.number))
    await app.ticketing.desk.reply(number, "Your refund is <on> its way *soon*", agent="ana")
    [_, agent_reply] = await api.wait_for("sendMessage", 2)
    assert agent_reply.params["chat_id"] == str(CUSTOMER["id"])
    assert agent_reply.params["text"] == "ana:\nYour refund is <on> its way *soon*"
    assert "parse_mode" not in agent_reply.params
    assert agent_reply.json("entities") == [{"type": "bold", "offset": 0, "length": 4}]


async def test_a_long_payload_is_looked_up_on_the_message_whose_button_was_pressed(
    database_url: str, make_client: AppFactory, api: FakeBotApi, tmp_path: Path
) -> None:
    """Two of our replies offer "Option B" as their second button with different payloads (the
    same menu, sent again after an admin changed it): pressing it on the older message sends
    the older payload, not the newest reply's."""
    rulebook = long_payload_rulebook(tmp_path)
    app, client = await make_client(database_url, extra=api.config(mode="webhook"), rulebook=rulebook)
    assert (await post(client, message("hello"))).status == 200
    [greeting] = await api.wait_for("sendMessage")

    async def delivered() -> bool:
        return await count(app.engine, OutboxItem, OutboxItem.state == "sent") == 1

    await eventually(delivered)
    [older] = await rows(app.engine, select(OutboxItem))
    [reply] = await rows(app.engine, select(Interaction).where(Interaction.id == older.interaction_id))
    newer_payload = "What are your opening hours? I need to come by on a Saturday morning"
    copied = {c.key: getattr(reply, c.key) for c in Interaction.__table__.columns if c.key != "id"}
    copied["quick_replies"] = [reply.quick_replies[0], {"label": "Option B", "payload": newer_payload}]
    copied["external_message_id"] = None
    async with app.engine.begin() as conn:
        newer_id = (await conn.execute(insert(Interaction).values(copied).returning(Interaction.id))).scalar()
        outbox = {c.key: getattr(older, c.key) for c in OutboxItem.__table__.columns if c.key != "id"}
        await conn.execute(
            insert(OutboxItem).values({**outbox, "interaction_id": newer_id, "external_id": "9555"})
        )

    def pressed_on(message_id: int) -> dict[str, object]:
        bot_message = {
            "message_id": message_id,
            "date": 1_700_000_000,
            "from": BOT_USER,
            "chat": {"id": CUSTOMER["id"], "type": "private"},
            "text": greeting.params["text"],
            "reply_markup": greeting.json("reply_markup"),
        }
        return button("~1", bot_message=bot_message)

    assert older.external_id is not None
    assert (await post(client, pressed_on(int(older.external_id)))).status == 200
    assert (await post(client, pressed_on(9555))).status == 200
    assert (await post(client, pressed_on(4242))).status == 200  # not recorded: the newest reply's
    inbound = select(Interaction.text).where(Interaction.direction == "in").order_by(Interaction.id)
    texts = [t.text for t in await rows(app.engine, inbound)]
    assert texts == ["hello", LONG_PAYLOAD, newer_payload, newer_payload]
