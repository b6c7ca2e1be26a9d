"""The real ``frontdesk serve`` SIGKILLed again and again while it ingests a mailbox.

Forty customer mails wait in a real Dovecot mailbox. A real server process (SQLite file,
the email connector polling that Dovecot and answering through aiosmtpd, web chat on a free
port) is started, killed with SIGKILL a short, varying moment after it is ready (a window that
doubles after a kill before anything was committed, so a slow machine progresses too), and started
again, until the mailbox cursor has passed every mail; a last server then runs until every
reply is out. After each kill the test reads the dead process's traces: a mail already
committed but not yet flagged/cursor-advanced (the kill fell between fetch and flag) must be
read again by the next process and recorded once. Until at least one kill has fallen into
that window, ten more mails are added whenever the mailbox is done (the kill moments are
random; ``FRONTDESK_KILL_SEED`` replays a printed seed).

What is proved:

* **Interactions: exactly once.** Every mail is one inbound interaction (by Message-ID), with
  exactly one bot reply interaction, however often the process died.
* **Mailbox: nothing lost.** Every mail ends up ``\\Seen`` and the cursor at the last UID.
* **SMTP: at least once.** The outbox marks a row sent only after the SMTP server accepted it,
  so a kill between SMTP accept and that mark sends the reply again when the row's lease
  runs out. Every reply therefore reaches aiosmtpd at least once, and any second copy is the
  *same* mail (the Message-ID is derived from the interaction id, so the customer's client
  shows it once) of a row whose delivery was attempted more than once.

A killed process's outbox claims hold a 60 s lease; between a kill and the next start (no
server running) the test lets those leases run out at once instead of waiting the minute.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.email.conftest import email_config
from tests.email.mails import make_mail
from tests.email.servers import Dovecot, SmtpRecorder
from tests.email.test_imap import imap_client, seen
from tests.serve import start_serve, wait_ready
from ticketing.models import ChannelCursor, Interaction, OutboxItem
from ticketing.time import utcnow

ROOT = Path(__file__).resolve().parents[2]
MAILS = 40
EXTRA_MAILS = 10  # added when no kill has yet fallen between commit and flag
HOURS = "what are your opening hours?"
MAX_KILLS = 40  # about 2.5 s each (a start, a moment of work, a kill)
KILL_WINDOW = 0.15  # a kill falls up to this long after ready; doubled after a kill without progress
TIMEOUT = 60.0  # reached only if something is lost or a server does not start


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(sqlite_url)
    yield engine
    await engine.dispose()


async def _kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    await asyncio.to_thread(process.wait)


async def _last_uid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        value = (
            await conn.execute(select(ChannelCursor.value).where(ChannelCursor.channel == "email"))
        ).scalar()
    return int(value["last_uid"]) if value else 0


async def _count(engine: AsyncEngine, *where: object) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(Interaction).where(*where))).scalar_one()
        )  # type: ignore[arg-type]


async def _expire_leases(engine: AsyncEngine) -> None:
    """The dead process's outbox claims: as if their 60 s lease had run out."""
    async with engine.begin() as conn:
        await conn.execute(
            update(OutboxItem).where(OutboxItem.state == "sending").values(claimed_until=utcnow())
        )


async def _add_mails(dovecot: Dovecot, ids: list[str], n: int) -> None:
    """Append ``n`` customer mails (one sender each: no rate limit applies) and note their ids."""
    client = await imap_client(dovecot)
    for number in range(len(ids), len(ids) + n):
        message_id = f"<kill-{number}@example.com>"
        raw = make_mail(HOURS, sender=f"c{number}@example.com", message_id=message_id)
        assert (await client.append(raw, mailbox="INBOX")).result == "OK"
        ids.append(message_id)
    await client.logout()


async def test_sigkill_while_ingesting_loses_and_duplicates_nothing(
    sqlite_url: str,
    engine: AsyncEngine,
    tmp_path: Path,
    dovecot: Dovecot,
    smtp: tuple[SmtpRecorder, int],
    processes: list[subprocess.Popen[bytes]],
) -> None:
    recorder, smtp_port = smtp
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: {sqlite_url}\nwebchat:\n  secret_key: test-secret-key-0123456789abcdef\n"
        f"rulebook:\n  path: {ROOT / 'rulebook'}\nserver:\n  log_level: INFO\n"
        # Each of the ~25 restarts would start an analysis worker that imports for a second or
        # two beside the ingest under test; in-process analysis keeps the kill windows busy.
        + "nlu:\n  analysis_workers: 0\n"
        + email_config(smtp_port, imap=dovecot.config(poll_interval=0.5))
    )
    log = tmp_path / "servers.log"
    # Warm-up on the empty mailbox: trains and stores the intent model, so later starts are quick.
    process, port = start_serve(config, log)
    processes.append(process)
    await wait_ready(process, port, log, within=TIMEOUT)
    await _kill(process)

    ids: list[str] = []
    await _add_mails(dovecot, ids, MAILS)
    seed = int(os.environ.get("FRONTDESK_KILL_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)  # varying kill moments; the seed is printed
    kills = reread = 0
    window, committed = KILL_WINDOW, 0  # on a slow machine a first poll may take longer
    while (last := await _last_uid(engine)) < len(ids) or reread == 0:
        assert kills < MAX_KILLS, f"seed {seed}: {last} of {len(ids)} mails after {kills} kills"
        if last == len(ids):  # every kill missed the window between commit and flag: more mail
            await _add_mails(dovecot, ids, EXTRA_MAILS)
        await _expire_leases(engine)
        process, port = start_serve(config, log)
        processes.append(process)
        await wait_ready(process, port, log, within=TIMEOUT)
        await asyncio.sleep(rng.uniform(0.0, window))
        await _kill(process)
        kills += 1
        progress, committed = committed, await _count(engine, Interaction.direction == "in")
        window = KILL_WINDOW if committed > progress else min(window * 2, 3.0)
        # Committed but not yet flagged: the next process must read these mails again.
        if committed > await _last_uid(engine):
            reread += 1

    await _expire_leases(engine)
    process, port = start_serve(config, log)
    processes.append(process)
    await wait_ready(process, port, log, within=TIMEOUT)
    deadline = time.monotonic() + TIMEOUT
    while True:
        async with engine.connect() as conn:
            unsent = select(func.count()).select_from(OutboxItem).where(OutboxItem.state != "sent")
            pending = (await conn.execute(unsent)).scalar_one()
        if pending == 0 and await _count(engine, Interaction.direction == "out") >= len(ids):
            break
        assert time.monotonic() < deadline, f"{pending} replies not sent:\n{log.read_text()[-4000:]}"
        await asyncio.sleep(0.1)
    process.terminate()
    assert await asyncio.to_thread(process.wait, 20) == 0

    # Interactions: every mail exactly once, each with exactly one bot reply.
    async with engine.connect() as conn:
        columns = select(Interaction.id, Interaction.external_message_id, Interaction.in_reply_to_id)
        inbound = (await conn.execute(columns.where(Interaction.direction == "in"))).all()
        outbound = (await conn.execute(columns.where(Interaction.direction == "out"))).all()
        attempts = {
            r.interaction_id: r.attempts
            for r in await conn.execute(select(OutboxItem.interaction_id, OutboxItem.attempts))
        }
    assert sorted(m for _, m, _ in inbound) == sorted(ids)
    by_inbound = Counter(reply_to for _, _, reply_to in outbound)
    assert set(by_inbound) == {i for i, _, _ in inbound} and set(by_inbound.values()) == {1}
    # The mailbox: everything flagged, the cursor past the last mail.
    assert await seen(dovecot) == [True] * len(ids)
    assert await _last_uid(engine) == len(ids)
    # SMTP: each reply at least once; a second copy is the same mail, of a retried delivery.
    copies: defaultdict[str, list[str]] = defaultdict(list)
    for mail in recorder.mails:
        copies[str(mail["In-Reply-To"])].append(str(mail["Message-ID"]))
    assert sorted(copies) == sorted(ids)
    message_id_of = {i: mid for i, mid, _ in inbound}
    reply_of = {message_id_of[reply_to]: reply for reply, _, reply_to in outbound}
    for mid, message_ids in copies.items():
        assert len(set(message_ids)) == 1, (mid, message_ids)
        if len(message_ids) > 1:
            assert attempts[reply_of[mid]] > 1, (mid, message_ids)
    print(f"seed {seed}: {len(ids)} mails, {kills} kills, {reread} between commit and flag, "
          f"{len(recorder.mails) - len(ids)} SMTP resends")  # fmt: skip
