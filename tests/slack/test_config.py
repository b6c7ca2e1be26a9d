"""The ``slack:`` section is validated at load, with the line and the fix."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, settings_from_text

BASE = "slack:\n  bot_token: xoxb-1\n  default_channel: C0SUPPORT\n"


def test_http_mode_needs_the_signing_secret() -> None:
    with pytest.raises(ConfigError, match="signing_secret"):
        settings_from_text(BASE)


def test_socket_mode_needs_an_app_token() -> None:
    with pytest.raises(ConfigError, match="app_token"):
        settings_from_text(BASE + "  mode: socket\n")


def test_tokens_come_from_the_environment_and_stay_secret() -> None:
    text = (
        "slack:\n  bot_token: ${SLACK_BOT_TOKEN}\n"
        "  signing_secret: ${SLACK_SIGNING_SECRET}\n  default_channel: C1\n"
    )
    settings = settings_from_text(
        text, env={"SLACK_BOT_TOKEN": "xoxb-secret-1", "SLACK_SIGNING_SECRET": "s3cr3t"}
    )
    assert settings.slack is not None
    assert "xoxb-secret-1" not in repr(settings) and "s3cr3t" not in repr(settings)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        settings_from_text(text, env={})
    with pytest.raises(ConfigError, match="xoxb"):
        settings_from_text(text, env={"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "x"})
