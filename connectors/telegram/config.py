"""The ``telegram:`` section of config.yaml, validated before anything connects.

Secrets (the bot token, the webhook secret, the deep-link key) are ``SecretStr`` so they never
appear in reprs, logs or validation errors; write them as ``${TELEGRAM_TOKEN}`` in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["TelegramSettings"]

_SECRET_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class TelegramSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: SecretStr
    # polling: Frontdesk asks Telegram for updates (no public URL needed);
    # webhook: Telegram posts updates to ``webhook_path`` on Frontdesk's own web server.
    mode: Literal["polling", "webhook"] = "polling"
    webhook_path: str = "/telegram/webhook"
    # The public https URL Telegram should call; when set, Frontdesk registers it on start.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # Signs /start deep-link parameters; defaults to a key derived from the bot token.
    link_secret: SecretStr | None = None
    api_base_url: str = "https://api.telegram.org/bot"
    file_base_url: str = "https://api.telegram.org/file/bot"
    poll_timeout: int = Field(30, ge=0, le=50)
    files_dir: Path = Path("var")  # downloaded files go under <files_dir>/attachments/telegram
    max_attachment_bytes: int = Field(20 * 1024 * 1024, ge=0)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        bot_id, _, rest = value.get_secret_value().partition(":")
        if not bot_id.isdigit() or not rest:
            raise ValueError("must be the token @BotFather gave you, like 123456:ABC-DEF...")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _path_shape(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/', e.g. /telegram/webhook")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if not 1 <= len(secret) <= 256 or not set(secret) <= _SECRET_TOKEN_CHARS:
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ - (a Telegram rule)")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramSettings:
        if self.mode == "webhook" and self.webhook_secret is None:
            raise ValueError(
                "webhook mode needs webhook_secret (e.g. ${TELEGRAM_WEBHOOK_SECRET}); "
                "without it anyone could post fake updates"
            )
        return self

    @property
    def bot_id(self) -> int:
        return int(self.token.get_secret_value().partition(":")[0])
