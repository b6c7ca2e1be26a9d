"""``frontdesk backup`` and ``frontdesk restore`` through real processes, against a real app
that keeps writing: the copy holds everything committed before it started, restores into a
new database at the newest schema, and every refusal is one line with its fix."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import sys
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.cli.test_faults import frontdesk, write_config
from tests.conftest import PG_URL, ROOT, SKIP_PG, AppFactory, _dsn
from tests.webchat.helpers import FAQ_HOURS, send, start_session
from ticketing.database import head_revision

_EMAIL = "email:\n  address: support@example.com\n  smtp:\n    host: 127.0.0.1\n  files_dir: files\n"


async def frontdesk_async(config: Path, *argv: str) -> tuple[int, str]:
    """Like ``frontdesk``, without blocking the event loop that serves the app under test."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "--config", str(config), *argv,
        cwd=config.parent, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert b"Traceback" not in err, err.decode()
    assert process.returncode is not None
    return process.returncode, out.decode()


def _interactions(path: Path) -> dict[int, str]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT id, text FROM interactions"))
    finally:
        conn.close()


async def _keep_writing(
    client: TestClient, sent: list[int], warm: asyncio.Event, stop: asyncio.Event
) -> None:
    visitor = await start_session(client)
    while not stop.is_set():
        await send(client, visitor, FAQ_HOURS if len(sent) % 2 else f"message {len(sent)}")
        sent.append(1)
        if len(sent) >= 40:
            warm.set()


@pytest.mark.parametrize("dest_name", ["backup", "backup.tar.gz"])
async def test_sqlite_backup_while_the_app_writes_restores_everything_committed_before_it(
    sqlite_url: str, make_client: AppFactory, tmp_path: Path, dest_name: str
) -> None:
    _app, client = await make_client(sqlite_url)
    live = tmp_path / "live"
    live.mkdir()
    config = write_config(live, sqlite_url, _EMAIL)
    held = live / "files" / "email" / "quarantine" / "m1.eml"
    held.parent.mkdir(parents=True)
    held.write_bytes(b"Subject: held\r\n\r\nbody\r\n")
    (live / "files" / "models-not-ours").mkdir()  # only Frontdesk's areas are copied

    sent: list[int] = []
    warm, stop = asyncio.Event(), asyncio.Event()
    writers = [asyncio.create_task(_keep_writing(client, sent, warm, stop)) for _ in range(4)]
    try:
        await asyncio.wait_for(warm.wait(), 60)
        before = _interactions(Path(sqlite_url.split("///", 1)[1]))
        sent_before = len(sent)
        dest = tmp_path / dest_name
        code, out = await frontdesk_async(config, "backup", str(dest))
        sent_during = len(sent) - sent_before
    finally:
        stop.set()
        await asyncio.gather(*writers)
    assert code == 0, out
    assert f"revision {head_revision()}" in out
    assert sent_during > 0  # the service kept answering while the backup ran

    new = tmp_path / "new"
    new.mkdir()
    restored_db = new / "var" / "restored.db"
    new_config = write_config(new, f"sqlite+aiosqlite:///{restored_db}", _EMAIL)
    code, lines = frontdesk(new_config, "restore", str(dest))
    assert code == 0, lines
    assert frontdesk(new_config, "db", "current")[0] == 0

    conn = sqlite3.connect(restored_db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    restored = _interactions(restored_db)
    assert len(before) >= 40  # the messages sent before it, and their replies
    assert {i: restored.get(i) for i in before} == before  # nothing committed before it is missing
    assert (new / "files" / "email" / "quarantine" / "m1.eml").read_bytes() == held.read_bytes()
    assert not (new / "files" / "models-not-ours").exists()

    # A second restore would overwrite what is now there: refused, unless --force.
    code, lines = frontdesk(new_config, "restore", str(dest))
    assert code == 1
    (line,) = lines
    assert line.startswith("frontdesk: error: the database ") and "is not empty" in line
    assert "--force" in line
    assert frontdesk(new_config, "restore", "--force", str(dest))[0] == 0
    assert _interactions(restored_db) == restored


async def test_the_generated_webchat_key_is_backed_up_and_restored(sqlite_url: str, tmp_path: Path) -> None:
    """Without it a restored service would refuse every visitor's token."""
    live, new = tmp_path / "live", tmp_path / "new"
    for folder in (live, new):
        folder.mkdir()
    (live / "var").mkdir()
    (live / "var" / "webchat-secret.key").write_bytes(b"generated-key")
    config = write_config(live, sqlite_url)
    config.write_text(
        config.read_text().replace("webchat:\n  secret_key: test-secret-key-0123456789abcdef\n", "")
    )
    assert frontdesk(config, "backup", str(tmp_path / "b"))[0] == 0
    new_config = write_config(new, f"sqlite+aiosqlite:///{new / 'fd.db'}")
    new_config.write_text(config.read_text().replace(sqlite_url, f"sqlite+aiosqlite:///{new / 'fd.db'}"))
    assert frontdesk(new_config, "restore", str(tmp_path / "b"))[0] == 0
    assert (new / "var" / "webchat-secret.key").read_bytes() == b"generated-key"


def test_refusals_are_one_line_with_the_fix(sqlite_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, sqlite_url)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "something").write_text("x")
    assert frontdesk(config, "backup", str(taken)) == (
        1,
        [f"frontdesk: error: {taken} already exists — give a new path, or remove the old backup first"],
    )
    code, lines = frontdesk(config, "restore", str(tmp_path / "nothing"))
    assert code == 1 and lines[0].startswith(f"frontdesk: error: no backup at {tmp_path / 'nothing'} — ")
    code, lines = frontdesk(config, "restore", str(taken))
    assert code == 1 and "has no readable manifest.json" in lines[0]
    (tmp_path / "pg").mkdir()
    pg_config = write_config(tmp_path / "pg", PG_URL)
    assert frontdesk(config, "backup", str(tmp_path / "lite"))[0] == 0
    code, lines = frontdesk(pg_config, "restore", str(tmp_path / "lite"))
    assert code == 1
    assert lines == [
        f"frontdesk: error: {tmp_path / 'lite'} is a sqlite backup but database.url is postgresql "
        "— restore it into a sqlite database.url"
    ]


async def _pg(sql: str, database: str | None = None) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(_dsn(PG_URL, database))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def _row_counts(database: str) -> dict[str, int]:
    tables = await _pg("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", database)
    counts = {}
    for (table,) in tables:
        counts[table] = (await _pg(f'SELECT count(*) FROM "{table}"', database))[0][0]
    return counts


@pytest.mark.postgres
async def test_postgres_backup_and_restore_into_a_fresh_database(
    make_client: AppFactory, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if SKIP_PG:
        pytest.skip("FRONTDESK_SKIP_POSTGRES=1")
    template = request.getfixturevalue("pg_template")
    source, fresh = f"fd_bk_{secrets.token_hex(4)}", f"fd_rs_{secrets.token_hex(4)}"
    await _pg(f'CREATE DATABASE "{source}" TEMPLATE "{template}"')
    await _pg(f'CREATE DATABASE "{fresh}"')
    base = PG_URL.rsplit("/", 1)[0]
    _app, client = await make_client(f"{base}/{source}")
    try:
        visitor = await start_session(client)
        for n in range(20):
            await send(client, visitor, FAQ_HOURS if n % 2 else f"message {n}")
        # Stopped first: its background jobs (report rollups, segments) would otherwise write
        # between the dump and the counts it is compared with. A dump of a database being
        # written is the SQLite test's subject; pg_dump reads one snapshot.
        await client.close()
        live, new = tmp_path / "live", tmp_path / "new"
        live.mkdir()
        new.mkdir()
        dest = tmp_path / "pg-backup"
        code, out = await frontdesk_async(write_config(live, f"{base}/{source}"), "backup", str(dest))
        assert code == 0, out
        assert (dest / "frontdesk.pgdump").stat().st_size > 0
        new_config = write_config(new, f"{base}/{fresh}")
        code, lines = await asyncio.to_thread(frontdesk, new_config, "restore", str(dest))
        assert code == 0, lines
        assert (await asyncio.to_thread(frontdesk, new_config, "db", "current"))[0] == 0
        counts = await _row_counts(source)
        assert counts["interactions"] >= 20
        assert await _row_counts(fresh) == counts
        # Now it holds data: a second restore is refused without --force, replaces it with it.
        code, lines = await asyncio.to_thread(frontdesk, new_config, "restore", str(dest))
        assert code == 1 and "is not empty" in lines[0]
        code, lines = await asyncio.to_thread(frontdesk, new_config, "restore", "--force", str(dest))
        assert code == 0, lines
        assert await _row_counts(fresh) == counts
    finally:
        await client.close()  # its live fanout would keep reconnecting to the dropped database
        for name in (source, fresh):
            await _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_postgres_without_pg_dump_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    config = write_config(tmp_path, PG_URL)
    monkeypatch.setenv("PATH", str(empty_path))  # frontdesk() runs python by its full path
    code, lines = frontdesk(config, "backup", str(tmp_path / "b"))
    assert code == 1
    assert lines == [
        "frontdesk: error: pg_dump is not installed (not on PATH) — install the PostgreSQL client tools "
        "(`apt-get install postgresql-client`) or put them on PATH"
    ]
    assert not (tmp_path / "b").exists()
