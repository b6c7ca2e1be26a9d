"""The pure translation of recorded Bot API updates (tests/telegram/updates/*.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from telegram import Update

from connectors.telegram.deeplink import deep_link_key, make_parameter, read_parameter
from connectors.telegram.translate import (
    TelegramInbound,
    inbound_message,
    keyboard_for,
    outbound_chunks,
    parse_update,
    split_text,
)
from core.contracts import Attachment, OutboundMessage, QuickReply, SenderRole

UPDATES = Path(__file__).parent / "updates"


def parsed(name: str) -> TelegramInbound | None:
    return parse_update(Update.de_json(json.loads((UPDATES / f"{name}.json").read_text()), None))


def test_text_message() -> None:
    p = parsed("text")
    assert p is not None and p.kind == "message"
    m = inbound_message(p)
    assert (m.channel, m.external_user_id, m.external_thread_id) == ("telegram", "555123", "555123")
    assert m.text == "What are your opening hours?"
    assert m.external_message_id == "41"
    assert m.idempotency_key == "u815501234:555123:41"
    assert m.sender_name == "Jürgen Groß"
    assert m.language == "de"


def test_photo_takes_the_largest_size_and_the_caption() -> None:
    p = parsed("photo")
    assert p is not None
    assert [f.file_id for f in p.files] == ["AgACAgQAAxkBAAMq-large"]
    assert p.files[0].content_type == "image/jpeg"
    assert p.text == "the box arrived like this"
    stored = (Attachment("photo-AQADs2.jpg", "image/jpeg", 90231, storage_key="k"),)
    assert inbound_message(p, attachments=stored).attachments == stored


def test_document_without_caption_gets_a_readable_text() -> None:
    p = parsed("document")
    assert p is not None
    assert p.files[0].filename == "Rechnung 2024-17.pdf"
    assert p.files[0].content_type == "application/pdf"
    assert p.text == "(sent Rechnung 2024-17.pdf)"


def test_start_with_deep_link_parameter() -> None:
    p = parsed("start_deeplink")
    assert p is not None and p.kind == "start"
    assert p.start_parameter == "c42-PARAMETER"
    assert inbound_message(p).metadata["start_parameter"] == "c42-PARAMETER"


def test_edit_is_a_new_message_that_points_at_the_original() -> None:
    p = parsed("edited")
    assert p is not None and p.kind == "edit"
    m = inbound_message(p)
    assert m.reply_to == "41"
    assert m.metadata["edited"] == "true"
    assert m.idempotency_key != inbound_message(parsed("text")).idempotency_key  # type: ignore[arg-type]


def test_button_with_long_payload_comes_back_as_its_label_and_index() -> None:
    """The connector looks the payload up by index and label (test_webhook)."""
    p = parsed("callback")
    assert p is not None and p.kind == "button"
    assert p.text == "No, talk to a human"
    assert p.button_index == 1
    assert p.callback_query_id == "4382bfdwdsb323b2d9"
    assert inbound_message(p).reply_to == "9001"


@pytest.mark.parametrize("name", ["channel_post"])
def test_updates_without_a_customer_are_ignored(name: str) -> None:
    assert parsed(name) is None


def test_bot_authors_are_flagged() -> None:
    p = parsed("from_bot")
    assert p is not None and p.from_bot


def test_sticker_becomes_its_emoji() -> None:
    p = parsed("sticker")
    assert p is not None and p.text == "👍"


def test_keyboard_keeps_short_payloads_and_indexes_long_ones() -> None:
    markup = keyboard_for((QuickReply("Yes", "yes"), QuickReply("Long", "x" * 65)))
    assert markup is not None
    assert [row[0].callback_data for row in markup.inline_keyboard] == ["yes", "~1"]
    assert keyboard_for(()) is None


def test_split_text_respects_the_limit() -> None:
    text = ("word " * 2000).strip()
    chunks = split_text(text)
    assert all(len(c) <= 4096 for c in chunks)
    assert " ".join(chunks) == text


def test_deep_link_parameters_are_signed() -> None:
    key = deep_link_key(link_secret=None, bot_token="1:abc")
    parameter = make_parameter(42, key=key)
    assert len(parameter) <= 64
    assert read_parameter(parameter, key=key) == 42
    assert read_parameter(parameter.replace("c42", "c43"), key=key) is None
    assert read_parameter(parameter, key=b"other key") is None
    assert read_parameter("c42-PARAMETER", key=key) is None


def outbound(text: str, role: SenderRole, name: str | None) -> OutboundMessage:
    return OutboundMessage(
        channel="telegram",
        external_user_id="555123",
        external_thread_id="555123",
        text=text,
        interaction_id=1,
        conversation_id=1,
        sender_role=role,
        sender_name=name,
    )


def test_agent_reply_starts_with_the_agents_name_in_bold() -> None:
    [(text, entities)] = outbound_chunks(
        outbound("Your refund *is* <b>on</b> its way", SenderRole.AGENT, "Ana")
    )
    assert text == "Ana:\nYour refund *is* <b>on</b> its way"  # no parse_mode: nothing to escape
    [bold] = entities
    assert (bold.type, bold.offset, bold.length) == ("bold", 0, len("Ana:"))


def test_agent_name_length_counts_utf16_units_and_is_kept_on_one_line() -> None:
    [(text, entities)] = outbound_chunks(outbound("hi", SenderRole.AGENT, "  Zoë 🦊\nBot_ "))
    assert text == "Zoë 🦊 Bot_:\nhi"
    assert entities[0].length == len("Zoë 🦊 Bot_:") + 1  # the fox is two UTF-16 code units


def test_agent_without_a_name_and_long_agent_reply() -> None:
    [(text, _entities)] = outbound_chunks(outbound("hi", SenderRole.AGENT, None))
    assert text == "Agent:\nhi"
    chunks = outbound_chunks(outbound("word " * 2000, SenderRole.AGENT, "Ana"))
    assert len(chunks) == 3 and all(len(t) <= 4096 for t, _ in chunks)
    assert chunks[0][0].startswith("Ana:\nword") and chunks[0][1]
    assert [e for _, e in chunks[1:]] == [(), ()]


def test_bot_reply_is_sent_as_it_is() -> None:
    assert outbound_chunks(outbound("We open at 9.", SenderRole.BOT, "Frontdesk")) == [("We open at 9.", ())]
