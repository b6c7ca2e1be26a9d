"""A webhook receiver for tests: a real aiohttp server on port 0 that verifies every delivery
with its own, independent implementation of the Standard Webhooks signature (not the bot's)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

__all__ = ["SECRET", "Delivery", "Receiver"]

# 32 bytes of key, base64, as the spec's whsec_ secrets are.
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


@dataclass(frozen=True)
class Delivery:
    msg_id: str
    timestamp: int
    body: dict[str, Any]
    valid: bool


def standard_signature_ok(secret: str, headers: Any, raw: bytes) -> bool:
    """The spec's algorithm, written from the spec: base64 HMAC-SHA256 over
    ``id.timestamp.body`` with the base64-decoded part of the secret after ``whsec_``."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + raw
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        sig.startswith("v1,") and hmac.compare_digest(sig[3:], expected)
        for sig in headers["webhook-signature"].split(" ")
    )


@dataclass
class Receiver:
    """``answer(n)`` gives the status for the n-th request (0-based), or a negative number of
    seconds to sleep before answering 200 (a slow receiver)."""

    secret: str = SECRET
    answer: Callable[[int], float] = lambda _n: 200
    requests: list[Delivery] = field(default_factory=list)
    server: TestServer | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self.server = TestServer(app, host="127.0.0.1", port=0)
        await self.server.start_server()
        return str(self.server.make_url("/hook"))

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _hook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        n = len(self.requests)
        self.requests.append(
            Delivery(
                msg_id=request.headers["webhook-id"],
                timestamp=int(request.headers["webhook-timestamp"]),
                body=json.loads(raw),
                valid=standard_signature_ok(self.secret, request.headers, raw),
            )
        )
        status = self.answer(n)
        if status < 0:
            await asyncio.sleep(-status)
            status = 200
        return web.Response(status=int(status))

    def unique(self) -> dict[str, Delivery]:
        """The deliveries deduplicated by ``webhook-id``, as the docs tell receivers to."""
        return {d.msg_id: d for d in self.requests}

    def of_type(self, kind: str) -> list[Delivery]:
        return [d for d in self.unique().values() if d.body["type"] == kind]
