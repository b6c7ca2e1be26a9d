"""The Telegram fake's fixture, for the webhook counters."""

from tests.telegram.conftest import api

__all__ = ["api"]
