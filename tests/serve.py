"""Real ``frontdesk serve`` processes for the tests that kill or run several of them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.conftest import ROOT

__all__ = ["free_port", "start_serve", "wait_ready"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(config: Path, log: Path, *, port: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """Start a server on ``port`` (a free one if None); its output goes to the end of ``log``
    (restarts add to it; a restart on the same port keeps a browser page's origin)."""
    port = port or free_port()
    with log.open("ab") as out:  # the child has its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", str(config), "serve", "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    return process, port


async def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path, *, within: float) -> None:
    """Until ``/healthz`` answers 200; fails with the server's log if it exits or never does."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.poll() is None, await asyncio.to_thread(log.read_text)
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise AssertionError(f"server on port {port} did not start:\n{await asyncio.to_thread(log.read_text)}")
