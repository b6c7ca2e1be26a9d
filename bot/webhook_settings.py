"""The ``webhooks:`` section of config.yaml: subscriptions and the retry policy (docs/webhooks.md).

Checked at load like the rest of the file: an unknown event type, a secret that is not
``whsec_<base64>``, a missing ``secret_env`` variable or a duplicate name is a ``file:line``
error before anything connects.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from core.webhook_events import EVENT_TYPES

__all__ = ["WebhookSubscriptionSettings", "WebhooksSettings", "secret_key"]


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ValueError if it is not one."""
    if not secret.startswith("whsec_"):
        raise ValueError("a webhook secret looks like whsec_<base64> (make one: frontdesk webhooks secret)")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise ValueError("the part after whsec_ is not valid base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("a webhook secret's key must be 24 to 64 bytes (32 is usual)")
    return key


class WebhookSubscriptionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    url: str = Field(max_length=2000)
    secret: SecretStr | None = None
    secret_env: str | None = None  # the name of an environment variable holding the secret
    events: tuple[str, ...] = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("the url must start with http:// or https://")
        return value

    @field_validator("events")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in value if e not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> Self:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError("give exactly one of secret and secret_env")
        secret_key(self.resolved_secret())
        return self

    def resolved_secret(self) -> str:
        if self.secret is not None:
            return self.secret.get_secret_value()
        assert self.secret_env is not None
        value = os.environ.get(self.secret_env)
        if not value:
            raise ValueError(f"environment variable {self.secret_env} (secret_env) is not set")
        return value


class WebhooksSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    subscriptions: tuple[WebhookSubscriptionSettings, ...] = ()
    max_attempts: int = Field(10, ge=1, le=100)  # then the delivery is dead-lettered
    timeout_seconds: float = Field(10.0, gt=0, le=300)  # per request
    backoff_seconds: float = Field(5.0, gt=0, le=3600)  # first retry; doubles each time, plus jitter
    backoff_cap_seconds: float = Field(3600.0, gt=0, le=86_400)
    concurrency: int = Field(32, ge=1, le=1000)  # requests in flight per process
    poll_interval: float = Field(0.5, gt=0, le=60)  # how often the producer looks for new events

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [s.name for s in self.subscriptions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate subscription name(s): {', '.join(duplicates)}")
        return self
