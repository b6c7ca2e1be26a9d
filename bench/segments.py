"""Customer segments at size: load bench/api_data.py's desk (reports=True: an analysis on every
customer message, CSAT on 30 % of solved tickets) into SQLite or PostgreSQL, then time one run:
the feature read, the clustering and the tag writes (a first run writes every customer's tag).

    .venv/bin/python -m bench.segments --tickets 100000 --interactions 1000000 [--postgres DSN_URL]

Provenance: synthetic, seeded (bench/api_data.py); no outside data.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench import api_data
from bot.segments import run_segments
from nlp.segments import FeatureTable, segment_customers
from ticketing.database import create_engine, upgrade
from ticketing.segments import Segments


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--interactions", type=int, default=1_000_000)
    ap.add_argument("--postgres", help="postgresql+asyncpg://… of an empty database")
    args = ap.parse_args()
    sizes, now = api_data.Sizes(args.tickets, args.interactions), time.time()
    folder = tempfile.mkdtemp(prefix="fd-segments-")
    url = args.postgres or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
    await upgrade(url)
    started = time.perf_counter()
    options = {"span_days": 730.0, "reports": True}
    if args.postgres:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        await api_data.load_postgresql(dsn, sizes, seed=25, now=now, **options)
    else:
        await asyncio.to_thread(
            api_data.load_sqlite, url.split(":///", 1)[1], sizes, seed=25, now=now, **options
        )
    out: dict[str, object] = {
        "customers": sizes.customers, "tickets": sizes.tickets, "interactions": sizes.interactions,
        "load_s": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    engine = create_engine(url)
    try:
        store = Segments(engine=engine)
        t = time.perf_counter()
        features = await store.features()
        out["features_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        result = segment_customers(FeatureTable(features.ids, features.columns))
        out["cluster_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        tagged = await store.tag(result.assignment)
        out["tag_s"], out["tagged"] = round(time.perf_counter() - t, 2), tagged.changed
        t = time.perf_counter()
        run = await run_segments(store)  # the whole run again: nothing changed, nothing written
        out["second_run_s"], out["second_run_tagged"] = round(time.perf_counter() - t, 2), run.tagged
        out["method"], out["k"], out["silhouette"] = run.method, run.k, run.silhouette
        out["scores"] = run.scores
        out["segments"] = [(s["name"], s["size"], s["description"]) for s in run.segments]
    finally:
        await engine.dispose()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
