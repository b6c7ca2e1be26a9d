from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP

from tests.email.servers import Dovecot, SmtpRecorder, dovecot_binary, run_dovecot

SUPPORT = "support@acme.example"


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        if os.environ.get("FRONTDESK_SKIP_DOVECOT") == "1" and not os.environ.get(
            "FRONTDESK_REQUIRE_DOVECOT"
        ):
            pytest.skip("dovecot is not installed and FRONTDESK_SKIP_DOVECOT=1")
        pytest.fail("dovecot is not installed: run `bash .ci/install-system-deps` (Debian: dovecot-imapd)")
    with run_dovecot(binary, tmp_path / "dovecot") as server:
        yield server


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[SmtpRecorder, int]]:
    recorder = SmtpRecorder()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(recorder, hostname="smtp.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield recorder, port
    finally:
        server.close()
        await server.wait_closed()


def email_config(smtp_port: int, imap: str = "", extra: str = "") -> str:
    return (
        "email:\n"
        f"  address: {SUPPORT}\n"
        "  display_name: Acme Support\n"
        "  smtp:\n"
        "    host: 127.0.0.1\n"
        f"    port: {smtp_port}\n"
        "    security: none\n"
        f"{imap}{extra}"
    )
