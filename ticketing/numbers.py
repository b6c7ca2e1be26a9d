"""Human-readable numbers (T-1042): unique, gapless and in the order tickets are committed,
across every process on one database.

A batch of turns first plans with provisional numbers to learn how many tickets it opens; only
then, and only if it opens any, it reserves exactly that many with one atomic
``UPDATE counters ... RETURNING`` *inside its own transaction* and plans again with the real ones
(planners are pure, so the second plan is the first with the numbers filled in). The counter row
stays locked until that transaction commits, so across processes numbers follow commit order;
only batches that open a ticket wait on it, not every message. A rollback returns the numbers
with it, and nothing is held in memory, so a restart or a short-lived ``frontdesk chat`` skips
none.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.models import Counter

__all__ = ["NumberTally", "reserve_numbers", "ticket_reference"]

_RESERVE = (
    update(Counter)
    .where(Counter.name == bindparam("b_name"))
    .values(value=Counter.value + bindparam("count"))
    .returning(Counter.value)
)


def ticket_reference(number: int) -> str:
    return f"T-{number}"


async def reserve_numbers(conn: AsyncConnection, count: int, *, name: str = "ticket_number") -> Iterator[int]:
    """The next ``count`` numbers, in order, reserved in ``conn``'s transaction."""
    top = (await conn.execute(_RESERVE, {"b_name": name, "count": count})).scalar_one()
    return iter(range(top - count + 1, top + 1))


class NumberTally:
    """The numbers of a first, provisional plan: counts what is asked for and remembers the first
    planner that asked (the turns before it need no second plan)."""

    def __init__(self) -> None:
        self.taken = 0
        self.first_taker: int | None = None
        self._turn = 0

    def at_turn(self, index: int) -> None:
        self._turn = index

    def take(self) -> int:
        if self.first_taker is None:
            self.first_taker = self._turn
        self.taken += 1
        return -self.taken  # never stored: a provisional plan is replanned before it is written
