"""CPU-heavy, rarely run work (clustering) in a short-lived process of its own.

Spawned, not forked: nothing of the service's state (sockets, the event loop, the database pool)
is copied, and what the work imports (scikit-learn, about 70-90 MB) is gone with the process
instead of staying in the service's memory. The event loop only waits.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

__all__ = ["in_fresh_process"]

T = TypeVar("T")


async def in_fresh_process(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a new process; ``fn`` and its arguments must pickle."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
