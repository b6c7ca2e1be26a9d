"""Registers the name of every channel this build has with :mod:`core.channels`, on import.

The composition root knows the connectors; rules only know what is registered, and a rule's
``channel:`` condition or a rule test's ``channel`` is checked against it. Imported by
:mod:`bot.knowledge`, which every rulebook load goes through (the app and the rules CLI); each
name comes from a module that declares nothing else, so
registering them loads no connector. The order here is the order errors list the names in.
"""

from __future__ import annotations

from connectors.console import CHANNEL as CONSOLE
from connectors.email.channel_name import CHANNEL as EMAIL
from connectors.slack.channel_name import CHANNEL as SLACK
from connectors.telegram.channel_name import CHANNEL as TELEGRAM
from connectors.webchat.channel_name import CHANNEL as WEBCHAT
from core.channels import register_channel

__all__ = ["CHANNEL_NAMES"]

CHANNEL_NAMES = tuple(register_channel(name) for name in (WEBCHAT, SLACK, TELEGRAM, EMAIL, CONSOLE))
