"""What the web chat benchmark measures: ``frontdesk serve`` processes on a fresh database, the
echo baselines, and their CPU time.

Kept apart from ``webchat_throughput.py`` so that file stays about measuring. A run starts on a
database of its own (a SQLite file in a temporary folder, or a PostgreSQL database created for
the run and dropped after it), so no figure includes another run's rows. With several processes
they share the database and the web chat secret, as a scaled-out deployment does
(docs/deployment.md), and each gets an echo server of its own, so the baseline has as many
processes as the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy.engine import make_url

__all__ = ["PG_URL", "Fleet", "started", "wait_quiet"]

ROOT = Path(__file__).resolve().parent.parent
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"  # the server a run's database is made on

ECHO_SERVER = """
import sys
from aiohttp import web
async def echo(request):
    return web.json_response(await request.json())
app = web.Application()
app.router.add_post("/echo", echo)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def wait_workers(url: str, timeout: float = 60.0) -> dict[str, int]:
    """Measure the steady state: the analysis workers have started (they take a second or two)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url) as resp:
                workers: dict[str, int] = (await resp.json())["analysis_workers"]
            if workers["ready"] >= workers["wanted"] or time.monotonic() > deadline:
                return workers
            await asyncio.sleep(0.2)


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> dict[str, float]:
    """CPU time (user + system) of each service process and each of its children (the analysis
    workers), from /proc (Linux). One process is ``service``, as before there could be several;
    several are ``service 1``, ``service 2`` … (the workers are named by their pid)."""
    out: dict[str, float] = {}
    for index, pid in enumerate(pids):
        children = Path(f"/proc/{pid}/task/{pid}/children")
        kids = list(map(int, children.read_text().split())) if children.exists() else []
        for p in [pid, *kids]:
            spent = _cpu(p)
            if spent is not None:
                name = (
                    ("service" if len(pids) == 1 else f"service {index + 1}") if p == pid else f"worker {p}"
                )
                out[name] = spent
    return out


def database_cpu_seconds(database: str) -> float:
    """CPU time of the PostgreSQL backends serving ``database``, found by their process title
    (``postgres: [cluster:] user database host(port) state``); the server's shared background processes
    (WAL writer, checkpointer) are not counted. Needs a local server and to run as root or as
    its owner."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        words = title.split()
        if words[:1] == ["postgres:"] and database in words[1:4]:
            total += _cpu(int(entry.name)) or 0.0
    return total


async def wait_quiet(pids: Sequence[int], timeout: float = 120.0) -> float:
    """Wait until the service has worked off what the previous phase left (an overloaded phase
    leaves queued requests, tickets and deliveries behind): under 5 % of a core for half a
    second. Returns the seconds waited, so a phase never starts on another's backlog."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = sum(cpu_seconds(pids).values())
        await asyncio.sleep(0.5)
        if sum(cpu_seconds(pids).values()) - before < 0.025:
            break
    return round(time.monotonic() - started, 1)


@dataclass(frozen=True)
class Fleet:
    """The running processes: Frontdesk's ports and pids, the echo servers' ports."""

    database: str  # "sqlite" or "postgresql"
    ports: list[int]
    pids: list[int]
    echo_ports: list[int]
    workers: dict[str, int] | list[dict[str, int]]  # one process: its dict, as before
    pg_database: str | None = None
    database_url: str = ""  # what the servers were given (a SQLite file: read it after a run)

    def cpu(self) -> dict[str, float]:
        return cpu_seconds(self.pids)

    def database_cpu(self) -> float | None:
        return database_cpu_seconds(self.pg_database) if self.pg_database else None


@contextlib.asynccontextmanager
async def _database(kind: str, pg_url: str, folder: Path) -> AsyncIterator[tuple[str, str | None]]:
    """(the service's database URL, the PostgreSQL database's name or None), for this run only."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder}/bench.db", None
        return
    server = make_url(pg_url)
    admin = server.set(drivername="postgresql", database=server.database or "postgres")
    dsn = admin.render_as_string(hide_password=False)
    name = f"fd_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield (
            server.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False),
            name,
        )
    finally:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def started(
    *, database: str, processes: int, pg_url: str = PG_URL, rulebook: Path | None = None
) -> AsyncIterator[Fleet]:
    """``processes`` Frontdesk servers on one fresh database (``rulebook``, the example one by
    default) and as many echo servers, all stopped (and the database dropped) on exit. The
    servers start one after the other: the first trains the intent model, the others load it."""
    with tempfile.TemporaryDirectory() as tmp:
        async with _database(database, pg_url, Path(tmp)) as (url, pg_database):
            ports = [free_port() for _ in range(processes)]
            echo_ports = [free_port() for _ in range(processes)]
            config = Path(tmp) / "config.yaml"
            config.write_text(
                f"server: {{port: {ports[0]}, log_level: WARNING}}\n"
                f"database: {{url: '{url}'}}\n"
                f"webchat: {{secret_key: bench-secret-0123456789abcdef}}\n"
                f"rulebook: {{path: {rulebook or ROOT / 'rulebook'}}}\n"
            )
            env = {**os.environ, "FRONTDESK_CONFIG": str(config)}
            frontdesk = ROOT / ".venv" / "bin" / "frontdesk"
            subprocess.run([frontdesk, "db", "upgrade"], env=env, check=True, capture_output=True)
            procs = [subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(p)]) for p in echo_ports]
            try:
                workers: list[dict[str, int]] = []
                for port in ports:
                    procs.append(subprocess.Popen([frontdesk, "serve", "--port", str(port)], env=env))
                    await wait_ready(f"http://127.0.0.1:{port}/healthz")
                    workers.append(await wait_workers(f"http://127.0.0.1:{port}/healthz"))
                for port in echo_ports:
                    await wait_ready(f"http://127.0.0.1:{port}/echo")
                yield Fleet(
                    database=database,
                    ports=ports,
                    pids=[p.pid for p in procs[processes:]],
                    echo_ports=echo_ports,
                    workers=workers[0] if processes == 1 else workers,
                    pg_database=pg_database,
                    database_url=url,
                )
            finally:
                for proc in procs:
                    proc.terminate()
                    proc.wait(timeout=10)
