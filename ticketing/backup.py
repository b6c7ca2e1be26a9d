"""Backup and restore of the database and the files Frontdesk keeps on disk.

Ticketing owns the database and the files under ``files_dir`` (attachments, held mails), so
their copy lives here too; ``bot/cli_backup.py`` only reads the config and prints.

SQLite is copied with SQLite's online backup API: one step under one read transaction, so the
copy is the database as committed when the backup started, WAL included, while ``frontdesk
serve`` keeps writing (WAL readers never block the writer). PostgreSQL is copied by
``pg_dump --format=custom`` and restored by ``pg_restore``: a consistent snapshot too, and the
format every PostgreSQL operator already knows. The password goes to them in ``PGPASSWORD``,
never on a command line that ``ps`` shows.

A backup is a directory (or the same as a ``.tar.gz``): ``manifest.json``, ``frontdesk.db`` or
``frontdesk.pgdump``, and ``files/<name>/`` for each files area.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from core.errors import OperatorError
from ticketing.database import create_engine, current_revision, database_target

__all__ = ["BackupError", "BackupResult", "RestoreResult", "backup", "restore"]

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "frontdesk.db"
PG_FILE = "frontdesk.pgdump"
# What Frontdesk writes under a files_dir (channel_files.py, mail_hold.py); the rest of that
# folder (the SQLite file, models) is not a channel's and is not copied as "files".
FILE_AREAS = ("attachments", "email")
_PG_CLIENT_FIX = (
    "install the PostgreSQL client tools (`apt-get install postgresql-client`) or put them on PATH"
)


class BackupError(OperatorError):
    """A backup or restore cannot be made; the message says what to change."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    backend: str
    revision: str | None
    files: int


@dataclass(frozen=True, slots=True)
class RestoreResult:
    backend: str
    revision: str | None
    files: int


async def backup(database_url: str, dest: Path, *, files: Mapping[str, Path]) -> BackupResult:
    """Copy the database and each files area (name → path: a files_dir, or a single file) to
    ``dest``, a new directory or a ``.tar.gz``. Built beside ``dest`` and renamed at the end, so
    a failed backup never leaves something that looks like one."""
    target = database_target(database_url)
    if target.path is None:
        _pg_tool("pg_dump")  # before anything is made
    work = await asyncio.to_thread(_start, dest)
    try:
        if target.path is not None:
            revision = await asyncio.to_thread(_sqlite_backup, target.path, work / SQLITE_FILE)
        else:
            revision = await _pg_revision(database_url)
            await asyncio.to_thread(_pg_dump, database_url, work / PG_FILE)
        copied, stored = await asyncio.to_thread(_copy_files_out, files, work / "files")
        manifest = {
            "format": FORMAT,
            "backend": target.backend,
            "revision": revision,
            "created_at": datetime.now(UTC).isoformat(),
            "files": stored,
        }
        await asyncio.to_thread(_finish, work, dest, manifest)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, ignore_errors=True)
    return BackupResult(dest, target.backend, revision, copied)


async def restore(database_url: str, src: Path, *, files: Mapping[str, Path], force: bool) -> RestoreResult:
    """Load the backup at ``src`` into ``database_url`` and put its files back. Refuses a
    database that already holds tables unless ``force``: a restore over live data is a
    decision, not a default."""
    if not await asyncio.to_thread(src.exists):
        raise BackupError(
            f"no backup at {src}", fix="give the directory or .tar.gz that `frontdesk backup` made"
        )
    with _unpacked(src) as folder:
        manifest = _manifest(folder, src)
        target = database_target(database_url)
        stored = manifest["files"]
        revision = manifest["revision"]
        if manifest["backend"] != target.backend:
            raise BackupError(
                f"{src} is a {manifest['backend']} backup but database.url is {target.backend}",
                fix=f"restore it into a {manifest['backend']} database.url",
            )
        tables = await _table_count(database_url)
        if tables and not force:
            raise BackupError(
                f"the database {target.shown} is not empty ({tables} tables)",
                fix="restore into a new database, or pass --force to replace its contents",
            )
        if target.path is not None:
            await asyncio.to_thread(_sqlite_restore, folder / SQLITE_FILE, target.path)
        else:
            await asyncio.to_thread(_pg_restore, database_url, folder / PG_FILE, clean=bool(tables))
        copied = await asyncio.to_thread(_copy_files_in, folder / "files", stored, files)
    return RestoreResult(target.backend, revision, copied)


def _start(dest: Path) -> Path:
    if dest.exists() and (dest.is_file() or any(dest.iterdir())):
        raise BackupError(f"{dest} already exists", fix="give a new path, or remove the old backup first")
    dest.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))


def _finish(work: Path, dest: Path, manifest: dict[str, Any]) -> None:
    (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    if _is_archive(dest):
        _pack(work, dest)
        return
    if dest.exists():
        dest.rmdir()  # empty, checked by _start
    work.rename(dest)


# SQLite


def _sqlite_backup(path: Path, out: Path) -> str | None:
    if not path.is_file():
        raise BackupError(
            f"the SQLite database {path} does not exist", fix="check database.url in config.yaml"
        )
    source = sqlite3.connect(path, timeout=30)  # waits out a checkpoint's exclusive moment
    copy = sqlite3.connect(out)
    try:
        source.backup(copy)  # pages=-1: one step, one snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        return _sqlite_revision(copy)
    finally:
        copy.close()
        source.close()


def _sqlite_restore(backup_file: Path, path: Path) -> None:
    """Through the backup API as well: it replaces the target's pages under SQLite's own locks,
    so a leftover ``-wal`` file of an old database cannot be replayed over the restored one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    target = sqlite3.connect(path, timeout=30)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        source.close()


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no schema yet
        return None
    return str(row[0]) if row else None


# PostgreSQL


async def _pg_revision(url: str) -> str | None:
    engine = create_engine(url, pool_size=1)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


async def _table_count(url: str) -> int:
    target = database_target(url)
    if target.path is not None:
        if not target.path.exists():
            return 0
        return await asyncio.to_thread(_sqlite_table_count, target.path)
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_tables "
                    "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
                )
            )
    finally:
        await engine.dispose()
    return int(found or 0)


def _sqlite_table_count(path: Path) -> int:
    conn = sqlite3.connect(path, timeout=30)
    try:
        return int(conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0])
    finally:
        conn.close()


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection options for the client tools, and their environment with the password."""
    target = database_target(url)
    args = ["--host", target.host, "--port", str(target.port), "--no-password"]
    if target.user:
        args += ["--username", target.user]
    env = dict(os.environ)
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    return args, env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (not on PATH)", fix=_PG_CLIENT_FIX)
    return found


def _pg_dump(url: str, out: Path) -> None:
    args, env = _pg_args(url)
    name = database_target(url).name
    _run([_pg_tool("pg_dump"), "--format=custom", "--file", str(out), *args, "--dbname", name], env)


def _pg_restore(url: str, dump: Path, *, clean: bool) -> None:
    args, env = _pg_args(url)
    name = database_target(url).name
    options = ["--no-owner", "--no-acl", "--exit-on-error", "--single-transaction"]
    if clean:
        options += ["--clean", "--if-exists"]
    _run([_pg_tool("pg_restore"), *options, *args, "--dbname", name, str(dump)], env)


def _run(argv: list[str], env: dict[str, str]) -> None:
    # argv is the tool's absolute path and our own options, no shell
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tool = Path(argv[0]).name
        lines = [line for line in done.stderr.splitlines() if line.strip()] or [
            f"exit code {done.returncode}"
        ]
        fix = (
            "use client tools of the server's major version or newer"
            if "version mismatch" in lines[0]
            else "see the message above; check database.url"
        )
        raise BackupError(f"{tool} failed: {lines[0]}", fix=fix)


# Files


def _copy_files_out(files: Mapping[str, Path], out: Path) -> tuple[int, dict[str, str]]:
    """Copy each area once (telegram and email often share ``var/``); the manifest maps every
    name to the stored copy, so a restore finds it under either name."""
    stored: dict[str, str] = {}
    by_path: dict[Path, str] = {}
    copied = 0
    for name, path in files.items():
        resolved = path.resolve()
        if resolved in by_path:
            stored[name] = by_path[resolved]
            continue
        place = out / name
        if path.is_file():
            place.mkdir(parents=True)
            shutil.copy2(path, place / path.name)
            copied += 1
        elif path.is_dir():
            for area in FILE_AREAS:
                if (path / area).is_dir():
                    shutil.copytree(path / area, place / area, ignore=_tmp_files)
            copied += sum(1 for f in place.rglob("*") if f.is_file()) if place.exists() else 0
        else:
            continue
        by_path[resolved] = stored[name] = name
    return copied, stored


def _tmp_files(_folder: str, names: list[str]) -> set[str]:
    """Half-written files (``DiskFiles`` writes ``.name.pid.tmp`` and renames) are not data."""
    return {n for n in names if n.startswith(".") and n.endswith(".tmp")}


def _copy_files_in(stored_root: Path, stored: Mapping[str, str], files: Mapping[str, Path]) -> int:
    copied = 0
    for name, path in files.items():
        if name not in stored:
            continue
        place = stored_root / stored[name]
        for item in place.iterdir() if place.is_dir() else ():
            if item.is_file():  # a single-file area
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(item, path)
                    copied += 1
            else:
                shutil.copytree(item, path / item.name, dirs_exist_ok=True)
                copied += sum(1 for f in item.rglob("*") if f.is_file())
    return copied


# The container


def _is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz"))


def _pack(work: Path, dest: Path) -> None:
    partial = dest.with_name(f".{dest.name}.partial")
    with tarfile.open(partial, "w:gz") as tar:
        for item in sorted(work.iterdir()):
            tar.add(item, arcname=item.name)
    partial.rename(dest)


@contextmanager
def _unpacked(src: Path) -> Iterator[Path]:
    if src.is_dir():
        yield src
        return
    if not _is_archive(src):
        raise BackupError(
            f"{src} is not a backup", fix="give the directory or .tar.gz that `frontdesk backup` made"
        )
    with tempfile.TemporaryDirectory(prefix=".frontdesk-restore.") as folder:
        try:
            with tarfile.open(src, "r:gz") as tar:
                tar.extractall(folder, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"cannot unpack {src}: {exc}", fix="give an intact backup") from exc
        yield Path(folder)


def _manifest(folder: Path, src: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(
            f"{src} has no readable {MANIFEST}",
            fix="give the directory or .tar.gz that `frontdesk backup` made",
        ) from exc
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), dict)
        or not all(
            isinstance(v, str) and v and "/" not in v and v not in {".", ".."}
            for v in manifest["files"].values()
        )
        or manifest.get("backend") not in {"sqlite", "postgresql"}
    ):
        raise BackupError(
            f"{src} is not a backup of this format", fix="restore it with the Frontdesk that made it"
        )
    return manifest
