"""The Slack channel for agents: ticket cards, threads, buttons, ``/ticket`` and App Home."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.slack.config import SlackSettings
    from connectors.slack.connector import SlackConnector

__all__ = ["SlackConnector", "SlackSettings"]

# Loaded on first use: the package is also imported for its name (``channel_name``), which must
# stay cheap (``frontdesk rules check`` registers every channel's name).
_LAZY = {"SlackSettings": "connectors.slack.config", "SlackConnector": "connectors.slack.connector"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
