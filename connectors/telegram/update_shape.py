"""The shape of a Telegram ``Update`` checked before python-telegram-bot reads it.

``Update.de_json`` trusts its input: a body of ``[1, 2]`` fails inside it with an
``AttributeError``, and ``"chat": {"id": "abc"}`` is accepted and only fails when the outbox
sends the reply, once per retry. Frontdesk validates the fields it reads (the ids it stores and
sends to) on the way in, so a bad update is a 400 that names the field, and nothing is stored.
Fields Frontdesk does not read are left to Telegram: unknown ones are allowed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from core.errors import FrontdeskError

__all__ = ["UpdateShapeError", "check_update"]


class UpdateShapeError(FrontdeskError, ValueError):
    """The body is not a Telegram update Frontdesk can handle; the message names the field."""


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _User(_Shape):
    id: StrictInt
    is_bot: StrictBool = False


class _Chat(_Shape):
    id: StrictInt


class _File(_Shape):
    """The fields of an attachment that translate.py reads (photo sizes add width and height)."""

    file_id: StrictStr
    file_unique_id: StrictStr
    file_size: StrictInt | None = None
    file_name: StrictStr | None = None
    mime_type: StrictStr | None = None


class _PhotoSize(_File):
    width: StrictInt
    height: StrictInt


class _Sticker(_Shape):
    emoji: StrictStr | None = None


class _Message(_Shape):
    message_id: StrictInt
    chat: _Chat
    from_: _User | None = Field(default=None, alias="from")
    text: StrictStr | None = None
    caption: StrictStr | None = None
    # A photo of {"width": {}} failed in translate.py with a 500 (found by the fuzzer).
    photo: list[_PhotoSize] | None = None
    document: _File | None = None
    audio: _File | None = None
    voice: _File | None = None
    video: _File | None = None
    sticker: _Sticker | None = None


class _CallbackQuery(_Shape):
    id: StrictStr
    from_: _User = Field(alias="from")
    data: StrictStr | None = None
    message: _Message | None = None


class _Update(_Shape):
    update_id: StrictInt
    message: _Message | None = None
    edited_message: _Message | None = None
    callback_query: _CallbackQuery | None = None


def check_update(data: Any) -> dict[str, Any]:
    """``data`` if it has the shape of a Telegram update, else :class:`UpdateShapeError`."""
    if not isinstance(data, dict):
        raise UpdateShapeError(
            f"the body must be a JSON object (a Telegram Update), not {type(data).__name__}"
        )
    try:
        _Update.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]).replace("from_", "from")
        raise UpdateShapeError(f"{where}: {first['msg']}") from None
    return data
