"""Files sent from the widget: ``POST /api/v1/messages`` as ``multipart/form-data``.

The body is read part by part with a cap on each (aiohttp's multipart reader, never the whole
body at once): the fields ``client_message_id`` and ``text``, then up to ``max_files`` parts
named ``files``. Every limit is checked while reading, before anything is stored, and each
refusal is a :class:`BadRequest` that says what to fix: 413 for a file over ``max_bytes``, 415
for a type not in ``allowed_types`` (or bytes that are not what the type claims), 422 for too
many files or a malformed form. See docs/webchat-api.md, "Files".
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from connectors.base import BadRequest

__all__ = ["Upload", "UploadForm", "UploadLimits", "read_upload"]

_FIELD_BYTES = 512  # the client_message_id part; text gets four bytes a character (UTF-8's worst)
_FORM_OVERHEAD = 64 * 1024  # part headers and boundaries, on top of the files and the text
# Types whose first bytes are known: a file that claims one of them must start with them.
_MAGIC: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
}


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """``webchat.uploads`` from config.yaml, as the connector enforces it."""

    max_bytes: int
    max_files: int
    allowed_types: tuple[str, ...]
    enabled: bool = True

    def allows(self, content_type: str) -> bool:
        family = content_type.split("/", 1)[0] + "/*"
        return content_type in self.allowed_types or family in self.allowed_types

    def body_cap(self, max_chars: int) -> int:
        """The largest multipart body a message with files may declare."""
        return self.max_files * self.max_bytes + 4 * max_chars + _FIELD_BYTES + _FORM_OVERHEAD


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class UploadForm:
    fields: dict[str, str]  # the message's fields (client_message_id, text...), as sent
    files: tuple[Upload, ...]


def _mib(n: int) -> str:
    return (
        f"{n / (1024 * 1024):.3g} MB"
        if n >= 1024 * 1024
        else f"{n / 1024:.3g} KB"
        if n >= 1024
        else f"{n} bytes"
    )


async def read_upload(
    request: web.Request, limits: UploadLimits, *, fields: frozenset[str], max_chars: int, seconds: float
) -> UploadForm:
    """The form of a message with files, every limit checked; raises :class:`BadRequest`.

    ``fields``: the names of the message's own fields (the JSON body's), each sent at most once."""
    if not limits.enabled:
        raise BadRequest(415, "uploads_disabled", "this chat does not accept files; send text as JSON")
    try:
        async with asyncio.timeout(seconds):
            return await _read(request, limits, fields=fields, max_chars=max_chars)
    except TimeoutError:
        raise BadRequest(
            408, "body_timeout", f"the files did not arrive within {seconds:g} s; try a smaller file"
        ) from None
    except (ValueError, HttpProcessingError) as exc:  # aiohttp: no boundary, malformed part headers
        raise BadRequest(
            422, "invalid_form", "the multipart body is malformed: " + " ".join(str(exc).split())[:200]
        ) from None


async def _read(
    request: web.Request, limits: UploadLimits, *, fields: frozenset[str], max_chars: int
) -> UploadForm:
    reader = await request.multipart()
    values: dict[str, str] = {}
    files: list[Upload] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise BadRequest(422, "invalid_form", "nested multipart parts are not accepted")
        name = part.name or ""
        if name == "files":
            if len(files) >= limits.max_files:
                raise BadRequest(
                    422, "too_many_files", f"send at most {limits.max_files} files with one message"
                )
            files.append(await _file(part, limits))
        elif name in fields and name not in values:
            raw = await _capped(part, 4 * max_chars + 4 if name == "text" else _FIELD_BYTES)
            if raw is None:
                limit = f"{max_chars} characters" if name == "text" else f"{_FIELD_BYTES} bytes"
                raise BadRequest(413, "text_too_long", f"{name} is too long; the limit is {limit}")
            try:
                values[name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(400, "invalid_utf8", f"the {name} field is not valid UTF-8") from None
        else:
            raise BadRequest(
                422,
                "invalid_fields",
                f"unexpected form field {name[:40]!r} (allowed: {', '.join(sorted(fields))}, files)",
            )
    values.setdefault("text", "")
    return UploadForm(values, tuple(files))


async def _file(part: BodyPartReader, limits: UploadLimits) -> Upload:
    # The name as shown (never a path, never control characters); stored under a safe key anyway.
    base = (part.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in base if c.isprintable())[:200].strip() or "file"
    declared = part.headers.get("Content-Type", "application/octet-stream")
    content_type = declared.split(";", 1)[0].strip().lower() or "application/octet-stream"
    if not limits.allows(content_type):
        allowed = ", ".join(limits.allowed_types)
        raise BadRequest(
            415,
            "unsupported_file_type",
            f"{name}: files of type {content_type} are not accepted (allowed: {allowed})",
        )
    data = await _capped(part, limits.max_bytes)
    if data is None:
        raise BadRequest(
            413, "file_too_large", f"{name} is larger than {_mib(limits.max_bytes)}, the limit per file"
        )
    magic = _MAGIC.get(content_type)
    if magic is not None and not data.startswith(magic):
        raise BadRequest(415, "unsupported_file_type", f"{name} is not a valid {content_type} file")
    if not data:
        raise BadRequest(422, "empty_file", f"{name} is empty")
    return Upload(name, content_type, data)


async def _capped(part: BodyPartReader, cap: int) -> bytes | None:
    """The part's bytes, or None once they pass ``cap`` (the rest is left unread)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
