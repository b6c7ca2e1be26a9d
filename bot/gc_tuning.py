"""Garbage-collector settings for the long-running processes (the service and its workers).

Two costs showed up under load (figures: docs/performance.md). Full scans walked everything
start-up loaded (NLP models, the rulebook, SQLAlchemy's metadata) and stopped every chat while
they ran: those objects live as long as the process, so they are frozen out of the scans. And
the young generation, collected every 700 new objects by default, was collected many times a
second to find almost nothing (requests free their objects by reference counting). Collecting
it every 100,000 objects costs a few MB at most and finds the same cycles later.
"""

from __future__ import annotations

import gc

__all__ = ["settle_heap"]

YOUNG_THRESHOLD = 100_000


def settle_heap() -> None:
    """Collect, then freeze what survives; unfreezing first lets the collection free what was
    loaded before and is no longer used (a worker's previous pipeline)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
