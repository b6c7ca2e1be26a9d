"""``config.yaml`` → typed, validated :class:`Settings`, before anything connects.

Unknown keys are errors (a typo must not silently fall back to a default), secrets come from
environment variables written as ``${NAME}`` or ``${NAME:-default}``, and every problem is
reported as ``config.yaml:LINE: path: what is wrong``. Library code raises
:class:`ConfigError`; only the CLI turns it into an exit code.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.webhook_settings import WebhooksSettings
from connectors.email.config import EmailSettings
from connectors.slack.config import SlackSettings
from connectors.telegram.config import TelegramSettings
from connectors.webchat.config import WidgetSettings
from core.yamlfile import LineDict, LineList, SourceError, load_yaml, parse_yaml, validate
from ticketing.service import TicketsSettings

__all__ = ["ConfigError", "Settings", "WebchatUploads", "load_settings", "settings_from_text"]

DOCS_HINT = "see docs/configuration.md"


class ConfigError(SourceError):
    """config.yaml is invalid; nothing has been started."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(64 * 1024, ge=1024, le=64 * 1024 * 1024)
    body_timeout_seconds: float = Field(10.0, gt=0, le=600)  # a body must arrive whole within this
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line; --log-format wins
    # /metrics (Prometheus) on this port, only for a request carrying ``metrics_token`` as a
    # bearer token: the figures name channels and load, not for the open internet.
    metrics: bool = False
    metrics_token: SecretStr | None = None
    # The console's session cookie is ``Secure`` (sent over HTTPS only) unless this is true: for
    # a development server on http://127.0.0.1 only (docs/accounts.md).
    insecure_cookies: bool = False

    @model_validator(mode="after")
    def _metrics_protected(self) -> ServerSettings:
        token = self.metrics_token.get_secret_value() if self.metrics_token is not None else ""
        if self.metrics and not token:
            raise ValueError(
                "server.metrics is on but server.metrics_token is not set; set it, e.g. "
                "metrics_token: ${FRONTDESK_METRICS_TOKEN} (at least 16 characters), or turn metrics off"
            )
        if token and len(token) < 16:
            raise ValueError("server.metrics_token is too short; use at least 16 random characters")
        return self


class DatabaseSettings(_Model):
    url: str = "sqlite+aiosqlite:///var/frontdesk.db"
    pool_size: int = Field(10, ge=1, le=200)
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "use sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user:pass@host/db"
            )
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/([a-z0-9][a-z0-9!#$&^_.+-]*|\*)$")


class WebchatUploads(_Model):
    """Files visitors send from the widget (docs/webchat-api.md, "Files")."""

    enabled: bool = True
    max_bytes: int = Field(10 * 1024 * 1024, ge=1, le=100 * 1024 * 1024)  # per file
    max_files: int = Field(5, ge=1, le=20)  # per message
    # Media types, or a whole family as ``image/*``; anything else gets 415.
    allowed_types: tuple[str, ...] = (
        "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
    )  # fmt: skip
    files_dir: Path = Path("var")  # kept under <files_dir>/attachments/webchat

    @field_validator("allowed_types")
    @classmethod
    def _media_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        lowered = tuple(v.strip().lower() for v in value)
        bad = [v for v in lowered if not _MEDIA_TYPE.match(v)]
        if bad:
            listed = ", ".join(map(repr, bad))
            raise ValueError(f"not a media type: {listed}; write e.g. image/png, or image/* for a family")
        if not lowered:
            raise ValueError("list at least one media type, or set enabled: false")
        return lowered


class WebchatEmailReplies(_Model):
    """Email copies of agents' replies that a visitor who left an address did not see in the chat
    (docs/webchat-api.md, "Replies by email"). Needs the email channel (``email:``)."""

    enabled: bool = True
    after_seconds: float = Field(300.0, ge=0, le=86_400)  # how long an open widget has to show it
    check_seconds: float = Field(30.0, gt=0, le=3_600)


class WebchatSettings(_Model):
    enabled: bool = True
    secret_key: SecretStr | None = None  # empty: generated once and kept next to the database
    session_ttl_days: int = Field(30, ge=1, le=3650)
    max_message_chars: int = Field(4000, ge=1, le=100_000)
    allowed_origins: tuple[str, ...] = ("*",)
    uploads: WebchatUploads = WebchatUploads()
    widget: WidgetSettings = WidgetSettings()  # branding, greeting, pre-chat form (docs/configuration.md)
    email_replies: WebchatEmailReplies = WebchatEmailReplies()


class ApiSettings(_Model):
    """Accounts on the HTTP API (docs/accounts.md): rate limits, sessions, login lockout."""

    requests_per_minute: int = Field(600, ge=1, le=1_000_000)  # per token or session, per process
    burst: int = Field(60, ge=1, le=100_000)
    session_hours: float = Field(12.0, gt=0, le=24 * 90)
    lockout_failures: int = Field(5, ge=1, le=100)  # failed logins in a row that lock an account
    lockout_minutes: float = Field(15.0, gt=0, le=24 * 60)
    logins_per_ip_per_minute: int = Field(20, ge=1, le=10_000)
    # Browser origins allowed to call the account API (CORS); none by default. The widget's
    # endpoints follow webchat.allowed_origins instead.
    allowed_origins: tuple[str, ...] = ()


class BotSettings(_Model):
    faq_threshold: float = Field(0.80, ge=0.0, le=1.0)
    bot_name: str = "Frontdesk"


class RulebookSettings(_Model):
    path: Path = Path("rulebook")


class NluSettings(_Model):
    models: Path = Path("var/models")  # trained intent models, one folder per training-data hash
    # How long start-up waits for a missing model; a larger data set trains in the background.
    wait_for_model_seconds: float = Field(15.0, ge=0.0, le=3600.0)
    # Processes that analyze messages beside the event loop; 0: in the event loop. "auto": one per
    # core beyond the first, at most 4 (docs/configuration.md).
    analysis_workers: Annotated[int, Field(ge=0, le=64)] | Literal["auto"] = "auto"
    # Languages detected in messages besides the rulebook's own (docs/nlp.md#language); each
    # costs about 33 MB in every process that analyzes. The default is nlp.language's
    # DEFAULT_LANGUAGES (not imported: importing nlp loads spaCy; a test keeps the two equal).
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = Field(
        default_factory=lambda: ["en", "de", "fr", "es", "it", "nl", "pt", "pl"]
    )


class SegmentsSettings(_Model):
    """Customer segments (docs/segments.md): recomputed in the leader process every ``interval_hours``."""

    enabled: bool = True
    interval_hours: float = Field(24.0, gt=0, le=24 * 90)


class Settings(_Model):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    webchat: WebchatSettings = WebchatSettings()
    api: ApiSettings = ApiSettings()  # accounts, tokens, sessions; see docs/accounts.md
    bot: BotSettings = BotSettings()
    rulebook: RulebookSettings = RulebookSettings()
    nlu: NluSettings = NluSettings()
    tickets: TicketsSettings = TicketsSettings()  # SLA scheduler; see docs/ticketing.md
    telegram: TelegramSettings | None = None  # see docs/telegram.md
    email: EmailSettings | None = None  # see docs/email.md
    slack: SlackSettings | None = None  # see docs/slack.md
    webhooks: WebhooksSettings = WebhooksSettings()  # outgoing webhooks; see docs/webhooks.md
    segments: SegmentsSettings = SegmentsSettings()  # customer segments; see docs/segments.md
    base_dir: Path = Field(Path("."), exclude=True)

    def resolve(self, path: Path) -> Path:
        """Relative paths in config.yaml are relative to the file, not to the working directory."""
        return path if path.is_absolute() else (self.base_dir / path)

    @property
    def rulebook_dir(self) -> Path:
        return self.resolve(self.rulebook.path)

    @property
    def database_url(self) -> str:
        url = self.database.url
        prefix = "sqlite+aiosqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.resolve(Path(url[len(prefix) :])))
        return url


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _substitute(node: Any, env: Mapping[str, str], filename: str, line: int, problems: list[str]) -> Any:
    if isinstance(node, LineDict):
        for key in list(node):
            node[key] = _substitute(node[key], env, filename, node.key_lines.get(key, line), problems)
        return node
    if isinstance(node, LineList):
        for i, item in enumerate(node):
            node[i] = _substitute(item, env, filename, node.item_lines[i], problems)
        return node
    if not isinstance(node, str):
        return node

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(
            f"{filename}:{line}: environment variable {name} is not set "
            f"(export it, or write ${{{name}:-default}} to give a default)"
        )
        return ""

    return _ENV.sub(replace, node)


def settings_from_text(
    text: str,
    *,
    filename: str = "config.yaml",
    base_dir: Path = Path("."),
    env: Mapping[str, str] | None = None,
) -> Settings:
    try:
        data = parse_yaml(text, filename=filename)
    except SourceError as exc:
        raise ConfigError(exc.problems) from None
    return _settings(data, filename=filename, base_dir=base_dir, env=env)


def load_cli_settings(config: str | None) -> Settings:
    """The settings a CLI command runs with: ``--config PATH`` (or ``$FRONTDESK_CONFIG``), else
    ``config.yaml`` in the working directory, else the built-in defaults."""
    path = Path(config) if config else None
    if path is None and Path("config.yaml").is_file():
        path = Path("config.yaml")
    if path is not None and not path.is_file():
        raise ConfigError([f"{path}:0: config file not found (pass --config PATH or set FRONTDESK_CONFIG)"])
    return load_settings(path)


def load_settings(path: Path | None, *, env: Mapping[str, str] | None = None) -> Settings:
    """Load and validate config.yaml; ``None`` means built-in defaults (relative to the cwd)."""
    if path is None:
        return Settings()
    try:
        data = load_yaml(path)
    except SourceError as exc:
        raise ConfigError(exc.problems) from None
    return _settings(data, filename=str(path), base_dir=path.resolve().parent, env=env)


def _settings(data: Any, *, filename: str, base_dir: Path, env: Mapping[str, str] | None) -> Settings:
    if data is None:
        data = LineDict()
    if not isinstance(data, dict):
        raise ConfigError([f"{filename}:1: the top level must be a mapping of sections ({DOCS_HINT})"])
    problems: list[str] = []
    data = _substitute(data, os.environ if env is None else env, filename, 1, problems)
    if problems:
        raise ConfigError(problems)
    settings = validate(Settings, data, filename=filename, error=ConfigError)
    return settings.model_copy(update={"base_dir": base_dir})
