"""Mailing the agents' web chat replies a visitor did not see (``ticketing/reply_copies.py``).

Every ``webchat.email_replies.check_seconds`` the leading process queues an email copy of each
agent reply that is ``after_seconds`` old and was not shown in an open widget, to the address
the visitor left, and wakes the outbox, which sends it through the email channel. Runs only
with the email channel configured. The mail's subject and the line under the reply come from
``responses.yml`` (``reply_by_email_subject``, ``reply_by_email_footer``) in the conversation's
language, else built-in English: they must say why the visitor gets this mail and where to
answer. docs/webchat-api.md, "Replies by email".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.knowledge import Knowledge
from core.loops import BackgroundTask, every
from rules.localized import pick
from rules.templates import render
from ticketing.leader import Leadership
from ticketing.reply_copies import DueCopy, ReplyCopies
from ticketing.time import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.config import Settings

__all__ = ["ReplyCopyJob", "email_replies_on"]

_LOGGER = logging.getLogger(__name__)

LOCK = 0x46_44_43_50_59  # "FDCPY"
SUBJECT = "reply_by_email_subject"  # responses.yml
FOOTER = "reply_by_email_footer"  # responses.yml
_FOOTER = (
    "You left this address in the chat on our website, so we are sending our reply here too. "
    "You can answer in the chat, or simply reply to this email."
)


def email_replies_on(settings: Settings) -> bool:
    """Whether agents' unseen web chat replies are mailed: on, with the email channel configured."""
    return settings.webchat.enabled and settings.webchat.email_replies.enabled and settings.email is not None


class ReplyCopyJob:
    @classmethod
    def of(
        cls,
        settings: Settings,
        *,
        engine: AsyncEngine,
        knowledge: Callable[[], Knowledge],
        wake: Callable[[], None],
    ) -> ReplyCopyJob:
        s = settings.webchat.email_replies
        return cls(
            copies=ReplyCopies(engine=engine),
            leadership=Leadership(engine=engine, key=LOCK, name="the web chat reply copies"),
            knowledge=knowledge,
            team=settings.email.display_name if settings.email is not None else settings.bot.bot_name,
            bot_name=settings.bot.bot_name,
            after=timedelta(seconds=s.after_seconds),
            check_every=s.check_seconds,
            enabled=email_replies_on(settings),
            wake=wake,
        )

    def __init__(
        self, *, copies: ReplyCopies, leadership: Leadership, knowledge: Callable[[], Knowledge], team: str,
        bot_name: str, after: timedelta, check_every: float, enabled: bool, wake: Callable[[], None],
    ) -> None:  # fmt: skip
        self._copies = copies
        self._leadership = leadership
        self._knowledge = knowledge
        self._team = team
        self._bot_name = bot_name
        self._after = after
        self._check_every = check_every
        self._enabled = enabled
        self._wake = wake
        self._loop = BackgroundTask(name="reply-copies")

    async def start(self) -> None:
        if self._enabled:
            self._loop.start(every(self._check_every, self.run_once, failed=self._failed))

    async def stop(self) -> None:
        await self._loop.stop()
        await self._leadership.release()

    async def run_once(self) -> int:
        """Queue the copies due now if this process leads; returns how many."""
        if not await self._leadership.check():
            return 0
        queued = await self._copies.queue_due(now=utcnow(), after=self._after, letter=self.letter)
        if queued:
            self._wake()
        return queued

    def letter(self, copy: DueCopy) -> tuple[str, str]:
        """The mail's subject and text: the reply, who wrote it, and why it came by mail."""
        knowledge = self._knowledge()
        responses = knowledge.rulebook.localized
        default = knowledge.ruleset.default_language
        variables = {"bot_name": self._bot_name, "language": copy.language or default}
        subject = _first(responses.get(SUBJECT), copy.language, default) or f"Your chat with {self._team}"
        footer = _first(responses.get(FOOTER), copy.language, default) or _FOOTER
        subject, footer = render(subject, variables), render(footer, variables)
        signature = f"— {copy.sender_name}" if copy.sender_name else ""
        return subject, "\n\n".join(part for part in (copy.text, signature, footer) if part)

    @staticmethod
    def _failed(exc: Exception) -> None:
        _LOGGER.warning("web chat reply copies: a round failed, trying again at the next: %s", exc)


def _first(variants: Mapping[str, tuple[str, ...]] | None, language: str | None, default: str) -> str | None:
    if not variants:
        return None
    texts = pick(variants, language, default)
    return texts[0] if texts else None
