"""Telegram updates ↔ Frontdesk messages, as pure functions (no network, no clock).

:func:`parse_update` reads a PTB :class:`telegram.Update` (from a webhook body or
``getUpdates``) into a :class:`TelegramInbound` that says what to download; once the files are
stored, :func:`inbound_message` builds the :class:`InboundMessage`. Splitting the two keeps
both pure and testable against recorded JSON while downloads stay in the connector.

Idempotency: the key combines ``update_id`` with chat and message id, so a webhook retry or a
re-polled update is a duplicate, and even Telegram's random restart of ``update_id`` after a
quiet week cannot make two different messages collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update

from connectors.telegram.channel_name import CHANNEL
from core.contracts import Attachment, InboundMessage, OutboundMessage, QuickReply, SenderRole

__all__ = [
    "CALLBACK_DATA_MAX_BYTES",
    "CHANNEL",
    "MESSAGE_MAX_CHARS",
    "FileRef",
    "TelegramInbound",
    "inbound_message",
    "keyboard_for",
    "outbound_chunks",
    "parse_update",
    "split_text",
]

CALLBACK_DATA_MAX_BYTES = 64  # a Bot API limit
MESSAGE_MAX_CHARS = 4096  # a Bot API limit
_LONG_PAYLOAD_PREFIX = "~"  # callback_data for buttons whose payload does not fit
_NAME_MAX_CHARS = 64  # an agent's name in the header line, so it never crowds out the text

Kind = Literal["message", "edit", "button", "start"]


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file Telegram holds for us; the connector downloads it by ``file_id``."""

    file_id: str
    file_unique_id: str
    filename: str
    content_type: str
    size: int | None


@dataclass(frozen=True, slots=True)
class TelegramInbound:
    kind: Kind
    update_id: int
    chat_id: int
    user_id: int
    message_id: int
    text: str
    sender_name: str | None
    language: str | None
    files: tuple[FileRef, ...] = ()
    start_parameter: str | None = None  # /start <parameter> (a deep link)
    callback_query_id: str | None = None
    button_index: int | None = None  # a pressed button whose payload did not fit (``~index``)
    from_bot: bool = False
    edit_date: int | None = None

    @property
    def idempotency_key(self) -> str:
        base = f"u{self.update_id}:{self.chat_id}:{self.message_id}"
        return f"{base}:cb{self.callback_query_id}" if self.callback_query_id else base


def parse_update(update: Update) -> TelegramInbound | None:
    """What the update asks of Frontdesk, or None for updates it does not handle.

    Handled: new messages (text, captions, photos, documents, audio, voice, video),
    edited messages, ``/start [parameter]``, and inline keyboard button presses.
    """
    if update.callback_query is not None:
        return _button(update)
    kind: Kind = "message"
    message = update.message
    if message is None and update.edited_message is not None:
        kind, message = "edit", update.edited_message
    if message is None or message.from_user is None:
        return None  # channel posts, polls, chat member changes, ...
    text, files = _content(message)
    start_parameter = None
    if kind == "message" and message.text is not None and _is_start(message.text):
        kind = "start"
        _command, _, parameter = message.text.partition(" ")
        start_parameter = parameter.strip() or None
    user = message.from_user
    return TelegramInbound(
        kind=kind,
        update_id=update.update_id,
        chat_id=message.chat.id,
        user_id=user.id,
        message_id=message.message_id,
        text=text,
        sender_name=user.full_name or user.username,
        language=user.language_code,
        files=files,
        start_parameter=start_parameter,
        from_bot=user.is_bot,
        edit_date=int(message.edit_date.timestamp()) if message.edit_date else None,
    )


def _is_start(text: str) -> bool:
    command = text.split(maxsplit=1)[0] if text.strip() else ""
    return command == "/start" or command.startswith("/start@")


def _button(update: Update) -> TelegramInbound | None:
    query = update.callback_query
    assert query is not None
    message = query.message
    if not isinstance(message, Message):  # too old: Telegram no longer sends its content
        return None
    data = query.data or ""
    text = data
    index = None
    if data.startswith(_LONG_PAYLOAD_PREFIX) or not data:
        text = _label_of(message, data) or data
        suffix = data.removeprefix(_LONG_PAYLOAD_PREFIX)
        index = int(suffix) if suffix.isdigit() and len(suffix) < 4 and text != data else None
    user = query.from_user
    return TelegramInbound(
        kind="button",
        update_id=update.update_id,
        chat_id=message.chat.id,
        user_id=user.id,
        message_id=message.message_id,
        text=text,
        sender_name=user.full_name or user.username,
        language=user.language_code,
        callback_query_id=query.id,
        button_index=index,
        from_bot=user.is_bot,
    )


def _label_of(message: Message, data: str) -> str | None:
    markup = message.reply_markup
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def _content(message: Message) -> tuple[str, tuple[FileRef, ...]]:
    files: list[FileRef] = []
    if message.photo:
        best = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        files.append(
            FileRef(
                best.file_id,
                best.file_unique_id,
                f"photo-{best.file_unique_id}.jpg",
                "image/jpeg",
                best.file_size,
            )
        )
    for kind, item, default_type, ext in (
        ("document", message.document, "application/octet-stream", "bin"),
        ("audio", message.audio, "audio/mpeg", "mp3"),
        ("voice", message.voice, "audio/ogg", "ogg"),
        ("video", message.video, "video/mp4", "mp4"),
    ):
        if item is None:
            continue
        name = getattr(item, "file_name", None) or f"{kind}-{item.file_unique_id}.{ext}"
        files.append(
            FileRef(item.file_id, item.file_unique_id, name, item.mime_type or default_type, item.file_size)
        )
    text = message.text or message.caption or ""
    if not text.strip():
        if files:
            text = "(sent " + ", ".join(f.filename for f in files) + ")"
        elif message.sticker is not None:
            text = message.sticker.emoji or "(sticker)"
        elif message.location is not None:
            text = f"(location {message.location.latitude:.5f}, {message.location.longitude:.5f})"
        elif message.contact is not None:
            text = f"(contact {message.contact.first_name} {message.contact.phone_number})"
        else:
            text = "(unsupported Telegram message)"
    return text, tuple(files)


def inbound_message(parsed: TelegramInbound, *, attachments: tuple[Attachment, ...] = ()) -> InboundMessage:
    metadata = {"telegram_update_id": str(parsed.update_id), "telegram_kind": parsed.kind}
    reply_to = None
    if parsed.kind == "edit":
        metadata["edited"] = "true"
        reply_to = str(parsed.message_id)  # the message this edit replaces
    if parsed.kind == "button":
        reply_to = str(parsed.message_id)  # the bot message whose button was pressed
    if parsed.start_parameter is not None:
        metadata["start_parameter"] = parsed.start_parameter
    if parsed.kind == "button":
        external_message_id = f"cb:{parsed.callback_query_id}"
    elif parsed.kind == "edit":
        external_message_id = f"{parsed.message_id}:edit:{parsed.edit_date or 0}"
    else:
        external_message_id = str(parsed.message_id)
    return InboundMessage(
        channel=CHANNEL,
        external_user_id=str(parsed.user_id),
        external_thread_id=str(parsed.chat_id),
        text=parsed.text,
        idempotency_key=parsed.idempotency_key,
        sender_name=parsed.sender_name,
        reply_to=reply_to,
        external_message_id=external_message_id,
        attachments=attachments,
        language=parsed.language,
        raw_ref=f"telegram:update:{parsed.update_id}",
        metadata=metadata,
    )


_SHORT_LABEL = 3  # labels this short (a rating scale) share one row


def keyboard_for(quick_replies: tuple[QuickReply, ...]) -> InlineKeyboardMarkup | None:
    """One button per row, or one row of short labels (a 1-5 rating scale, as a mail shows it on
    one line); payloads over 64 bytes travel as ``~index`` and come back as the label."""
    if not quick_replies:
        return None
    buttons = []
    for index, reply in enumerate(quick_replies):
        data = reply.payload
        if not data or len(data.encode()) > CALLBACK_DATA_MAX_BYTES or data.startswith(_LONG_PAYLOAD_PREFIX):
            data = f"{_LONG_PAYLOAD_PREFIX}{index}"
        buttons.append(InlineKeyboardButton(reply.label, callback_data=data))
    if all(len(reply.label) <= _SHORT_LABEL for reply in quick_replies):
        return InlineKeyboardMarkup([buttons])
    return InlineKeyboardMarkup([[button] for button in buttons])


def split_text(text: str, limit: int = MESSAGE_MAX_CHARS) -> list[str]:
    """Telegram refuses messages over 4096 characters; split at paragraph or line breaks."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    chunks.append(rest)
    return [c for c in chunks if c] or [""]


def outbound_chunks(message: OutboundMessage) -> list[tuple[str, tuple[MessageEntity, ...]]]:
    """The ``sendMessage`` texts for one reply, each with its formatting entities.

    An agent's reply starts with the agent's display name on its own bold line (``Ana:``), as
    web chat and email show it; bot replies go out as they are. The bold is a ``bold`` entity,
    not ``parse_mode`` markup, so nothing in the name or the text needs escaping.
    """
    if message.sender_role != SenderRole.AGENT:
        return [(chunk, ()) for chunk in split_text(message.text)]
    name = " ".join((message.sender_name or "").split())[:_NAME_MAX_CHARS] or "Agent"
    header = f"{name}:"
    first, *rest = split_text(message.text, MESSAGE_MAX_CHARS - len(header) - 1)
    bold = MessageEntity(MessageEntity.BOLD, offset=0, length=_utf16_length(header))
    return [(f"{header}\n{first}", (bold,)), *((chunk, ()) for chunk in rest)]


def _utf16_length(text: str) -> int:
    """Telegram counts entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
