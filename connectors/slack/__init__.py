"""The Slack channel for agents: ticket cards, threads, buttons, ``/ticket`` and App Home.

The connector, and slack_bolt with it, is imported on first use: reading config.yaml needs only
:class:`SlackSettings`, and commands such as ``frontdesk tickets`` never start a channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.slack.config import SlackSettings

if TYPE_CHECKING:
    from connectors.slack.connector import SlackConnector

__all__ = ["SlackConnector", "SlackSettings"]


def __getattr__(name: str) -> Any:
    if name == "SlackConnector":
        from connectors.slack.connector import SlackConnector

        return SlackConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
