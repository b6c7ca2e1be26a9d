"""Human-readable numbers (T-1042), unique across processes without a write per number.

Numbers are reserved in blocks with one atomic ``UPDATE ... RETURNING`` *inside the caller's
transaction* and handed out from memory, so opening tickets in a batched transaction needs
at most one extra statement. If that transaction rolls back, the reservation rolls back with
it, so the pool must be dropped (:meth:`NumberPool.forget`): the same numbers will be
reserved again and none of them was stored. A restart skips the unused rest of a block.
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.models import Counter

__all__ = ["NumberPool", "ticket_reference"]

_RESERVE = (
    update(Counter)
    .where(Counter.name == bindparam("b_name"))
    .values(value=Counter.value + bindparam("block"))
    .returning(Counter.value)
)


def ticket_reference(number: int) -> str:
    return f"T-{number}"


class NumberPool:
    def __init__(self, *, name: str, block: int = 50) -> None:
        self._name = name
        self._block = block
        self._next = 0
        self._end = 0  # exclusive

    @property
    def available(self) -> int:
        return self._end - self._next

    async def ensure(self, conn: AsyncConnection, needed: int) -> None:
        """Make at least ``needed`` numbers available, reserving in ``conn``'s transaction."""
        if self.available >= needed:
            return
        block = max(self._block, needed)
        top = (await conn.execute(_RESERVE, {"b_name": self._name, "block": block})).scalar_one()
        # Numbers left over from the previous block are abandoned: blocks must stay contiguous.
        self._next, self._end = top - block + 1, top + 1

    def take(self) -> int:
        if self._next >= self._end:
            raise RuntimeError("number pool exhausted; call ensure() first")
        value = self._next
        self._next += 1
        return value

    def forget(self) -> None:
        self._next = self._end = 0
