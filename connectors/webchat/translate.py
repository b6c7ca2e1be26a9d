"""Web chat wire format ↔ Frontdesk messages, as pure functions.

Everything a browser sends is checked here before it reaches the flow: body encoding, JSON
syntax, the exact set of fields and their types, text limits. Each failure is a
:class:`BadRequest` whose message tells the client what to fix.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from connectors.base import BadRequest
from connectors.webchat.channel_name import CHANNEL
from core.contracts import Attachment, InboundMessage, MessageView, OutboundMessage, SenderRole

__all__ = [
    "BadRequest",
    "IdentifyBody",
    "SendBody",
    "SessionBody",
    "check_text",
    "file_url",
    "inbound_message",
    "loads_or_none",
    "message_json",
    "parse_body",
    "served_files",
    "view_of_inbound",
    "view_of_outbound",
]


M = TypeVar("M", bound=BaseModel)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


ClientMessageId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,100}$")]


# The browser's language (navigator.language, "de-DE"): a hint, used when the text's language
# is not detected and the conversation has none yet (docs/nlp.md).
LanguageTag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8}){0,3}$")]


class SendBody(_Body):
    client_message_id: ClientMessageId
    text: str
    language: LanguageTag | None = None


class SessionBody(_Body):
    token: str | None = None


class IdentifyBody(_Body):
    # No control characters (NUL above all: PostgreSQL cannot store it in text).
    name: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
            ),
        ]
        | None
    ) = None
    email: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True,
                max_length=320,
                pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$",
            ),
        ]
        | None
    ) = Field(default=None)


MAX_JSON_DEPTH = 1024  # orjson's limit: deeper bodies fall back to the standard library


def parse_body(raw: bytes, model: type[M]) -> M:
    """Decode, parse and validate a request body; empty bodies count as ``{}``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(
            400,
            "invalid_utf8",
            f"request body is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
        ) from None
    if not text.strip():
        data: Any = {}
    else:
        try:
            data = _loads(text)
        except json.JSONDecodeError as exc:
            raise BadRequest(
                400,
                "invalid_json",
                f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            ) from None
    if not isinstance(data, dict):
        raise BadRequest(
            422, "invalid_body", f"request body must be a JSON object, not {type(data).__name__}"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(422, "invalid_fields", _describe(exc, model)) from None


def _loads(text: str) -> Any:
    """orjson, several times faster; what it refuses goes to the standard library, which either
    accepts it as it always did (NaN, integers past 64 bits) or explains the error.

    The fallback is where hostile bodies end up: nesting orjson refuses sends the standard
    library into recursion, and an integer of thousands of digits hits Python's conversion
    limit. Both are the client's mistake, so both become a 400 that says what to fix.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise BadRequest(
            400, "invalid_json", f"request body is nested too deeply: at most {MAX_JSON_DEPTH} levels"
        ) from None
    except ValueError as exc:  # e.g. an integer past the digit limit of int()
        raise BadRequest(400, "invalid_json", f"request body is not valid JSON here: {exc}") from None


def loads_or_none(data: str) -> Any:
    """A JSON frame, or None for anything that is not one (bad syntax, hostile nesting, huge
    numbers): WebSocket frames are answered, never allowed to fail the connection."""
    try:
        return _loads(data)
    except (BadRequest, ValueError):
        return None


def _describe(exc: ValidationError, model: type[BaseModel]) -> str:
    allowed = ", ".join(model.model_fields)
    problems = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown field {where!r} (allowed: {allowed})")
        elif err["type"] == "missing":
            problems.append(f"field {where!r} is required")
        elif err["type"] == "string_pattern_mismatch" and where == "client_message_id":
            problems.append("client_message_id must be 1-100 characters of A-Z a-z 0-9 . _ : -")
        elif err["type"] == "string_pattern_mismatch" and where == "email":
            problems.append("email is not a valid email address")
        elif err["type"] == "string_pattern_mismatch" and where == "name":
            problems.append("name must not contain control characters (such as NUL or line breaks)")
        else:
            problems.append(f"{where}: {err['msg']}")
    return "; ".join(problems)


def check_text(text: str, *, max_chars: int, files: int = 0) -> str:
    if not text.strip() and not files:  # a message of files only has an empty text
        raise BadRequest(422, "empty_text", "text must not be empty")
    if len(text) > max_chars:
        raise BadRequest(413, "text_too_long", f"text is {len(text)} characters; the limit is {max_chars}")
    if "\x00" in text:
        raise BadRequest(422, "invalid_text", "text contains a NUL character (\\u0000); remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest(
            422, "invalid_text", f"text contains an unpaired UTF-16 surrogate at position {exc.start}"
        ) from None
    return text


def inbound_message(
    *,
    visitor_id: str,
    conversation_id: str,
    body: SendBody,
    received_at: datetime,
    max_chars: int,
    attachments: tuple[Attachment, ...] = (),
) -> InboundMessage:
    text = check_text(body.text, max_chars=max_chars, files=len(attachments))
    return InboundMessage(
        channel=CHANNEL,
        external_user_id=visitor_id,
        external_thread_id=conversation_id,
        text=text,
        idempotency_key=f"{conversation_id}:{body.client_message_id}",
        received_at=received_at,
        external_message_id=body.client_message_id,
        conversation_must_exist=True,  # only POST /api/v1/sessions opens one
        language=body.language,
        attachments=attachments,
    )


def view_of_outbound(message: OutboundMessage) -> MessageView:
    return MessageView(
        id=message.interaction_id,
        direction="out",
        sender_role=message.sender_role,
        sender_name=message.sender_name,
        text=message.text,
        created_at=message.created_at,
        quick_replies=message.quick_replies,
        attachments=served_files(message.interaction_id, message.attachments),
    )


def file_url(interaction_id: int, index: int) -> str:
    """Where the widget downloads a message's file (with its session token, like every call)."""
    return f"/api/v1/files?message={interaction_id}&index={index}"


def served_files(interaction_id: int, attachments: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
    """A message's files as the widget sees them: name, type, size and download URL (the stored
    files only; never a storage key)."""
    return tuple(
        Attachment(a.filename, a.content_type, a.size, url=file_url(interaction_id, index))
        for index, a in enumerate(attachments)
        if a.storage_key is not None
    )


def view_of_inbound(message: InboundMessage, *, interaction_id: int, created_at: datetime) -> MessageView:
    return MessageView(
        id=interaction_id,
        direction="in",
        sender_role=SenderRole.CUSTOMER,
        sender_name=message.sender_name,
        text=message.text,
        created_at=created_at,
        external_message_id=message.external_message_id,
        attachments=served_files(interaction_id, message.attachments),
    )


def message_json(view: MessageView) -> dict[str, Any]:
    return {
        "id": view.id,
        "direction": view.direction,
        "sender": view.sender_role.value,
        "sender_name": view.sender_name,
        "text": view.text,
        "created_at": view.created_at.isoformat(),
        "client_message_id": view.external_message_id if view.direction == "in" else None,
        "quick_replies": [{"label": q.label, "payload": q.payload} for q in view.quick_replies],
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "url": a.url}
            for a in view.attachments
        ],
    }
