"""The ``slack:`` section of config.yaml, validated before anything connects.

The bot token, signing secret and app token are ``SecretStr`` so they never appear in reprs,
logs or validation errors; write them as ``${SLACK_BOT_TOKEN}`` etc. in the file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["EscalateSettings", "SlackSettings"]


class EscalateSettings(BaseModel):
    """What the card's Escalate button does."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    priority: Literal["low", "normal", "high", "urgent"] | None = "urgent"
    queue: str | None = None  # move to this queue (and round-robin assign there), e.g. tier2


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
        return self

    def channel_for_queue(self, queue: str) -> str:
        return self.queues.get(queue, self.default_channel)

    def may_act(self, user_id: str) -> bool | None:
        """True/False when the config alone decides; None when the user group must be asked."""
        if user_id in self.agents or user_id in self.allowed_users:
            return True
        return None if self.allowed_usergroup else False
