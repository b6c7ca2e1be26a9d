"""Outgoing webhook delivery rate to a local receiver: the dispatcher against a bare client.

A receiver (aiohttp, in a process of its own, answering 204) listens on a loopback port. On a
fresh database, ``--deliveries`` ``message.created`` deliveries (bodies shaped like the
producer's, ~500 bytes) are queued for one subscription; then, in the same run:

1. ``dispatcher``: ``WebhookDispatcher.drain_once`` until every row is recorded as sent: claim
   with a lease, sign (Standard Webhooks HMAC-SHA256), POST, record; deliveries/s;
2. ``baseline``: the same bodies POSTed by a bare aiohttp client with the same concurrency,
   no signing and no database: the ceiling on this machine (run before and after 1; the
   faster run is reported).

Each delivery is its own ticket, so ordering holds nothing back (one ticket's events go one at
a time by design: see docs/webhooks.md). Prints JSON. Goal: dispatcher >= 1,000/s.

    .venv/bin/python bench/webhooks.py [--engine sqlite|postgres] [--deliveries 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import secrets
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.metrics import Metrics  # noqa: E402
from bot.webhook_settings import WebhooksSettings  # noqa: E402
from bot.webhook_signing import new_secret  # noqa: E402
from bot.webhooks import WebhookDispatcher  # noqa: E402
from ticketing.database import create_engine, upgrade  # noqa: E402
from ticketing.time import utcnow  # noqa: E402
from ticketing.webhooks import Subscriptions, WebhookDeliveries, enqueue, event_body  # noqa: E402


def _receive(port: multiprocessing.Queue[int]) -> None:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


def _body(n: int) -> str:
    message = {
        "id": n, "conversation_id": n, "conversation": f"c_{n:08d}", "customer_id": n, "ticket_id": n,
        "channel": "webchat", "direction": "in", "sender_role": "customer", "sender_name": None,
        "text": "Hello, my order 12345 has not arrived and the tracking page shows nothing, can you help?",
        "subject": None, "attachments": [],
    }  # fmt: skip
    return event_body("message.created", utcnow(), {"message": message})


async def _dispatcher(url: str, database_url: str, n: int, concurrency: int) -> dict[str, float]:
    engine = create_engine(database_url)
    try:
        subscriptions = Subscriptions(engine=engine)
        await subscriptions.put(name="bench", url=url, secret=new_secret(), events=["message.created"])
        (sub,) = await subscriptions.enabled()
        started = time.perf_counter()
        async with engine.begin() as conn:
            rows = [("message.created", f"ticket:{i}", _body(i)) for i in range(n)]
            await enqueue(conn, rows, [sub], utcnow())
        queued = time.perf_counter() - started
        deliveries = WebhookDeliveries(engine=engine)
        settings = WebhooksSettings(concurrency=concurrency, timeout_seconds=10)
        dispatcher = WebhookDispatcher(
            deliveries=deliveries, subscriptions=subscriptions, settings=settings, metrics=Metrics(),
            sweep_interval=3600,
        )  # fmt: skip
        await dispatcher.start()
        try:
            started = time.perf_counter()
            cpu = time.process_time()
            sent = await dispatcher.drain_once()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
        finally:
            await dispatcher.stop()
        counts = await deliveries.counts()
        assert counts == {"sent": n}, counts
        assert sent == n
        return {"per_s": n / elapsed, "seconds": elapsed, "cpu_ms_per_delivery": cpu * 1000 / n,
                "queue_rows_per_s": n / queued}  # fmt: skip
    finally:
        await engine.dispose()


async def _baseline(url: str, n: int, concurrency: int) -> dict[str, float]:
    bodies = [_body(i).encode() for i in range(n)]
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def post(body: bytes) -> None:
            async with limit, http.post(url, data=body, headers={"content-type": "application/json"}) as resp:
                await resp.read()
                assert resp.status == 204

        started = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(post(b) for b in bodies))
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return {"per_s": n / elapsed, "seconds": elapsed, "cpu_ms_per_delivery": cpu * 1000 / n}


async def _main(args: argparse.Namespace, url: str) -> dict[str, object]:
    if args.engine == "sqlite":
        folder = tempfile.mkdtemp(prefix="fd-bench-webhooks-")
        database_url = f"sqlite+aiosqlite:///{folder}/bench.db"
    else:
        import asyncpg

        name = f"fd_bench_{secrets.token_hex(4)}"
        admin = args.pg.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        database_url = args.pg.rsplit("/", 1)[0] + "/" + name
    await upgrade(database_url)
    # The baseline before and after (the better one counts): the receiver warms up, and this
    # machine's other load comes and goes.
    before = await _baseline(url, args.deliveries, args.concurrency)
    dispatcher = await _dispatcher(url, database_url, args.deliveries, args.concurrency)
    after = await _baseline(url, args.deliveries, args.concurrency)
    baseline = max(before, after, key=lambda b: b["per_s"])
    if args.engine == "postgres":
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await conn.close()
    return {
        "engine": args.engine, "deliveries": args.deliveries, "concurrency": args.concurrency,
        "dispatcher": dispatcher, "baseline": baseline,
        "dispatcher_vs_baseline": dispatcher["per_s"] / baseline["per_s"], "goal_per_s": 1000,
        "goal_met": dispatcher["per_s"] >= 1000,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--deliveries", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pg", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    port: multiprocessing.Queue[int] = multiprocessing.Queue()
    receiver = multiprocessing.Process(target=_receive, args=(port,), daemon=True)
    receiver.start()
    try:
        url = f"http://127.0.0.1:{port.get(timeout=30)}/hook"
        print(json.dumps(asyncio.run(_main(args, url)), indent=2))
    finally:
        receiver.terminate()
        receiver.join()


if __name__ == "__main__":
    main()
