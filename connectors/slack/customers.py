"""Customers in Slack: shared (Slack Connect) channels and direct messages to the app.

The customers' side of the Slack connector, beside the agents' side in
:mod:`connectors.slack.connector`. A message from a customer (anyone but the bot, other bots
and agents) in a channel of ``customer_channels`` or, with ``customer_dms``, in a DM is an
inbound message like any channel's: it goes to the flow's sink and returns once committed (the
listener runs before Slack gets its 200; a failure answers 500 and Slack's retry, with the same
``event_id``, is a duplicate the flow answers from its dedup record). Replies (the bot's, and
agents' from the internal ticket thread, the CLI or the API) come back through the outbox to
:meth:`CustomerSide.send`, which posts them in the customer's thread. The ticket's card and
internal thread stay in the ticket channels: nothing here posts anything else into a customer's
channel.

Who wrote is ``TEAM:USER``; the name comes from ``users.info``. The profile's e-mail address is
kept only as the customer's *claimed* e-mail (shown to agents as unverified, never linked on):
Frontdesk cannot tell how a Slack Connect partner's workspace verified it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from connectors.base import DeliveryError
from connectors.slack.api import SlackApi, SlackRefused, SlackUnavailable
from connectors.slack.backend import CustomerProfiles, FileStore
from connectors.slack.blocks import escape
from connectors.slack.config import SlackSettings
from connectors.slack.customer_messages import (
    inbound_message,
    outbound_text,
    parse_customer_message,
    thread_of,
)
from connectors.slack.files import AgentFiles
from connectors.slack.identity import AgentDirectory
from core.contracts import Attachment, InboundSink, OutboundMessage

__all__ = ["CustomerSide"]

_LOGGER = logging.getLogger(__name__)


class CustomerSide:
    def __init__(
        self,
        *,
        settings: SlackSettings,
        api: SlackApi,
        directory: AgentDirectory,
        profiles: CustomerProfiles,
        files: AgentFiles,
        store: FileStore,
        ttl: float = 600.0,
    ) -> None:
        self._settings = settings
        self._files = files  # downloads, checks and keeps the files customers post
        self._store = store  # the bytes of files going to customers
        self._api = api
        self._directory = directory
        self._profiles = profiles
        self._ttl = ttl
        self._sink: InboundSink | None = None
        self._people: dict[str, tuple[float, str | None, str | None]] = {}  # user → (at, name, email)
        self._claimed: set[tuple[str, str]] = set()  # (external user id, email) kept as claims
        internal = (settings.default_channel, *settings.queues.values(), settings.alerts_channel)
        self._internal = frozenset(c for c in (*internal, *settings.channel_aliases.values()) if c)

    @property
    def enabled(self) -> bool:
        return bool(self._settings.customer_channels) or self._settings.customer_dms

    def attach(self, sink: InboundSink) -> None:
        self._sink = sink

    def detach(self) -> None:
        self._sink = None

    def wants(self, event: Mapping[str, Any]) -> bool:
        """Whether a message event belongs to the customers' side (checked before the agents')."""
        channel = event.get("channel")
        channel_type = event.get("channel_type")
        return isinstance(channel, str) and self._settings.is_customer_place(
            channel, channel_type if isinstance(channel_type, str) else None
        )

    async def receive(self, body: Mapping[str, Any]) -> None:
        """One customer message to the flow; returns once it is committed."""
        message = parse_customer_message(body)
        if message is None:
            return  # an edit, a deletion, a bot's post, an empty message
        if await self._directory.allowed(message.user):
            return  # an agent in a shared channel: agents answer from the ticket's thread
        sink = self._sink
        if sink is None:
            raise RuntimeError("slack connector is not started")  # 500: Slack retries
        name, email = await self._person(message.user)
        name = name or message.profile_name
        # A file Slack cannot serve now raises SlackUnavailable: 500, and Slack retries the event.
        attachments, refused = await self._files.take(message.files)
        inbound = inbound_message(message, name=name, attachments=attachments)
        if email and (inbound.external_user_id, email) not in self._claimed:
            await self._profiles.claim_email(
                inbound.channel, inbound.external_user_id, inbound.external_thread_id, name=name, email=email
            )
            self._claimed.add((inbound.external_user_id, email))
        result = await sink(inbound)
        for why in () if result.duplicate else refused:  # only the customer sees it, in their thread
            await self._tell(message.channel, message.user, message.root_ts, f"Not received: {why}.")

    async def send(self, message: OutboundMessage) -> str | None:
        """Post one reply in the customer's thread; returns its ``ts``."""
        where = thread_of(message)
        if where is None:
            raise DeliveryError(f"not a Slack customer thread: {message.external_thread_id!r}")
        channel, root = where
        if channel in self._internal:  # never: a ticket channel is the agents' alone
            raise DeliveryError(f"{channel} is a ticket channel; customers are not addressed there")
        text = outbound_text(message)
        uploads, missing = await self._uploads(message.attachments)
        if missing:
            text += "\n_Not attached (no longer stored): " + escape(", ".join(missing)) + "_"
        thread: dict[str, str] = {"thread_ts": root} if root else {}  # a DM: in the DM itself
        try:
            if uploads:  # the text and every file in one message: completeUploadExternal shares them once
                data = await self._api.call(
                    "files.upload_v2", retry=False, file_uploads=uploads, channel=channel,
                    initial_comment=text, **thread,
                )  # fmt: skip
                return _first_file_id(data)
            data = await self._api.call(
                "chat.postMessage", retry=False, channel=channel, text=text,
                unfurl_links=False, unfurl_media=False, **thread,
            )  # fmt: skip
        except SlackUnavailable as exc:
            raise DeliveryError(f"Slack unavailable ({exc})") from None
        except SlackRefused as exc:
            raise DeliveryError(str(exc)) from None
        ts = data.get("ts")
        return ts if isinstance(ts, str) else None

    async def _uploads(self, attachments: tuple[Attachment, ...]) -> tuple[list[dict[str, Any]], list[str]]:
        """``files_upload_v2`` entries of the reply's files, and the names of those gone from storage."""
        uploads: list[dict[str, Any]] = []
        missing: list[str] = []
        for attachment in attachments:
            data = await self._store.read_file(attachment.storage_key) if attachment.storage_key else None
            if data is None:
                missing.append(attachment.filename)
            else:
                uploads.append(
                    {"content": data, "filename": attachment.filename, "title": attachment.filename}
                )
        return uploads, missing

    async def _tell(self, channel: str, user: str, thread_ts: str, text: str) -> None:
        try:
            await self._api.call(
                "chat.postEphemeral", retry=False, channel=channel, user=user, text=text, thread_ts=thread_ts
            )
        except (SlackRefused, SlackUnavailable) as exc:
            _LOGGER.info("slack: a customer was not told about a refused file: %s", exc)

    async def _person(self, user: str) -> tuple[str | None, str | None]:
        """The user's name and profile e-mail from ``users.info`` (cached), or Nones."""
        cached = self._people.get(user)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1], cached[2]
        try:
            data = await self._api.call("users.info", retry=False, user=user)
        except (SlackRefused, SlackUnavailable) as exc:
            _LOGGER.info("slack: no profile for a customer (%s)", exc)
            return None, None
        found = data.get("user") or {}
        profile = found.get("profile") or {}
        name = next(
            (
                str(v).strip()
                for v in (
                    profile.get("real_name"),
                    found.get("real_name"),
                    profile.get("display_name"),
                    found.get("name"),
                )
                if isinstance(v, str) and v.strip()
            ),
            None,
        )
        email = profile.get("email")
        value = (time.monotonic(), name, email if isinstance(email, str) and "@" in email else None)
        self._people[user] = value
        return value[1], value[2]


def _first_file_id(data: Mapping[str, Any]) -> str | None:
    files = data.get("files")
    first = files[0] if isinstance(files, list) and files else None
    file_id = first.get("id") if isinstance(first, Mapping) else None
    return file_id if isinstance(file_id, str) else None
