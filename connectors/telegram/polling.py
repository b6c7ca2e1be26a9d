"""Long polling: ``getUpdates`` in a loop, for installs without a public URL.

Only one process may poll a bot (Telegram answers a second poller with 409 Conflict), so the
loop first enters the backend's single-consumer lock. An update's offset is saved only after
the flow has committed it; a crash re-delivers at most the updates in flight, and their
idempotency keys make the repeats harmless. Network errors back off exponentially with
jitter (capped) and reset after a successful call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import warnings
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from connectors.telegram.backend import UpdateOffsets

__all__ = ["ALLOWED_UPDATES", "poll_forever", "retry_after_seconds"]

_LOGGER = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
_MAX_DELAY = 60.0

T = TypeVar("T")


async def poll_forever(
    *,
    bot: Bot,
    backend: UpdateOffsets,
    handle: Callable[[Update], Awaitable[None]],
    poll_seconds: int,
) -> None:
    while True:  # the lock's context ends if another process took it over: compete again
        async with backend.single_consumer("telegram:getUpdates"):
            _LOGGER.info("telegram: this process polls for updates")
            await _call_with_retry(lambda: bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")
            offset = await backend.load_offset()
            while True:
                updates = await _call_with_retry(
                    functools.partial(
                        bot.get_updates, offset=offset, timeout=poll_seconds, allowed_updates=ALLOWED_UPDATES
                    ),
                    "getUpdates",
                )
                for update in updates:
                    await _handle_with_retry(handle, update)
                    offset = update.update_id + 1
                if updates:
                    await backend.save_offset(offset or 0)


async def _call_with_retry(call: Callable[[], Awaitable[T]], what: str) -> T:
    attempt = 0
    rng = random.Random()  # noqa: S311 - jitter, not security
    while True:
        try:
            return await call()
        except InvalidToken:
            _LOGGER.error("telegram: %s: the bot token was rejected; fix telegram.token", what)
            raise
        except RetryAfter as exc:
            delay = retry_after_seconds(exc)
        except Conflict:
            delay = min(_MAX_DELAY, 2.0 ** min(attempt, 6))
            _LOGGER.warning(
                "telegram: %s conflicts with another poller or a webhook (attempt %d)", what, attempt + 1
            )
        except TelegramError as exc:
            delay = min(_MAX_DELAY, 0.5 * 2.0 ** min(attempt, 7))
            _LOGGER.warning(
                "telegram: %s failed (%s); attempt %d, retrying in %.1fs",
                what,
                type(exc).__name__,
                attempt + 1,
                delay,
            )
        attempt += 1
        await asyncio.sleep(delay + rng.uniform(0, delay * 0.2))


async def _handle_with_retry(handle: Callable[[Update], Awaitable[None]], update: Update) -> None:
    """The flow commits before returning; if it fails (database down), try the same update again."""
    attempt = 0
    while True:
        try:
            await handle(update)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            attempt += 1
            delay = min(_MAX_DELAY, 0.5 * 2.0 ** min(attempt, 7))
            _LOGGER.exception(
                "telegram: update %d failed (attempt %d); retrying in %.1fs", update.update_id, attempt, delay
            )
            await asyncio.sleep(delay)


def retry_after_seconds(exc: RetryAfter) -> float:
    """Seconds to wait; PTB 22 warns on reading ``retry_after`` while it migrates to timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if hasattr(value, "total_seconds") else float(value)
