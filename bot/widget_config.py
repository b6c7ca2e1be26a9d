"""What the web chat widget shows before anyone writes: ``GET /api/v1/widget`` (docs/webchat-api.md).

Built from memory on every call, never from the database (every page load of a site with the
widget asks): the branding of ``webchat.widget`` in config.yaml, the greeting of the live
rulebook (``responses.yml``: ``welcome`` and ``welcome_quick_replies``, in the visitor's language
else the rulebook's default), whether the team is in (the calendar of ``webchat.widget.calendar``,
else of the SLA policy a new web chat ticket gets) and when it is back, the first-reply target
of that policy, and whether agents' replies the visitor misses are mailed. Rulebook and SLA
edits show on the next call: both are read through their hot-reloading holders.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.knowledge import Knowledge, LiveKnowledge
from bot.reply_copy_job import email_replies_on
from connectors.webchat.channel_name import CHANNEL
from connectors.webchat.config import WidgetSettings, localized_text
from rules.localized import pick
from rules.templates import render
from ticketing.expected_wait import expected_reply
from ticketing.sla_config import SlaConfig
from ticketing.time import utcnow

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["WidgetConfig"]

_LOGGER = logging.getLogger(__name__)

WELCOME = "welcome"  # responses.yml: the greeting shown when a visitor opens an empty chat
WELCOME_BUTTONS = "welcome_quick_replies"  # responses.yml: one quick reply per item
_NEW_CHAT_TICKET = {"channel": CHANNEL, "priority": "normal", "tags": ()}  # as sla.yml's `when` sees it


@dataclass(frozen=True, slots=True)
class _Availability:
    open: bool
    opens_at: datetime | None
    reply_within: float | None

    def json(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "opens_at": self.opens_at.isoformat() if self.opens_at is not None else None,
            "reply_within_seconds": int(self.reply_within) if self.reply_within is not None else None,
        }


class WidgetConfig:
    """``widget(languages)`` → the JSON body of ``GET /api/v1/widget``."""

    @classmethod
    def of(cls, settings: Settings, knowledge: LiveKnowledge, sla: Callable[[], SlaConfig]) -> WidgetConfig:
        """The configuration of ``settings`` with the live rulebook and SLA, read at every call."""
        return cls(
            settings=settings.webchat.widget,
            bot_name=settings.bot.bot_name,
            knowledge=lambda: knowledge.current,
            sla=sla,
            email_replies=email_replies_on(settings),
        )

    def __init__(
        self,
        *,
        settings: WidgetSettings,
        bot_name: str = "Frontdesk",
        knowledge: Callable[[], Knowledge],
        sla: Callable[[], SlaConfig],
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        email_replies: bool = False,
    ) -> None:
        self._settings = settings
        self._email_replies = email_replies
        self._bot_name = bot_name
        self._knowledge = knowledge
        self._sla = sla
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - picks a greeting variant, not secrets
        self._warned: set[str] = set()

    def __call__(self, languages: tuple[str, ...]) -> dict[str, Any]:
        knowledge = self._knowledge()
        responses = knowledge.rulebook.localized
        default = knowledge.ruleset.default_language
        empty: Mapping[str, tuple[str, ...]] = {}
        texts = (responses.get(WELCOME, empty), responses.get(WELCOME_BUTTONS, empty))
        written = {code for variants in texts for code in variants}
        matched = _first_match(languages, written, default)
        language = matched or default
        variables = {"channel": CHANNEL, "language": language}
        welcome = pick(texts[0], language, default) if texts[0] else ()
        buttons = pick(texts[1], language, default) if texts[1] else ()
        s = self._settings
        return {
            "language": language,
            "language_matched": matched is not None,
            "branding": {
                "color": s.color,
                "position": s.position,
                "title": localized_text(s.title, (language, *languages)),
                "avatar_url": s.avatar_url,
                "launcher_text": localized_text(s.launcher_text, (language, *languages)),
            },
            "welcome": {
                "text": render(self._rng.choice(welcome), variables) if welcome else None,
                "sender_name": self._bot_name,  # as on the bot's replies
                "quick_replies": [{"label": b, "payload": b} for b in buttons],
            },
            "availability": self._availability(),
            "pre_chat_form": s.pre_chat_form,
            "email_capture": s.email_capture,
            "email_replies": self._email_replies,  # unseen agents' replies are mailed to the visitor
        }

    def _availability(self) -> dict[str, Any] | None:
        config = self._sla()
        now = self._clock()
        policy = config.policy_for(_NEW_CHAT_TICKET)
        name = self._settings.calendar or (policy.calendar if policy is not None else None)
        calendar = config.calendar(name)
        if calendar is None:
            if name is not None and name not in self._warned:
                self._warned.add(name)
                _LOGGER.warning(
                    "webchat.widget.calendar %r is not in calendars.yml: the widget shows no away banner",
                    name,
                )
            return None
        expected = expected_reply(config, _NEW_CHAT_TICKET, now)
        reply_within = expected.seconds if expected is not None else None
        first = next(calendar.intervals(now), None)
        if first is None:  # no business hours within years: never claim a time we are back
            return _Availability(False, None, reply_within).json()
        start, _end = first
        is_open = start <= now
        return _Availability(is_open, None if is_open else start, reply_within).json()


def _first_match(languages: tuple[str, ...], written: set[str], default: str) -> str | None:
    """The first of the visitor's languages the greeting is written in (``de-AT`` finds ``de``;
    a plain text is the default language's)."""
    have = {code or default for code in written} | {default}
    for code in languages:
        for candidate in (code, code.split("-")[0]):
            if candidate in have:
                return candidate
    return None
