"""IMAP polling with aioimaplib: fetch → ingest (committed) → flag ``\\Seen`` → save cursor.

Progress is the pair (UIDVALIDITY, last processed UID) in the channel cursor store. A mail is
flagged and the cursor advanced only after the flow has committed it, so a crash between
fetch and flag re-reads that mail on restart, and its Message-ID makes the second pass a
duplicate: nothing lost, nothing answered twice. If the server's UIDVALIDITY changes (the
mailbox was recreated), the whole mailbox is re-read under the same guarantee. Between
rounds the poller IDLEs when the server supports it, else sleeps ``poll_interval``.
Connection errors back off exponentially with jitter (capped) and reset after a good round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import ssl
from collections.abc import Awaitable, Callable

import aioimaplib

from connectors.email.backend import MailboxPosition
from connectors.email.config import ImapSettings
from core.errors import FrontdeskError

__all__ = ["ImapPoller"]

_LOGGER = logging.getLogger(__name__)
_MAX_DELAY = 300.0
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCH_UID = re.compile(rb"UID (\d+)")


class ImapError(FrontdeskError):
    pass


class ImapPoller:
    def __init__(
        self,
        *,
        settings: ImapSettings,
        backend: MailboxPosition,
        handle: Callable[[bytes], Awaitable[object]],
    ) -> None:
        self._s = settings
        self._backend = backend
        self._handle = handle
        self._cursor_name = f"imap:{settings.username}@{settings.host}/{settings.mailbox}"

    async def run_forever(self) -> None:
        while True:  # the lock's context ends if another process took it over: compete again
            async with self._backend.single_consumer(f"email:{self._cursor_name}"):
                attempt = 0
                rng = random.Random()  # noqa: S311 - jitter, not security
                while True:
                    try:
                        await self._session()
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:
                        attempt += 1
                        delay = min(_MAX_DELAY, 2.0 ** min(attempt, 9))
                        delay += rng.uniform(0, delay * 0.2)
                        _LOGGER.warning(
                            "email: IMAP %s:%d failed (%s: %s); attempt %d, retrying in %.0fs",
                            self._s.host,
                            self._s.port,
                            type(exc).__name__,
                            exc,
                            attempt,
                            delay,
                        )
                        await asyncio.sleep(delay)
                    else:
                        attempt = 0

    async def poll_once(self) -> int:
        """Connect, process everything new, disconnect; returns how many mails were handled."""
        client = await self._connect()
        try:
            return await self._process_new(client)
        finally:
            with contextlib.suppress(Exception):
                await client.logout()

    async def _session(self) -> None:
        client = await self._connect()
        try:
            idle = self._s.use_idle and client.has_capability("IDLE")
            while True:
                await self._process_new(client)
                if idle:
                    await self._idle(client)
                else:
                    await asyncio.sleep(self._s.poll_interval)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), 5)

    async def _connect(self) -> aioimaplib.IMAP4:
        if self._s.security == "tls":
            client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
                host=self._s.host, port=self._s.port, ssl_context=ssl.create_default_context()
            )
        else:
            client = aioimaplib.IMAP4(host=self._s.host, port=self._s.port)
        await client.wait_hello_from_server()
        _check(await client.login(self._s.username, self._s.password.get_secret_value()), "LOGIN")
        return client

    async def _process_new(self, client: aioimaplib.IMAP4) -> int:
        selected = await client.select(self._s.mailbox)
        _check(selected, f"SELECT {self._s.mailbox}")
        validity = _uidvalidity(selected.lines)
        cursor = await self._backend.load_cursor(self._cursor_name) or {}
        last_uid = int(cursor.get("last_uid", 0))
        if cursor.get("uidvalidity") != validity:
            if cursor:
                _LOGGER.warning(
                    "email: UIDVALIDITY of %s changed; re-reading it (duplicates are skipped)",
                    self._s.mailbox,
                )
            last_uid = 0
        found = await client.uid_search(f"UID {last_uid + 1}:*", charset=None)
        _check(found, "UID SEARCH")
        # The last line is the tagged completion text; "n:*" always matches the highest UID.
        uids = sorted(int(u) for line in found.lines[:-1] for u in _words(line) if int(u) > last_uid)
        for uid in uids:
            raw = await self._fetch(client, uid)
            if raw is not None:
                await self._handle(raw)  # committed (or quarantined/set aside) before returning
                _check(await client.uid("store", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "UID STORE")
            await self._backend.save_cursor(self._cursor_name, {"uidvalidity": validity, "last_uid": uid})
        return len(uids)

    async def _fetch(self, client: aioimaplib.IMAP4, uid: int) -> bytes | None:
        response = await client.uid("fetch", str(uid), "(BODY.PEEK[])")
        _check(response, "UID FETCH")
        for index, line in enumerate(response.lines):
            if isinstance(line, bytearray):
                return bytes(line)
            if index == 0 and b"FETCH" in bytes(line) and b"BODY[]" not in bytes(line):
                continue
        _LOGGER.warning("email: UID %d vanished before it could be fetched", uid)
        return None

    async def _idle(self, client: aioimaplib.IMAP4) -> None:
        waiter = await client.idle_start(timeout=self._s.poll_interval)
        try:
            while client.has_pending_idle():
                pushed = await client.wait_server_push()
                if (
                    any(b"EXISTS" in bytes(line) for line in _lines(pushed))
                    or pushed == aioimaplib.STOP_WAIT_SERVER_PUSH
                ):
                    break
        finally:
            if client.has_pending_idle():
                client.idle_done()
            await asyncio.wait_for(waiter, 10)


def _lines(pushed: object) -> list[bytes]:
    if isinstance(pushed, list):
        return [bytes(x) if isinstance(x, (bytes, bytearray)) else str(x).encode() for x in pushed]
    return []


def _words(line: bytes | bytearray) -> list[str]:
    return [w for w in bytes(line).decode("ascii", "replace").split() if w.isdigit()]


def _uidvalidity(lines: list[bytes]) -> int:
    for line in lines:
        match = _UIDVALIDITY.search(bytes(line))
        if match:
            return int(match.group(1))
    raise ImapError("the server did not report UIDVALIDITY for the mailbox")


def _check(response: aioimaplib.Response, what: str) -> None:
    if response.result != "OK":
        detail = b" ".join(bytes(x) for x in response.lines[-1:]).decode("utf-8", "replace")[:200]
        raise ImapError(f"{what} failed: {response.result} {detail}")
