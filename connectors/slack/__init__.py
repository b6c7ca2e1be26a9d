"""The Slack channel for agents: ticket cards, threads, buttons, ``/ticket`` and App Home."""

from connectors.slack.config import SlackSettings
from connectors.slack.connector import SlackConnector

__all__ = ["SlackConnector", "SlackSettings"]
