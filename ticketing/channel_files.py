"""Files channels receive (attachments, quarantined raw mails), kept on disk.

Bytes are written under a configurable directory (default ``var/``) in a worker thread, so a
large attachment never blocks the event loop; the returned storage key is the path relative to
that directory, which is what interaction rows record. Names are content-addressed, so storing
the same file twice (a re-delivered message) writes it once.

With several machines on PostgreSQL this directory must be shared storage (or the bytes move
to an object store behind the same methods).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from pathlib import Path

__all__ = ["DiskFiles", "safe_filename"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, *, default: str = "file") -> str:
    cleaned = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")
    return cleaned[:120] or default


class DiskFiles:
    def __init__(self, *, root: Path) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        return self._root

    async def put(self, area: str, filename: str, data: bytes) -> str:
        """Store ``data``; returns its key (``area/ab/abcdef…-name``)."""
        digest = hashlib.sha256(data).hexdigest()
        key = f"{area}/{digest[:2]}/{digest[:32]}-{safe_filename(filename)}"
        await asyncio.to_thread(self._write, self._root / key, data)
        return key

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def remove(self, key: str) -> bool:
        """Delete the file under ``key`` (an erasure); False if it was not there."""
        path = self.path(key)

        def unlink() -> bool:
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            return True

        return await asyncio.to_thread(unlink)

    def path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root.resolve()):
            raise ValueError(f"storage key {key!r} points outside {self._root}")
        return path

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        if path.exists() and path.stat().st_size == len(data):
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: a crash never leaves half a file under the final name
