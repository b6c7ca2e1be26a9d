"""Slack Web API calls that survive outages: 429 waits for Retry-After, 5xx and network errors
back off (capped exponential, with jitter) and retry, so nothing the projection posts is lost.
Errors that retrying cannot fix (``channel_not_found``, ``invalid_auth``) raise
:class:`SlackRefused`. Tokens never appear in logs: only the method and Slack's error code do.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from core.errors import FrontdeskError

__all__ = ["SlackApi", "SlackRefused", "SlackUnavailable"]

_LOGGER = logging.getLogger(__name__)
_TRANSIENT = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


class SlackRefused(FrontdeskError):
    """Slack answered with an error that a retry will not fix."""

    def __init__(self, method: str, error: str) -> None:
        super().__init__(f"Slack refused {method}: {error}")
        self.method = method
        self.error = error


class SlackUnavailable(FrontdeskError):
    """Slack could not be reached or was rate limited, and the caller asked not to wait."""


class SlackApi:
    def __init__(self, *, client: AsyncWebClient, retry_max_seconds: float = 60.0) -> None:
        self.client = client
        self._cap = retry_max_seconds
        self._rng = random.Random()  # noqa: S311 - jitter, not security

    async def call(self, method: str, *, retry: bool = True, **kwargs: Any) -> dict[str, Any]:
        """Call ``method`` (``"chat.postMessage"``) with keyword arguments; returns Slack's JSON.

        Raises:
            SlackRefused: Slack rejected the call for good.
            SlackUnavailable: only with ``retry=False``, when the call should be retried later.
        """
        function = getattr(self.client, method.replace(".", "_"))
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await function(**kwargs)
                return dict(response.data) if isinstance(response.data, dict) else {}
            except SlackApiError as exc:
                status = exc.response.status_code
                error = str(exc.response.get("error") or f"HTTP {status}")
                if status != 429 and status < 500 and error not in _TRANSIENT:
                    raise SlackRefused(method, error) from None
                delay = self._delay(attempt, _retry_after(exc))
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = type(exc).__name__
                delay = self._delay(attempt, None)
            except SlackRequestError:  # files_upload_v2: the POST of a file's bytes failed (nothing shared)
                error = "the upload of a file's bytes failed"
                delay = self._delay(attempt, None)
            if not retry:
                raise SlackUnavailable(f"{method}: {error}")
            _LOGGER.warning(
                "slack: %s failed (%s), attempt %d; retrying in %.1fs", method, error, attempt, delay
            )
            await asyncio.sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        base: float = min(self._cap, 0.5 * 2.0 ** min(attempt - 1, 16))
        base += self._rng.uniform(0, base * 0.2)
        return max(base, retry_after) if retry_after is not None else base


def _retry_after(exc: SlackApiError) -> float | None:
    value = (exc.response.headers or {}).get("Retry-After") or (exc.response.headers or {}).get("retry-after")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
