"""Builds the optional Telegram, email and Slack connectors from their config sections.

Kept out of :mod:`bot.app` so the composition root gains one loop, not a page: each channel
returns its connector and the routes it serves on Frontdesk's web server (Telegram's webhook).
Every collaborator is the app's own (:class:`ChannelParts`): a channel builds only its adapter,
never a second repository, writer or SLA rulebook.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.attachment_files import attachment_files
from bot.config import Settings
from bot.email_backend import EmailBackendImpl
from bot.slack_backend import SlackBackendImpl
from bot.telegram_backend import TelegramBackendImpl
from connectors.base import Connector
from connectors.email import EmailConnector
from connectors.slack import SlackConnector
from connectors.telegram import TelegramConnector
from rules.macros import Macros
from ticketing.access_audit import AccessAudit
from ticketing.accounts import Accounts
from ticketing.channel_files import DiskFiles
from ticketing.channel_state import ChannelState
from ticketing.customers import Customers
from ticketing.history import History
from ticketing.service import TicketingService
from ticketing.turns import Turns

__all__ = ["ChannelParts", "optional_channels"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelParts:
    """The app's collaborators the channels are built on, one instance each."""

    customers: Customers
    turns: Turns
    history: History
    state: ChannelState
    ticketing: TicketingService
    wake_outbox: Callable[[], None]
    accounts: Accounts
    macros: Callable[[], Macros] = Macros  # the live rulebook's macros.yml (Slack: bot/slack_macros.py)
    access_audit: AccessAudit | None = None  # who read whose data (Slack's customer view)


def optional_channels(
    settings: Settings, *, parts: ChannelParts
) -> list[tuple[Connector, list[web.RouteDef]]]:
    channels: list[tuple[Connector, list[web.RouteDef]]] = []
    if settings.telegram is not None:
        telegram = TelegramConnector(
            settings=settings.telegram,
            backend=TelegramBackendImpl(
                customers=parts.customers,
                history=parts.history,
                state=parts.state,
                files=DiskFiles(root=settings.resolve(settings.telegram.files_dir)),
                attachments=attachment_files(settings),
            ),
        )
        routes = telegram.routes() if settings.telegram.mode == "webhook" else []
        channels.append((telegram, routes))
    if settings.email is not None:
        backend = EmailBackendImpl(
            customers=parts.customers,
            turns=parts.turns,
            history=parts.history,
            state=parts.state,
            files=DiskFiles(root=settings.resolve(settings.email.files_dir)),
            attachments=attachment_files(settings),
        )
        channels.append((EmailConnector(settings=settings.email, backend=backend), []))
    if settings.slack is not None:  # agents' cards, threads, /ticket; customers' shared channels, DMs
        service = parts.ticketing
        slack = SlackConnector(
            settings=settings.slack,
            backend=SlackBackendImpl(
                desk=service.desk,
                threads=service.slack_threads,
                messages=service.slack_messages,
                views=service.views,
                feed=service.audit_feed("slack projection"),
                state=parts.state,
                accounts=parts.accounts,
                customers=parts.customers,
                files=attachment_files(settings),
                macros=parts.macros,
                access=parts.access_audit,
            ),
        )
        channels.append((slack, slack.routes() if settings.slack.mode == "http" else []))
    return channels
