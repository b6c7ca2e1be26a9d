"""Recorded Slack payloads (``tests/slack/payloads/*.json``) with the fields a test changes."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

_DIR = Path(__file__).parent / "payloads"
_ids = itertools.count(1)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_DIR / f"{name}.json").read_text())
    return copy.deepcopy(data)


def thread_message(
    text: str,
    *,
    thread_ts: str,
    user: str = "U0ALICE",
    channel: str = "C0SUPPORT",
    event_id: str | None = None,
) -> dict[str, Any]:
    body = load("event_message_thread")
    n = next(_ids)
    body["event_id"] = event_id or f"Ev0TEST{n:06d}"
    body["event"].update(text=text, thread_ts=thread_ts, user=user, channel=channel, ts=f"1700009999.{n:06d}")
    return body


def button(
    action_id: str, number: int, *, user: str = "U0ALICE", action_ts: str | None = None
) -> dict[str, Any]:
    body = load("block_actions_button")
    action = body["actions"][0]
    action.update(
        action_id=action_id, value=str(number), action_ts=action_ts or f"1700008888.{next(_ids):06d}"
    )
    body["user"]["id"] = user
    return body


def priority(number: int, value: str, *, user: str = "U0ALICE") -> dict[str, Any]:
    body = load("block_actions_priority")
    action = body["actions"][0]
    action["selected_option"]["value"] = f"{number}:{value}"
    action["action_ts"] = f"1700007777.{next(_ids):06d}"
    body["user"]["id"] = user
    return body


def command(text: str, *, user: str = "U0ALICE") -> dict[str, str]:
    fields = {k: str(v) for k, v in load("slash_command").items()}
    fields.update(text=text, user_id=user, trigger_id=f"6000000000{next(_ids):03d}.1.abc")
    return fields
