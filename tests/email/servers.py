"""Real mail servers for the email tests: Dovecot (IMAP) as a subprocess, aiosmtpd (SMTP) in-loop.

Dovecot gets a throwaway config in the test's tmp dir: passwd-file auth with one user, a
Maildir, 127.0.0.1 on a free port, no SSL. It must be installed (``dovecot-imapd``, by
``.ci/install-system-deps``); the tests fail with that hint when it is missing unless
``FRONTDESK_REQUIRE_DOVECOT`` is unset *and* you opt out with ``FRONTDESK_SKIP_DOVECOT=1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.serve import free_port

USER = "support@acme.example"
PASSWORD = "imap-test-password"
TIMEOUT = 20.0  # only a hang or a lost mail ever reaches it
DOVECOT_PATHS = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot") or next((p for p in DOVECOT_PATHS if os.path.exists(p)), None)
    return found


@dataclass
class Dovecot:
    port: int
    root: Path
    process: subprocess.Popen[bytes]

    def config(self, *, poll_interval: float = 1.0) -> str:
        return (
            "  imap:\n"
            "    host: 127.0.0.1\n"
            f"    port: {self.port}\n"
            "    security: none\n"
            f"    username: {USER}\n"
            f"    password: {PASSWORD}\n"
            f"    poll_interval: {poll_interval}\n"
        )


@contextlib.contextmanager
def run_dovecot(binary: str, root: Path) -> Iterator[Dovecot]:
    port = free_port()
    uid, gid = os.getuid(), os.getgid()
    user = pwd.getpwuid(uid).pw_name
    group = grp.getgrgid(gid).gr_name
    internal = "dovecot" if uid == 0 else user
    login = "dovenull" if uid == 0 else user
    owned_root = None
    if uid == 0:  # Dovecot refuses mail uid 0: the mail lives with the dovecot user, outside tmp_path
        owned_root = Path(tempfile.mkdtemp(prefix="frontdesk-dovecot-"))
        root = owned_root
        uid, gid = pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid
        group = "dovecot"
        os.chmod(root, 0o755)
    for sub in ("run", "mail", "home"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{root / 'home'}::\n")
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root / "run"}
state_dir = {root / "run"}
instance_name = frontdesk-test-{port}
log_path = {root / "dovecot.log"}
info_log_path = {root / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
first_valid_gid = 0
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
mail_location = maildir:{root / "mail"}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root / "passwd"}
  override_fields = uid={uid} gid={gid} home={root / "home"}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {internal}
}}
service auth-worker {{
  user = {internal}
}}
service imap-login {{
  chroot =
}}
"""
    )
    if owned_root is not None:
        for path in (owned_root, *owned_root.rglob("*")):
            os.chown(path, uid, gid)
        (owned_root / "run").chmod(0o755)
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                output = (
                    process.stdout.read().decode() if process.stdout and process.poll() is not None else ""
                )
                raise RuntimeError(f"dovecot did not start on port {port}:\n{output}\n{log}")
            time.sleep(0.05)
        yield Dovecot(port, root, process)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        if owned_root is not None:
            shutil.rmtree(owned_root, ignore_errors=True)


@dataclass
class SmtpRecorder:
    """aiosmtpd handler: keeps every accepted mail; the test awaits them."""

    mails: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        mail = message_from_bytes(data, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        async with self.changed:
            self.mails.append(mail)
            self.envelopes.append(envelope)
            self.changed.notify_all()
        return "250 Message accepted for delivery"

    async def wait_for(self, count: int) -> list[EmailMessage]:
        async with asyncio.timeout(TIMEOUT), self.changed:
            await self.changed.wait_for(lambda: len(self.mails) >= count)
        return self.mails[:count]


@contextlib.asynccontextmanager
async def smtp_server(recorder: SmtpRecorder) -> AsyncIterator[int]:
    """A real SMTP server (aiosmtpd) on a loopback port handing mails to ``recorder``; yields the port."""
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(recorder, hostname="smtp.test"), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
