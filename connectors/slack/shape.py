"""The types of the envelope fields bolt reads before any listener runs.

bolt assumes a signed body has Slack's shape: it calls ``body["event"].get(...)`` and indexes
``body["actions"][0]["action_id"]`` unchecked, so a signed body with one of those of the wrong
type failed inside bolt's middleware with a 500 and a traceback (found by the fuzzer in
tests/reliability/). Only the holder of the signing secret can send one, but a wrong type is
still a client's mistake: :func:`shape_problem` names it, and the request gets a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["shape_problem"]

_TOP: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "event": dict,
    "actions": list,
    "view": dict,
    "team": (dict, type(None)),
    "user": dict,
    "enterprise": (dict, type(None)),
    "channel": dict,
    "container": dict,
    "message": dict,
    "state": dict,
    "authorizations": list,
    "event_id": str,
    "team_id": str,
    "enterprise_id": (str, type(None)),
    "api_app_id": str,
    "callback_id": str,
    "trigger_id": str,
    "response_url": str,
    "is_enterprise_install": (bool, str),  # a slash command sends "false" as a form field
    "is_ext_shared_channel": bool,
}
_EVENT: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "subtype": (str, type(None)),
    "user": (str, dict),
    "channel": (str, dict),
    "text": str,
    "ts": str,
    "thread_ts": str,
    "bot_id": str,
    "message": dict,
    "previous_message": dict,
    "team": str,
    "view": dict,
}
_ACTION: dict[str, type | tuple[type, ...]] = {"action_id": str, "block_id": str, "type": str}


def shape_problem(body: Any) -> str | None:
    """The first envelope field of the wrong type (``"event.user: str expected"``), or None.

    Slash commands (form fields, all strings) pass: none of their names is checked here
    except the ones a command never sends.
    """
    if not isinstance(body, Mapping):
        return "body: an object expected"
    problem = _fields(body, _TOP, "")
    if problem is not None:
        return problem
    event = body.get("event")
    if isinstance(event, Mapping):
        problem = _fields(event, _EVENT, "event.")
        if problem is not None:
            return problem
    for index, item in enumerate(body.get("actions") or ()):
        if not isinstance(item, Mapping):
            return f"actions[{index}]: an object expected"
        problem = _fields(item, _ACTION, f"actions[{index}].")
        if problem is not None:
            return problem
    for index, item in enumerate(body.get("authorizations") or ()):
        if not isinstance(item, Mapping):
            return f"authorizations[{index}]: an object expected"
    for name in ("team", "user", "enterprise", "channel"):
        part = body.get(name)
        if isinstance(part, Mapping) and not isinstance(part.get("id", ""), (str, type(None))):
            return f"{name}.id: a string expected"
    return None


def _fields(node: Mapping[str, Any], types: Mapping[str, type | tuple[type, ...]], prefix: str) -> str | None:
    for name, expected in types.items():
        if name in node and not isinstance(node[name], expected):
            wanted = expected if isinstance(expected, tuple) else (expected,)
            names = " or ".join("null" if t is type(None) else t.__name__ for t in wanted)
            return f"{prefix}{name}: {names} expected"
    return None
