"""Shared fixtures: the real app on a real SQLite file or a real PostgreSQL database.

``database_url`` runs a test on both engines. PostgreSQL tests get their own database, cloned
from a migrated template made once per run, so tests never see each other's rows and a
developer's run never collides with CI's. PostgreSQL is required: set
``FRONTDESK_SKIP_POSTGRES=1`` only on a machine without it (CI never does).
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App, AppOverrides, build_app
from bot.config import Settings, settings_from_text
from ticketing.database import upgrade

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("FRONTDESK_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
SKIP_PG = os.environ.get("FRONTDESK_SKIP_POSTGRES") == "1"


# ``make test`` runs the suite in parallel (pytest-xdist), except the tests that start, load and
# SIGKILL whole server processes: those run afterwards, one at a time (marker ``server_processes``),
# as their timing was made for. Two of them at once, or beside a busy worker, on a small machine
# slow each other's restarts several-fold.
_SERVER_PROCESSES = ("tests/reliability/", "tests/email/test_kill.py", "tests/browser/test_scale_out.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(_SERVER_PROCESSES):
            item.add_marker(pytest.mark.server_processes)


@pytest.fixture(autouse=True, scope="module")
def _finalise_leaks_per_module() -> Iterator[None]:
    """Collect garbage after each test module, so a socket or connection a module leaked is
    reported (with warnings as errors) against that module, not at the end of the whole run."""
    yield
    gc.collect()


def _dsn(url: str, database: str | None = None) -> str:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    if database is not None:
        dsn = dsn.rsplit("/", 1)[0] + "/" + database
    return dsn


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn(PG_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run(coro: Awaitable[None]) -> None:
    """Run a coroutine to completion from sync code, even when called inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated database that per-test databases are cloned from."""
    if SKIP_PG:
        pytest.skip("FRONTDESK_SKIP_POSTGRES=1")
    name = f"fd_tpl_{secrets.token_hex(4)}"
    try:
        _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        pytest.fail(
            f"PostgreSQL is required at {PG_URL} ({exc}); set FRONTDESK_SKIP_POSTGRES=1 to skip locally"
        )
    _run(upgrade(PG_URL.rsplit("/", 1)[0] + "/" + name))
    yield name
    _run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def pg_url(pg_template: str) -> AsyncIterator[str]:
    """A PostgreSQL database of its own, cloned from the migrated template: for the tests that
    start real ``frontdesk serve`` processes on PostgreSQL."""
    name = f"fd_proc_{secrets.token_hex(4)}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'frontdesk.db'}"
        await upgrade(url)
        yield url
        return
    template = request.getfixturevalue("pg_template")
    name = f"fd_test_{secrets.token_hex(4)}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield PG_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'frontdesk.db'}"
    await upgrade(url)
    return url


def make_settings(
    database_url: str, tmp_path: Path, extra: str = "", rulebook: Path | None = None
) -> Settings:
    """Test settings. Analysis runs in the event loop unless ``extra`` sets ``analysis_workers``:
    spawning worker processes would cost every app test a second (tests/webchat/test_workers.py
    covers them)."""
    if "analysis_workers" not in extra:
        workers = "nlu:\n  analysis_workers: 0\n"
        extra = extra.replace("nlu:\n", workers, 1) if "nlu:\n" in extra else f"{workers}{extra}"
    webchat = "webchat:\n  secret_key: test-secret-key-0123456789abcdef\n"  # merged into extra's own
    extra = (
        extra.replace("webchat:\n", webchat, 1)
        if extra.startswith("webchat:\n") or "\nwebchat:\n" in extra
        else f"{webchat}{extra}"
    )
    text = f"""
database:
  url: {database_url}
rulebook:
  path: {rulebook or ROOT / "rulebook"}
{extra}
"""
    return settings_from_text(text, base_dir=tmp_path)


AppFactory = Callable[..., Awaitable[tuple[App, TestClient]]]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Build the real app for a database URL and serve it on a loopback port."""
    clients: list[TestClient] = []

    async def factory(
        url: str, *, extra: str = "", overrides: AppOverrides | None = None, rulebook: Path | None = None
    ) -> tuple[App, TestClient]:
        app = build_app(make_settings(url, tmp_path, extra, rulebook), overrides=overrides)
        client = TestClient(TestServer(app.web, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return app, client

    yield factory
    for client in clients:
        await client.close()


@pytest.fixture
async def app_client(database_url: str, make_client: AppFactory) -> tuple[App, TestClient]:
    return await make_client(database_url)


@pytest.fixture
async def client(app_client: tuple[App, TestClient]) -> TestClient:
    return app_client[1]


@pytest.fixture
async def live_server(sqlite_url: str, make_client: AppFactory) -> str:
    """Base URL (http://127.0.0.1:PORT) of the real app on a temp SQLite file, for browsers."""
    _app, test_client = await make_client(sqlite_url)
    return str(test_client.make_url("")).rstrip("/")
