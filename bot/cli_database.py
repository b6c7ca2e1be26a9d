"""What every database command of the CLI does around its work: open the engine, refuse a
schema older than the code (``frontdesk db upgrade`` first), run, dispose; a SQLite folder that
cannot be made is one clear line (:func:`bot.startup_errors.opening_database`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from bot.startup_errors import SchemaOutOfDate, opening_database
from ticketing.database import create_engine, current_revision, head_revision

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["run_on_database"]

T = TypeVar("T")


def run_on_database(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run ``work`` on an engine for ``url`` whose schema is current, from sync CLI code."""

    async def run() -> T:
        engine = create_engine(url)
        try:
            current = await current_revision(engine)
            if current != head_revision():
                raise SchemaOutOfDate(current=current, needed=head_revision())
            return await work(engine)
        finally:
            await engine.dispose()

    with opening_database(url):
        return asyncio.run(run())
