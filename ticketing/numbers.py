"""Human-readable numbers (T-1042) that are unique across processes without a write per number.

Each process reserves a block of numbers with one atomic ``UPDATE ... RETURNING`` and hands
them out from memory, so opening a ticket inside a batched transaction needs no extra round
trip. A restart skips the unused rest of a block; numbers stay unique and increasing per
process, which is all a reference needs.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import Counter

__all__ = ["BlockAllocator", "ticket_reference"]


def ticket_reference(number: int) -> str:
    return f"T-{number}"


class BlockAllocator:
    def __init__(self, *, engine: AsyncEngine, name: str, block: int = 20) -> None:
        self._engine = engine
        self._name = name
        self._block = block
        self._next = 0
        self._end = 0  # exclusive
        self._lock = asyncio.Lock()

    async def next(self) -> int:
        async with self._lock:
            if self._next >= self._end:
                await self._reserve()
            value = self._next
            self._next += 1
            return value

    async def _reserve(self) -> None:
        stmt = (
            update(Counter)
            .where(Counter.name == self._name)
            .values(value=Counter.value + self._block)
            .returning(Counter.value)
        )
        async with self._engine.begin() as conn:
            top = (await conn.execute(stmt)).scalar_one()
        self._next, self._end = top - self._block + 1, top + 1
