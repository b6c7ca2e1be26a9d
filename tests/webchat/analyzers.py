"""Analyzers for the worker tests, in a module of their own.

A worker unpickles an analyzer by importing its module. Defined in a test module, they made
every fresh worker import that module (the app, aiohttp, SQLAlchemy) before its first
analysis: on a slow machine longer than a test's ``stuck_after``, so a worker that was only
importing looked stuck. This module imports nothing but ``nlp.types``.
"""

from __future__ import annotations

import threading
import time

from nlp.types import Analysis, AnalysisContext


class Hangs:
    """An analyzer that never finishes one text (think of a regex gone exponential)."""

    def analyze(self, text: str, context: AnalysisContext) -> Analysis:
        if text == "hang":
            time.sleep(3600)
        return Analysis(text=text, language=context.language or "en")


class Unpicklable(Hangs):
    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("not this one")


class PickledWhere(Hangs):
    """Records the thread it is pickled on."""

    threads: list[int] = []

    def __reduce__(self) -> str | tuple[object, ...]:
        PickledWhere.threads.append(threading.get_ident())
        return (PickledWhere, ())
