"""Deleting an erased customer's messages from Slack: a job that drains the pending deletions.

Erasing a customer (``ticketing/customer_admin.py``) turns the Slack messages that showed them
into pending deletions in its own transaction (``ticketing/slack_messages.py``); this loop (one
process at a time: the ``slack-erasure`` lock, as the projection's) deletes them with the bot
token: ``chat.delete`` for a message the bot posted (thread lines, the bot's and agents'
answers in a Slack customer's channel or DM), ``files.delete`` for a file it uploaded (which
removes the file's shares too). A ticket card, the root of the ticket's thread, is not deleted
but redacted with ``chat.update``: the thread below it holds what agents wrote themselves
(internal notes, replies typed in Slack), which the bot cannot delete, and the ticket, whose
statistics stay, must still be findable from it.

Slack unavailable (network, 5xx, 429): that deletion is tried again later with a growing backoff,
and the round ends. ``message_not_found`` / ``file_not_found`` count as done (someone deleted it
already). Any other refusal (``cant_delete_message``, ``not_in_channel``…) is kept as ``failed``
with Slack's error and logged: the channel and ``ts`` only, never the text.
"""

from __future__ import annotations

import asyncio
import logging

from connectors.slack.api import SlackApi, SlackRefused, SlackUnavailable
from connectors.slack.backend import ProjectionFeed, SlackCopies
from connectors.slack.views import SlackDeletion
from core.loops import BackgroundTask

__all__ = ["REDACTED_CARD", "SlackErasure"]

_LOGGER = logging.getLogger(__name__)
_GONE = frozenset({"message_not_found", "file_not_found", "file_deleted"})
REDACTED_CARD = ":wastebasket: This ticket's customer was erased: their data was removed from Slack."


class SlackErasure:
    def __init__(
        self,
        *,
        api: SlackApi,
        copies: SlackCopies,
        feed: ProjectionFeed,
        poll_interval: float,
        batch: int = 50,
    ) -> None:
        self._api = api
        self._copies = copies
        self._feed = feed  # for its single-consumer lock
        self._poll = poll_interval
        self._batch = batch
        self._loop = BackgroundTask(name="slack-erasure")

    async def start(self) -> None:
        self._loop.start(self._run())

    async def stop(self) -> None:
        await self._loop.stop()

    async def _run(self) -> None:
        while True:  # the lock's context ends if another process took it over: compete again
            async with self._feed.single_consumer("slack-erasure"):
                while True:
                    try:
                        busy = await self.step()
                    except Exception:
                        _LOGGER.exception("slack: erasure step failed; retrying")
                        busy = False
                    if not busy:
                        await asyncio.sleep(self._poll)  # an erase is picked up within a poll

    async def step(self) -> bool:
        """One round of due deletions; True if a full batch went (there may be more)."""
        due = await self._copies.deletions_due(limit=self._batch)
        for deletion in due:
            try:
                await self._delete(deletion)
            except SlackUnavailable as exc:
                await self._copies.deletion_later(deletion.id, str(exc))
                return False  # Slack is down or rate limited: the rest waits for the next round
            except SlackRefused as exc:
                if exc.error in _GONE:
                    await self._copies.deletion_done(deletion.id)
                    continue
                _LOGGER.error(
                    "slack: %s %s in %s of an erased customer not deleted: %s",
                    deletion.kind, deletion.ts, deletion.channel, exc.error,
                )  # fmt: skip
                await self._copies.deletion_refused(deletion.id, exc.error)
                continue
            await self._copies.deletion_done(deletion.id)
        return len(due) >= self._batch

    async def _delete(self, deletion: SlackDeletion) -> None:
        if deletion.kind == "file":
            await self._api.call("files.delete", retry=False, file=deletion.ts)
        elif deletion.kind == "card":
            await self._api.call(
                "chat.update", retry=False, channel=deletion.channel, ts=deletion.ts, text=REDACTED_CARD,
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": REDACTED_CARD}}],
            )  # fmt: skip
        else:
            await self._api.call("chat.delete", retry=False, channel=deletion.channel, ts=deletion.ts)
