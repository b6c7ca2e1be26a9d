"""Factories for Telegram update JSON as the Bot API sends it (PTB ``make_message`` style)."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(100)

CUSTOMER = {
    "id": 777001,
    "is_bot": False,
    "first_name": "Ada",
    "last_name": "Lovelace",
    "username": "ada",
    "language_code": "en",
}


def message(
    text: str | None = None,
    *,
    update_id: int | None = None,
    message_id: int | None = None,
    chat_id: int = 777001,
    user: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": message_id if message_id is not None else next(_ids),
        "date": 1_700_000_000,
        "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
        "from": user or CUSTOMER,
        **fields,
    }
    if text is not None:
        body["text"] = text
    return {"update_id": update_id if update_id is not None else next(_ids), "message": body}


def edited(text: str, *, message_id: int, update_id: int | None = None) -> dict[str, Any]:
    update = message(text, message_id=message_id, update_id=update_id, edit_date=1_700_000_100)
    update["edited_message"] = update.pop("message")
    return update


def button(data: str, *, bot_message: dict[str, Any], update_id: int | None = None) -> dict[str, Any]:
    return {
        "update_id": update_id if update_id is not None else next(_ids),
        "callback_query": {
            "id": f"cbq-{next(_ids)}",
            "from": CUSTOMER,
            "chat_instance": "ci-1",
            "data": data,
            "message": bot_message,
        },
    }
