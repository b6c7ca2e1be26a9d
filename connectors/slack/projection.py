"""Slack as a projection of the audit trail: cards, thread mirroring, SLA alerts.

One loop (only in the process that holds the ``slack-projection`` lock; on SQLite the one
process) reads ticket events and ticket-linked messages after a cursor kept in the database and
turns them into Web API calls: a ticket's first entry posts its card (the thread root), changes
update the card in place, customer and bot messages and agents' actions from elsewhere (CLI,
rules, SLA clocks) are posted into the thread. The cursor is saved only after Slack accepted
every call of a batch; while Slack is down or rate limited, :class:`SlackApi` waits and retries,
so nothing is skipped. Entries that came from Slack itself carry ``source: slack`` and are not
echoed. Delivery is at least once: a crash between a post and the cursor save re-posts a line.
A customer message's files follow its line into the thread (``connectors/slack/files.py``).
Every post's channel and ``ts`` is recorded against its ticket right after Slack accepted it
(:class:`~connectors.slack.backend.SlackCopies`), so erasing the customer can delete it.

On PostgreSQL transactions commit out of id order, so the feed stops before a hole in
the ids until it fills or cannot any more (``ticketing/commit_order.py``); while it waits
(``Feed.waiting``) the projection asks again every ``_GAP_POLL`` seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from connectors.slack.api import SlackApi, SlackRefused
from connectors.slack.backend import ProjectionFeed, SlackCopies, TicketCards
from connectors.slack.blocks import card_blocks, card_text, escape, thread_line
from connectors.slack.config import SlackSettings
from connectors.slack.files import ThreadFiles
from connectors.slack.identity import AgentDirectory
from connectors.slack.views import CardRef, FeedItem, TicketCard
from core.loops import BackgroundTask, Wakeup

__all__ = ["Projection"]

_LOGGER = logging.getLogger(__name__)
_ALERTS = ("sla_warning", "sla_breach", "escalated")
_CARD_ONLY = ("note", "notify")  # audit entries that do not change what the card shows
_GAP_POLL = 0.1  # seconds between looks while a batch waits for a gap to fill


class Projection:
    def __init__(
        self,
        *,
        settings: SlackSettings,
        api: SlackApi,
        feed: ProjectionFeed,
        cards: TicketCards,
        copies: SlackCopies,
        directory: AgentDirectory,
        files: ThreadFiles | None = None,
        batch: int = 100,
    ) -> None:
        self._settings = settings
        self._api = api
        self._feed = feed
        self._cards = cards
        self._copies = copies  # every post recorded, for erasing the customer (ticketing/slack_messages.py)
        self._directory = directory
        self._files = files  # customers' files into the thread (connectors/slack/files.py)
        self._batch = batch
        self._waiting = False  # the last batch stopped before a hole in the ids
        self._wake = Wakeup()
        self._cursor: tuple[int, int] | None = None
        self._dirty: dict[int, None] = {}
        self._loop = BackgroundTask(name="slack-projection")

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._loop.start(self._run())

    async def stop(self) -> None:
        await self._loop.stop()

    async def _run(self) -> None:
        while True:  # the lock's context ends if another process took it over: compete again
            async with self._feed.single_consumer("slack-projection"):
                _LOGGER.info("slack: this process projects tickets into Slack")
                self._cursor = None  # another process may have moved it meanwhile
                while True:
                    try:
                        moved = await self.step()
                    except Exception:
                        _LOGGER.exception("slack: projection step failed; retrying")
                        moved = False
                    if not moved:
                        pause = self._settings.poll_interval
                        if self._waiting:
                            pause = min(pause, _GAP_POLL)
                        await self._wake.wait(pause)

    async def step(self) -> bool:
        """Project one batch; returns whether there was anything to do."""
        if self._cursor is None:
            self._cursor = await self._feed.load_cursor()
            if self._cursor is None:  # first run: start at the present, do not replay history
                self._cursor = await self._feed.head()
                await self._feed.save_cursor(*self._cursor)
        before = self._cursor
        events, interactions = before
        feed = await self._feed.feed(after_event=events, after_interaction=interactions, limit=self._batch)
        created: set[int] = set()
        for item in feed.items:
            try:
                await self._apply(item, created)
            except SlackRefused as exc:  # retrying cannot help; say so and go on
                _LOGGER.error("slack: %s (T-id %d, %s %d skipped)", exc, item.ticket_id, item.source, item.id)
            if item.source == "event":
                events = item.id
            else:
                interactions = item.id
            self._cursor = (events, interactions)
        cursor = feed.cursor
        while self._dirty:
            ticket_id = next(iter(self._dirty))
            try:
                await self._update_card(ticket_id)
            except SlackRefused as exc:
                _LOGGER.error("slack: card of ticket id %d not updated: %s", ticket_id, exc)
            self._dirty.pop(ticket_id, None)
        self._cursor = cursor
        self._waiting = feed.waiting
        if cursor != before:
            await self._feed.save_cursor(*cursor)
        return cursor != before

    async def _apply(self, item: FeedItem, created: set[int]) -> None:
        ref = await self._cards.card_ref(item.ticket_id)
        if ref is None:
            ref = await self._post_card(item)
            created.add(item.ticket_id)
        covered = ref.covered_interaction_id
        if item.source == "interaction" and covered is not None and item.id <= covered:
            await self._mirror_files(ref, item)  # its text is on the card, its files are not
            return  # already on the card it was posted with
        if item.kind == "created" and item.ticket_id in created:
            return
        if item.kind not in _CARD_ONLY:
            self._dirty[item.ticket_id] = None
        if item.kind == "notify":
            await self._notify(item)
            return
        assignee: str | None = None
        card: TicketCard | None = None
        if item.kind in _ALERTS:
            card = await self._cards.card(item.ticket_id, last_messages=0)
            assignee = card.assignee
            if assignee is not None:
                await self._directory.user_for(assignee)
        line = thread_line(item, users=self._directory.users, assignee=assignee)
        if line is None:
            return
        await self._post(item, ref.channel, line, thread_ts=ref.ts)
        await self._mirror_files(ref, item)
        alerts = self._settings.alerts_channel
        if card is not None and alerts and alerts != ref.channel:
            await self._post(item, alerts, f"*{card.reference}* {escape(card.subject)}: {line}")

    async def _mirror_files(self, ref: CardRef, item: FeedItem) -> None:
        if self._files is not None and item.attachments:
            await self._files.mirror(ref.channel, ref.ts, item)

    async def _notify(self, item: FeedItem) -> None:
        name = str(item.data.get("slack") or "")
        channel = self._settings.channel_aliases.get(name) or self._settings.channel_aliases.get(
            name.lstrip("#")
        )
        card = await self._cards.card(item.ticket_id, last_messages=0)
        mention = ""
        if card.assignee is not None:
            user = await self._directory.user_for(card.assignee)
            mention = f" <@{user}>" if user else f" ({escape(card.assignee)})"
        text = escape(str(item.data.get("text") or card.reference)) + mention
        await self._post(item, channel or name, text)

    async def _post_card(self, item: FeedItem) -> CardRef:
        ticket_id = item.ticket_id
        card = await self._cards.card(ticket_id, last_messages=self._settings.last_messages, glance=True)
        if card.assignee is not None:
            await self._directory.user_for(card.assignee)
        data = await self._api.call(
            "chat.postMessage",
            channel=self._settings.channel_for_queue(card.queue),
            text=card_text(card),
            blocks=card_blocks(card, users=self._directory.users, console_url=self._settings.console_url),
            unfurl_links=False,
            unfurl_media=False,
        )
        ref = CardRef(str(data["channel"]), str(data["ts"]), card.last_interaction_id)
        await self._copies.posted(ticket_id, ref.channel, ref.ts, kind="card", shows=item.created_at)
        await self._cards.save_card_ref(ticket_id, ref)
        return ref

    async def _update_card(self, ticket_id: int) -> None:
        ref = await self._cards.card_ref(ticket_id)
        if ref is None:
            return
        card = await self._cards.card(ticket_id, last_messages=self._settings.last_messages, glance=True)
        if card.assignee is not None:
            await self._directory.user_for(card.assignee)
        await self._api.call(
            "chat.update",
            channel=ref.channel,
            ts=ref.ts,
            text=card_text(card),
            blocks=card_blocks(card, users=self._directory.users, console_url=self._settings.console_url),
        )

    async def _post(self, item: FeedItem, channel: str, text: str, *, thread_ts: str | None = None) -> None:
        """Post a line about ``item`` and record where it went (erasing the customer deletes it)."""
        kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        data = await self._api.call(
            "chat.postMessage", channel=channel, text=text, unfurl_links=False, unfurl_media=False, **kwargs
        )
        if data.get("channel") and data.get("ts"):
            await self._copies.posted(
                item.ticket_id, str(data["channel"]), str(data["ts"]), kind="message", shows=item.created_at
            )
