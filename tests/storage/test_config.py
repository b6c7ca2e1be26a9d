"""config.yaml and the rulebook: every mistake is reported as file:line with what to fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import ConfigError, settings_from_text
from core.yamlfile import SourceError
from rules.rulebook import load_rulebook

ROOT = Path(__file__).resolve().parents[2]


def config_problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from_text(text, filename="config.yaml", env=env or {})
    return list(info.value.problems)


def test_unknown_key_names_file_line_and_suggests() -> None:
    problems = config_problems("server:\n  host: 0.0.0.0\n  prot: 8080\n")
    assert len(problems) == 1
    assert problems[0].startswith("config.yaml:3: server.prot: unknown key 'prot'")
    assert "did you mean 'port'?" in problems[0]


def test_unknown_section_suggests_the_right_one() -> None:
    # The line is the misspelled key's (3), not the first line of its block (4).
    (problem,) = config_problems("\n\nwebchta:\n  enabled: true\n")
    assert problem.startswith("config.yaml:3: webchta: unknown key")
    assert "did you mean 'webchat'?" in problem


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    (problem,) = config_problems("bot:\n  zzz: 1\n")
    assert problem.startswith("config.yaml:2: bot.zzz: unknown key 'zzz'")
    assert "bot_name" in problem and "faq_threshold" in problem


def test_nested_unknown_key_points_at_the_key() -> None:
    (problem,) = config_problems("server:\n  port: 1\nrulebook:\n  pth:\n    - a\n")
    assert problem.startswith("config.yaml:4: rulebook.pth: unknown key 'pth' (did you mean 'path'?)")


def test_wrong_types_name_their_lines() -> None:
    problems = config_problems(
        "server:\n  port: eighty\ndatabase:\n  pool_size: 0\nwebchat:\n  enabled: maybe\n"
    )
    by_line = {p.split(":")[1]: p for p in problems}
    assert set(by_line) == {"2", "4", "6"}, problems
    assert "server.port" in by_line["2"]
    assert "database.pool_size" in by_line["4"]
    assert "webchat.enabled" in by_line["6"]


def test_bad_database_url_explains_the_format() -> None:
    (problem,) = config_problems("database:\n  url: mysql://x/y\n")
    assert problem.startswith("config.yaml:2: database.url")
    assert "sqlite+aiosqlite://" in problem


def test_missing_environment_variable_names_file_line_and_variable() -> None:
    (problem,) = config_problems("server:\n  port: 8080\nwebchat:\n  secret_key: ${FRONTDESK_SECRET_KEY}\n")
    assert problem.startswith("config.yaml:4:")
    assert "FRONTDESK_SECRET_KEY is not set" in problem


def test_environment_variables_and_defaults() -> None:
    text = (
        "server:\n  port: ${PORT:-9090}\n  host: ${HOST:-127.0.0.1}\n"
        "webchat:\n  secret_key: ${SECRET}\n  allowed_origins:\n    - ${ORIGIN:-https://shop.example}\n"
    )
    settings = settings_from_text(text, env={"SECRET": "s3cr3t-from-env", "HOST": "0.0.0.0"})
    assert settings.server.port == 9090  # default used, converted to int
    assert settings.server.host == "0.0.0.0"  # variable wins over default
    assert settings.webchat.secret_key is not None
    assert settings.webchat.secret_key.get_secret_value() == "s3cr3t-from-env"
    assert settings.webchat.allowed_origins == ("https://shop.example",)
    empty_default = settings_from_text("bot:\n  bot_name: x${SUFFIX:-}\n", env={})
    assert empty_default.bot.bot_name == "x"


def test_yaml_syntax_error_names_the_line() -> None:
    (problem,) = config_problems("server:\n  port: 8080\n  host: [unclosed\n")
    assert problem.startswith("config.yaml:")
    line = int(problem.split(":")[1])
    assert line >= 3


def test_duplicate_key_names_both_lines() -> None:
    (problem,) = config_problems("server:\n  port: 1\n  port: 2\n")
    assert problem.startswith("config.yaml:3:")
    assert "duplicate key 'port'" in problem and "line 2" in problem


def test_empty_config_gives_defaults() -> None:
    settings = settings_from_text("", env={})
    assert settings.webchat.max_message_chars == 4000
    assert settings.server.max_body_bytes == 64 * 1024


# -- rulebook ----------------------------------------------------------------------------------


@pytest.fixture
def rulebook(tmp_path: Path) -> Path:
    directory = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", directory)
    return directory


def rulebook_problems(directory: Path) -> list[str]:
    with pytest.raises(SourceError) as info:  # RulebookError, or a YAML syntax error
        load_rulebook(directory)
    return list(info.value.problems)


def test_shipped_rulebook_loads(rulebook: Path) -> None:
    loaded = load_rulebook(rulebook)
    assert {f.id for f in loaded.faqs} >= {"opening_hours", "shipping_cost", "returns"}
    assert "{ticket}" in loaded.responses["fallback_new_ticket"][0]


def test_faq_entry_without_answer_names_file_and_line(rulebook: Path) -> None:
    (rulebook / "faq.yml").write_text(
        "faq:\n  - id: hours\n    questions:\n      - when are you open?\n    answer: 9 to 5\n"
        "  - id: broken\n    questions:\n      - what?\n"
    )
    problems = rulebook_problems(rulebook)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{rulebook / 'faq.yml'}:6:")
    assert "faq[1].answer" in problems[0]


def test_faq_typo_in_key_suggests_the_right_one(rulebook: Path) -> None:
    (rulebook / "faq.yml").write_text(
        "faq:\n  - id: hours\n    questions:\n      - open?\n    answr: 9 to 5\n"
    )
    problems = rulebook_problems(rulebook)
    assert any(p.startswith(f"{rulebook / 'faq.yml'}:5:") and "did you mean 'answer'?" in p for p in problems)


def test_faq_yaml_syntax_error_names_the_line(rulebook: Path) -> None:
    (rulebook / "faq.yml").write_text("faq:\n  - id: hours\n    questions: [open?\n    answer: 9\n")
    (problem,) = rulebook_problems(rulebook)
    path, line = problem.split(":")[:2]
    assert path == str(rulebook / "faq.yml") and int(line) >= 2


def test_duplicate_faq_id_names_the_second_line(rulebook: Path) -> None:
    entry = "  - id: hours\n    questions:\n      - open?\n    answer: 9 to 5\n"
    (rulebook / "faq.yml").write_text("faq:\n" + entry + entry)
    (problem,) = rulebook_problems(rulebook)
    assert problem.startswith(f"{rulebook / 'faq.yml'}:6:")
    assert "used twice" in problem


def test_broken_responses_file_names_file_and_line(rulebook: Path) -> None:
    (rulebook / "responses.yml").write_text(
        "responses:\n  fallback_new_ticket:\n    - ok {ticket}\n  Bad Key:\n    - x\n"
    )
    (problem,) = rulebook_problems(rulebook)
    assert problem.startswith(f"{rulebook / 'responses.yml'}:4:"), problem
    assert "Bad Key" in problem


def test_missing_faq_file(rulebook: Path) -> None:
    (rulebook / "faq.yml").unlink()
    (problem,) = rulebook_problems(rulebook)
    assert "faq.yml" in problem and "not found" in problem
