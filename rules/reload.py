"""Hot reload: poll the rulebook directory and swap in a freshly validated version on change.

Polling file stamps (name, size, mtime) every ``interval`` seconds is enough for a folder of a
few YAML files, needs no extra dependency, and behaves the same on every OS, bind mounts and
network shares included (where inotify-style watchers miss events). Loading runs in a worker
thread so a large rulebook never stalls live chats; the new version is handed to ``apply`` on
the event loop in one call, so the swap is atomic for every message. A broken file keeps the
previous version live: the problems are logged and kept in :attr:`RulebookWatcher.last_error`
for ``/healthz``; the same broken state is not retried until a file changes again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

from core.loops import BackgroundTask, every
from core.yamlfile import SourceError

__all__ = ["RulebookWatcher", "fingerprint", "snapshot"]

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

Snapshot = frozenset[tuple[str, int, int]]


def snapshot(directory: Path) -> Snapshot:
    """Name, size and modification time of every YAML file under ``directory``."""
    stamps = set()
    for pattern in ("**/*.yml", "**/*.yaml"):
        for path in directory.glob(pattern):
            try:
                stat = path.stat()
            except OSError:  # deleted between listing and stat: the next poll sees it
                continue
            stamps.add((str(path.relative_to(directory)), stat.st_size, stat.st_mtime_ns))
    return frozenset(stamps)


def fingerprint(directory: Path) -> tuple[tuple[str, ...], str]:
    """The YAML files under ``directory`` (relative paths, sorted) and a SHA-256 over their
    names and bytes: what the API shows as the rulebook's version, equal on every process that
    loaded the same files (file stamps differ between hosts, contents do not)."""
    digest = hashlib.sha256()
    names = sorted(
        {
            str(p.relative_to(directory))
            for pattern in ("**/*.yml", "**/*.yaml")
            for p in directory.glob(pattern)
        }
    )
    kept = []
    for name in names:
        try:
            data = (directory / name).read_bytes()
        except OSError:  # deleted meanwhile: the watcher reloads again after this
            continue
        kept.append(name)
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return tuple(kept), digest.hexdigest()


class RulebookWatcher(Generic[T]):
    """Calls ``apply(load())`` whenever the files under ``directory`` change.

    Args:
        directory: the rulebook folder.
        load: builds a complete validated version, raising :class:`SourceError` on problems
            (e.g. ``lambda: Knowledge.load(path, faq_threshold=0.8)``).
        apply: makes a loaded version live (one assignment).
        interval: seconds between polls.
    """

    def __init__(
        self,
        *,
        directory: Path,
        load: Callable[[], T],
        apply: Callable[[T], None],
        interval: float = 0.2,
    ) -> None:
        self._directory = directory
        self._load = load
        self._apply = apply
        self._interval = interval
        self._seen = snapshot(directory)
        self.last_error: tuple[str, ...] = ()
        self.failed_at: datetime | None = None  # when ``last_error`` was found
        self.reloads = 0
        self._checking = asyncio.Lock()

    async def check(self) -> bool | None:
        """Poll once: ``None`` if nothing changed, else whether the new version went live.

        Checks take turns: a caller that finds the poller mid-load waits for it, so when this
        returns, what is on disk is live or reported broken."""
        async with self._checking:
            return await self._check()

    async def _check(self) -> bool | None:
        current = await asyncio.to_thread(snapshot, self._directory)
        if current == self._seen:
            return None
        self._seen = current
        try:
            fresh = await asyncio.to_thread(self._load)
        except SourceError as exc:
            self.last_error = exc.problems
            self.failed_at = datetime.now(UTC)
            _LOGGER.error(
                "rulebook %s not reloaded, the previous version stays live:\n%s",
                self._directory,
                "\n".join(exc.problems),
            )
            return False
        except Exception as exc:  # a bug, not a rulebook problem: say so, keep serving
            self.last_error = (f"{self._directory}: internal error while loading ({exc!r}); see the log",)
            self.failed_at = datetime.now(UTC)
            _LOGGER.exception("rulebook %s not reloaded, the previous version stays live", self._directory)
            return False
        self._apply(fresh)
        self.last_error = ()
        self.failed_at = None
        self.reloads += 1
        _LOGGER.info("rulebook %s reloaded", self._directory)
        return True

    async def run(self) -> None:
        """Poll until cancelled; an unexpected error is logged and polling goes on."""
        await every(self._interval, self.check, failed=self._failed)

    def _failed(self, exc: Exception) -> None:
        _LOGGER.error("rulebook watcher: unexpected error, still watching %s", self._directory, exc_info=exc)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RulebookWatcher[T]]:
        """Watch for the lifetime of the ``async with`` block (for the app's exit stack)."""
        loop = BackgroundTask(name=f"rulebook-watcher:{self._directory}")
        loop.start(self.run())
        try:
            yield self
        finally:
            await loop.stop()
