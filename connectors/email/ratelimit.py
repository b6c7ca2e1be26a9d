"""Per-sender limit on answered mails: the last line of defence against mail loops.

Two auto-responders that ignore ``Auto-Submitted`` would otherwise mail each other forever.
Distinct mails are counted (by dedup key), so re-reading the same mail after a crash does
not use up the sender's allowance. State is per process and in memory on purpose: a restart
resetting it is harmless, and the clock is injectable for tests.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = ["SenderRateLimit"]


class SenderRateLimit:
    def __init__(
        self, *, per_hour: int, clock: Callable[[], float] = time.monotonic, max_senders: int = 100_000
    ) -> None:
        self._limit = per_hour
        self._clock = clock
        self._seen: OrderedDict[str, deque[tuple[float, str]]] = OrderedDict()
        self._max_senders = max_senders

    def allow(self, sender: str, key: str) -> bool:
        now = self._clock()
        window = self._seen.setdefault(sender, deque())
        self._seen.move_to_end(sender)
        while window and window[0][0] < now - 3600:
            window.popleft()
        if any(k == key for _t, k in window):
            return True  # the same mail again: it was allowed the first time
        if len(window) >= self._limit:
            return False
        window.append((now, key))
        if len(self._seen) > self._max_senders:
            self._seen.popitem(last=False)
        return True
