"""The faults an operator meets first, through a real ``frontdesk`` process: one line that says
what is wrong and how to fix it, a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL, ROOT
from tests.serve import free_port
from ticketing.database import head_revision

# Log records that `serve` writes before it fails (bot/cli_serve.py's format); not the error.
_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR)\s")


def frontdesk(config: Path, *argv: str) -> tuple[int, list[str]]:
    """Run ``frontdesk --config CONFIG ARGV…``; the exit code and stderr without log records."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--config", str(config), *argv],
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, [line for line in done.stderr.splitlines() if not _LOG_LINE.match(line)]


def write_config(tmp_path: Path, database_url: str, extra: str = "") -> Path:
    """A config whose rulebook is only an empty FAQ: no intents, so `serve` trains nothing."""
    rulebook = tmp_path / "rulebook"
    rulebook.mkdir(exist_ok=True)
    (rulebook / "faq.yml").write_text("faq: []\n")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: {database_url}\nrulebook:\n  path: {rulebook}\n"
        "webchat:\n  secret_key: test-secret-key-0123456789abcdef\nnlu:\n  analysis_workers: 0\n" + extra
    )
    return config


def test_serve_on_a_port_in_use_says_so(sqlite_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, sqlite_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, lines = frontdesk(config, "serve", "--host", "127.0.0.1", "--port", str(port))
    assert code == 1
    (line,) = lines
    assert line.startswith(f"frontdesk: error: cannot listen on 127.0.0.1:{port}: the port is in use — ")
    assert "--port" in line


@pytest.mark.postgres
@pytest.mark.parametrize("command", [("serve",), ("db", "upgrade"), ("tickets", "list")])
def test_a_missing_postgres_database_says_to_create_it(tmp_path: Path, command: tuple[str, ...]) -> None:
    if os.environ.get("FRONTDESK_SKIP_POSTGRES") == "1":
        pytest.skip("FRONTDESK_SKIP_POSTGRES=1")
    name = f"fd_missing_{secrets.token_hex(4)}"
    code, lines = frontdesk(write_config(tmp_path, PG_URL.rsplit("/", 1)[0] + "/" + name), *command)
    assert code == 1
    (line,) = lines
    assert line.startswith(f'frontdesk: error: the database "{name}" does not exist on 127.0.0.1:5432 — ')
    assert f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}`" in line


@pytest.mark.parametrize("command", [("serve",), ("db", "current"), ("tickets", "list")])
def test_an_unreachable_postgres_says_to_start_it(tmp_path: Path, command: tuple[str, ...]) -> None:
    port = free_port()  # bound and closed again: nothing listens there
    code, lines = frontdesk(
        write_config(tmp_path, f"postgresql+asyncpg://postgres@127.0.0.1:{port}/x"), *command
    )
    assert code == 1
    (line,) = lines
    assert line.startswith(f"frontdesk: error: cannot reach PostgreSQL at 127.0.0.1:{port}: ")
    assert line.endswith("— start the server, or correct database.url in config.yaml")


@pytest.mark.parametrize("command", [("serve",), ("tickets", "list")])
def test_a_sqlite_file_in_a_new_folder_needs_the_schema(tmp_path: Path, command: tuple[str, ...]) -> None:
    # The folder is made (as on a fresh checkout's var/), then the schema is missing.
    config = write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'new' / 'folder' / 'fd.db'}")
    code, lines = frontdesk(config, *command)
    assert code == 1
    assert lines == [
        "frontdesk: error: the database schema is at revision none, this Frontdesk needs "
        f"{head_revision()} — run `frontdesk db upgrade`"
    ]
    assert frontdesk(config, "db", "upgrade")[0] == 0


@pytest.mark.parametrize("command", [("serve",), ("db", "upgrade"), ("tickets", "list")])
def test_a_sqlite_folder_that_cannot_be_made_says_so(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "a-file").write_text("")
    path = tmp_path / "a-file" / "var" / "fd.db"
    code, lines = frontdesk(write_config(tmp_path, f"sqlite+aiosqlite:///{path}"), *command)
    assert code == 1
    (line,) = lines
    assert line.startswith(f"frontdesk: error: cannot open the SQLite database {path}: ")
    assert "Not a directory" in line
    assert line.endswith(
        "— make sure its folder can be created and written, or correct database.url in config.yaml"
    )


@pytest.mark.parametrize("command", [("serve",), ("tickets", "list"), ("rules", "check")])
def test_a_broken_config_names_file_and_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    config = write_config(tmp_path, "sqlite+aiosqlite:///fd.db", extra="server:\n  prot: 8080\n")
    code, lines = frontdesk(config, *command)
    assert code == 2
    assert lines == [f"{config}:10: server.prot: unknown key 'prot' (did you mean 'port'?)"]
