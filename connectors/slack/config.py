"""The ``slack:`` section of config.yaml, validated before anything connects.

The bot token, signing secret and app token are ``SecretStr`` so they never appear in reprs,
logs or validation errors; write them as ``${SLACK_BOT_TOKEN}`` etc. in the file.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["EscalateSettings", "FileSettings", "SlackSettings", "human_size"]


class EscalateSettings(BaseModel):
    """What the card's Escalate button does."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    priority: Literal["low", "normal", "high", "urgent"] | None = "urgent"
    queue: str | None = None  # move to this queue (and round-robin assign there), e.g. tier2


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?i?B)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
}
DEFAULT_FILE_TYPES = (
    "image/*", "application/pdf", "text/plain", "text/csv", "application/zip",
    "application/msword", "application/vnd.openxmlformats-officedocument.*",
    "application/vnd.ms-excel", "application/vnd.oasis.opendocument.*", "message/rfc822",
)  # fmt: skip


class FileSettings(BaseModel):
    """Files both ways between customers and tickets' threads (docs/slack.md, "Files")."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_bytes: int = Field(10 * 1000**2, ge=1)  # an int, or "10MB", "512KiB"
    # MIME types (``image/*`` patterns) that may pass; an empty list lets every type through.
    allowed_types: tuple[str, ...] = DEFAULT_FILE_TYPES
    files_dir: Path = Path("var")  # agents' files go under <files_dir>/attachments/slack

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        found = _SIZE.match(value)
        if found is None:
            raise ValueError("must be a size in bytes, e.g. 10485760 or 10MB")
        return int(float(found.group(1)) * _UNITS[(found.group(2) or "").upper()])

    def refusal(self, filename: str, content_type: str, size: int) -> str | None:
        """Why a file may not pass (too large, a refused type), or None when it may."""
        if size > self.max_bytes:
            return f"{filename} is {human_size(size)}, over the {human_size(self.max_bytes)} limit"
        kind = content_type.split(";", 1)[0].strip().lower()
        if self.allowed_types and not any(fnmatch.fnmatchcase(kind, t.lower()) for t in self.allowed_types):
            return f"{filename} is of type {kind or 'unknown'}, which is not allowed"
        return None


def human_size(size: int) -> str:
    """``12.3 MB``, ``48 KB``, ``300 bytes``: how files' sizes are shown to agents."""
    if size >= 1000**2:
        return f"{size / 1000**2:.1f} MB"
    return f"{size / 1000:.0f} KB" if size >= 1000 else f"{size} bytes"


class SlackSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bot_token: SecretStr  # xoxb-...
    signing_secret: SecretStr | None = None  # required in HTTP mode
    # http: Slack posts events, actions and commands to ``path`` on Frontdesk's web server;
    # socket: Frontdesk opens a WebSocket to Slack (no public URL needed; needs app_token).
    mode: Literal["http", "socket"] = "http"
    app_token: SecretStr | None = None  # xapp-..., Socket Mode only
    path: str = "/slack/events"
    api_base_url: str = "https://slack.com/api/"
    # Where ticket cards go: queue name → channel id; tickets of other queues go to default_channel.
    default_channel: str
    queues: dict[str, str] = Field(default_factory=dict)
    # Where SLA warnings, breaches and escalations are announced too (besides the ticket's thread).
    alerts_channel: str | None = None
    # ``notify: {slack: "#support-leads"}`` in escalations.yml → channel id (else the name is used).
    channel_aliases: dict[str, str] = Field(default_factory=dict)
    # Who may act on tickets: explicitly mapped users (Slack user id → agent handle), plus the
    # users listed here or in the user group, who are matched to an agent by e-mail.
    agents: dict[str, str] = Field(default_factory=dict)
    allowed_users: tuple[str, ...] = ()
    allowed_usergroup: str | None = None
    match_by_email: bool = True
    escalate: EscalateSettings = EscalateSettings()
    slash_command: str = "/ticket"
    last_messages: int = Field(3, ge=0, le=10)  # shown on the card
    poll_interval: float = Field(1.0, gt=0, le=60)  # how often the projection looks for changes
    retry_max_seconds: float = Field(60.0, gt=0, le=3600)  # backoff cap while Slack is down
    # Frontdesk's public URL (https://support.example.com): cards and the customer view link to
    # <console_url>/console/tickets/T-1042. Unset: no link.
    console_url: str | None = None
    files: FileSettings = FileSettings()  # size and type limits of files both ways
    # Customers in Slack (connectors/slack/customers.py): shared (Slack Connect) channels whose
    # members other than agents are customers, and direct messages to the app.
    customer_channels: tuple[str, ...] = ()
    customer_dms: bool = False

    @field_validator("bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError(
                "must be the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page"
            )
        return value

    @field_validator("app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token (xapp-...) with the connections:write scope")
        return value

    @field_validator("path")
    @classmethod
    def _path_shape(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/', e.g. /slack/events")
        return value

    @field_validator("console_url")
    @classmethod
    def _console_url_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")) or any(c in value for c in "<>| "):
            raise ValueError("must be Frontdesk's public URL, e.g. https://support.example.com")
        return value.rstrip("/").removesuffix("/console")

    @field_validator("api_base_url")
    @classmethod
    def _base_url_shape(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _mode_needs_secret(self) -> SlackSettings:
        if self.mode == "http" and self.signing_secret is None:
            raise ValueError(
                "http mode needs signing_secret (e.g. ${SLACK_SIGNING_SECRET}); "
                "without it anyone could post fake events"
            )
        if self.mode == "socket" and self.app_token is None:
            raise ValueError("socket mode needs app_token (e.g. ${SLACK_APP_TOKEN}, an xapp-... token)")
        internal = {self.default_channel, *self.queues.values(), *self.channel_aliases.values()}
        if self.alerts_channel is not None:
            internal.add(self.alerts_channel)
        shared = sorted(internal.intersection(self.customer_channels))
        if shared:
            raise ValueError(
                f"customer_channels: {', '.join(shared)} is also a ticket or alerts channel; "
                "customers must never see cards or notes, so use separate channels"
            )
        return self

    def channel_for_queue(self, queue: str) -> str:
        return self.queues.get(queue, self.default_channel)

    def is_customer_place(self, channel: str, channel_type: str | None) -> bool:
        """Whether a message in ``channel`` comes from the customers' side (a shared channel or,
        with ``customer_dms``, a direct message to the app)."""
        if channel_type == "im" or (channel_type is None and channel.startswith("D")):
            return self.customer_dms
        return channel in self.customer_channels

    def may_act(self, user_id: str) -> bool | None:
        """True/False when the config alone decides; None when the user group must be asked."""
        if user_id in self.agents or user_id in self.allowed_users:
            return True
        return None if self.allowed_usergroup else False
