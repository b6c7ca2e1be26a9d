"""Files both ways between customers and a ticket's Slack thread.

Customers' files (stored by their channel when the message arrived) are uploaded into the thread
after the message's line, with slack_sdk's ``files_upload_v2`` flow (``files.getUploadURLExternal``,
the bytes POSTed to the returned URL, ``files.completeUploadExternal`` with the channel and
``thread_ts``). A file over the size limit, of a refused type, never kept by its channel or gone
from storage is named in a line instead, so it never holds the feed up. Retries follow the
projection's rules: Slack's 429 and 5xx wait and retry, and so does a failed upload POST
(:class:`~connectors.slack.api.SlackApi`); only ``completeUploadExternal`` shares a file, so a retried
flow shares it once.

Agents' files (a ``message`` event with ``files`` in a ticket's thread) are downloaded from
``url_private_download`` with the bot token, checked against the same limits and kept through
:class:`~connectors.slack.backend.FileStore`; the reply carries them to the customer. A file
that may not go is reported back to the agent, naming the file and why.
"""

from __future__ import annotations

import aiohttp

from connectors.slack.api import SlackApi, SlackRefused, SlackUnavailable
from connectors.slack.backend import FileStore, SlackCopies
from connectors.slack.blocks import escape
from connectors.slack.config import FileSettings, human_size
from connectors.slack.translate import SlackFile
from connectors.slack.views import FeedItem
from core.contracts import Attachment

__all__ = ["AgentFiles", "ThreadFiles"]

# The raw copy of a customer's mail, kept beside its attachments (connectors/email/ingest.py):
# the agents' record of what arrived, not a file the customer sent.
_RAW_MAIL = "email/raw/"
_GONE_STATUSES = frozenset({403, 404, 410})
_DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120)


class ThreadFiles:
    """Uploads a customer message's files into its ticket's thread."""

    def __init__(
        self, *, settings: FileSettings, api: SlackApi, store: FileStore, copies: SlackCopies
    ) -> None:
        self._settings = settings
        self._api = api
        self._store = store
        self._copies = copies  # uploads and lines recorded, for erasing the customer

    async def mirror(self, channel: str, thread_ts: str, item: FeedItem) -> None:
        """Every file of a customer's message into the thread (or a line saying why not)."""
        if item.source != "interaction" or item.direction != "in":
            return
        for attachment in item.attachments:
            key = attachment.storage_key
            if key is not None and key.startswith(_RAW_MAIL):
                continue
            why = self._why_not(attachment)
            data = None
            if why is None and key is not None:
                data = await self._store.read_file(key)
                if data is None:
                    why = "it is no longer stored"
            if data is None:
                await self._line(
                    item, channel, thread_ts, attachment, why or "it was not kept when it arrived"
                )
                continue
            try:
                await self._upload(item, channel, thread_ts, attachment, data)
            except SlackRefused as exc:  # this file only (an empty one, say): the others still go
                await self._line(item, channel, thread_ts, attachment, f"Slack refused it ({exc.error})")

    def _why_not(self, attachment: Attachment) -> str | None:
        refusal = self._settings.refusal(attachment.filename, attachment.content_type, attachment.size)
        return None if refusal is None else "it " + refusal.removeprefix(attachment.filename).lstrip()

    async def _line(
        self, item: FeedItem, channel: str, thread_ts: str, attachment: Attachment, why: str
    ) -> None:
        text = (
            f":paperclip: The customer sent *{escape(attachment.filename)}* "
            f"({human_size(attachment.size)}), not uploaded here: {escape(why)}"
        )
        data = await self._api.call(
            "chat.postMessage", channel=channel, thread_ts=thread_ts, text=text, unfurl_links=False
        )
        if data.get("ts"):
            where = str(data.get("channel") or channel)
            await self._copies.posted(
                item.ticket_id, where, str(data["ts"]), kind="message", shows=item.created_at
            )

    async def _upload(
        self, item: FeedItem, channel: str, thread_ts: str, attachment: Attachment, data: bytes
    ) -> None:
        """Upload and share the file; its id is recorded (``files.delete`` removes the shares too)."""
        answer = await self._api.call(
            "files.upload_v2",
            filename=attachment.filename,
            title=attachment.filename,
            content=data,
            channel=channel,
            thread_ts=thread_ts,
        )
        for file in answer.get("files") or ():
            if isinstance(file, dict) and isinstance(file.get("id"), str):
                await self._copies.posted(
                    item.ticket_id, channel, file["id"], kind="file", shows=item.created_at
                )


class AgentFiles:
    """Takes the files an agent posted in a ticket's thread: downloads, checks and keeps them."""

    def __init__(self, *, settings: FileSettings, api: SlackApi, store: FileStore, token: str) -> None:
        self._settings = settings
        self._api = api
        self._store = store
        self._token = token

    async def take(self, files: tuple[SlackFile, ...]) -> tuple[tuple[Attachment, ...], list[str]]:
        """The files that may go to the customer (stored), and why each other one may not.

        Raises:
            SlackUnavailable: Slack could not serve a file now; the event should be retried.
        """
        kept: list[Attachment] = []
        refused: list[str] = []
        for file in files:
            why = self._settings.refusal(file.name, file.mimetype, file.size)
            if why is None:
                data, why = await self._download(file)
                if data is not None:
                    why = self._settings.refusal(file.name, file.mimetype, len(data))
                    if why is None:
                        key = await self._store.store_file(
                            filename=file.name, content_type=file.mimetype, data=data
                        )
                        kept.append(Attachment(file.name, file.mimetype, len(data), storage_key=key))
            if why is not None:
                refused.append(why)
        return tuple(kept), refused

    async def _download(self, file: SlackFile) -> tuple[bytes | None, str | None]:
        url = file.url or await self._url_of(file.id)
        if url is None:
            return None, f"{file.name} could not be found in Slack"
        headers = {"Authorization": f"Bearer {self._token}"}
        limit = self._settings.max_bytes
        try:
            async with (
                aiohttp.ClientSession(timeout=_DOWNLOAD_TIMEOUT) as session,
                session.get(url, headers=headers) as response,
            ):
                if response.status in _GONE_STATUSES:
                    return None, f"{file.name} could not be downloaded from Slack (HTTP {response.status})"
                if response.status != 200:
                    raise SlackUnavailable(f"download of a file: HTTP {response.status}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(64 * 1024):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > limit:  # over the limit: refused by the caller
                        break
                data = b"".join(chunks)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise SlackUnavailable(f"download of a file: {type(exc).__name__}") from None
        return data, None

    async def _url_of(self, file_id: str) -> str | None:
        data = await self._api.call("files.info", retry=False, file=file_id)
        info = data.get("file") or {}
        url = info.get("url_private_download") or info.get("url_private")
        return url if isinstance(url, str) else None
