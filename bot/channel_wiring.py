"""Builds the optional Telegram and email connectors from their config sections.

Kept out of :mod:`bot.app` so the composition root gains one loop, not a page: each channel
returns its connector and the routes it serves on Frontdesk's web server (Telegram's webhook).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channel_files import DiskFiles
from bot.config import Settings
from bot.email_backend import EmailBackendImpl
from bot.slack_backend import build_slack
from bot.telegram_backend import TelegramBackendImpl
from connectors.base import Connector
from connectors.email import EmailConnector
from connectors.telegram import TelegramConnector
from ticketing.customers import Customers

__all__ = ["optional_channels"]


def optional_channels(
    settings: Settings,
    *,
    engine: AsyncEngine,
    customers: Customers,
    wake_outbox: Callable[[], None] | None = None,
) -> list[tuple[Connector, list[web.RouteDef]]]:
    channels: list[tuple[Connector, list[web.RouteDef]]] = []
    if settings.telegram is not None:
        telegram = TelegramConnector(
            settings=settings.telegram,
            backend=TelegramBackendImpl(
                engine=engine,
                customers=customers,
                files=DiskFiles(root=settings.resolve(settings.telegram.files_dir)),
            ),
        )
        routes = telegram.routes() if settings.telegram.mode == "webhook" else []
        channels.append((telegram, routes))
    if settings.email is not None:
        files = DiskFiles(root=settings.resolve(settings.email.files_dir))
        email = EmailConnector(settings=settings.email, backend=EmailBackendImpl(engine=engine, files=files))
        channels.append((email, []))
    if settings.slack is not None:  # the agents' channel: ticket cards, threads, /ticket (docs/slack.md)
        slack = build_slack(
            settings.slack, engine=engine, rulebook_dir=settings.rulebook_dir, wake_outbox=wake_outbox
        )
        channels.append((slack, slack.routes() if settings.slack.mode == "http" else []))
    return channels
