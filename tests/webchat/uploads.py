"""The real app with small ``webchat.uploads`` limits, and the bytes of small valid files.

Used by the upload API tests (tests/webchat/test_uploads.py) and the widget's browser tests
(tests/browser/test_widget_files.py)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.app import App, build_app
from tests.conftest import make_settings

MAX_BYTES = 64 * 1024  # small, so a too-large file is cheap to send
MAX_FILES = 3
ALLOWED = ("image/png", "image/jpeg", "application/pdf", "text/plain")


def small_limits() -> dict[str, object]:
    return {"enabled": True, "max_bytes": MAX_BYTES, "max_files": MAX_FILES, "allowed_types": ALLOWED}


def png(width: int = 2, height: int = 2, seed: int = 0) -> bytes:
    """A valid PNG (``seed`` varies the pixels, so two calls can make different files)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes((seed + x) % 256 for x in range(width * 3))
    raw = row * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def upload_app(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[App, TestClient]]:
    """The real app (uploads kept under ``tmp_path/var``, the default ``files_dir`` of a config in
    ``tmp_path``, as ``frontdesk`` commands run there see it) served on a loopback port."""
    settings = make_settings(database_url, tmp_path)
    uploads = settings.webchat.uploads.model_copy(update={**small_limits(), "files_dir": tmp_path / "var"})
    settings = settings.model_copy(
        update={"webchat": settings.webchat.model_copy(update={"uploads": uploads})}
    )
    app = build_app(settings)
    client = TestClient(TestServer(app.web, host="127.0.0.1"))
    await client.start_server()
    try:
        yield app, client
    finally:
        await client.close()


def stored_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "var" / "attachments" / "webchat"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
