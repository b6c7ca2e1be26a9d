"""Open web chat sockets, by conversation, for live replies and typing indicators.

Sending to one socket must not hold up the others, and a dead socket must not break a
delivery: each send is independent and failures just drop the socket (the browser reconnects
and catches up over REST).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from typing import Any

from aiohttp import web

__all__ = ["LiveHub"]

_LOGGER = logging.getLogger(__name__)


class LiveHub:
    def __init__(self) -> None:
        self._sockets: defaultdict[str, set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        self._sockets[conversation_id].add(ws)

    def remove(self, conversation_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self._sockets.get(conversation_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self._sockets[conversation_id]

    def listeners(self, conversation_id: str) -> int:
        return len(self._sockets.get(conversation_id, ()))

    async def publish(self, conversation_id: str, event: dict[str, Any]) -> None:
        sockets = list(self._sockets.get(conversation_id, ()))
        if not sockets:
            return
        data = json.dumps(event)
        results = await asyncio.gather(*(ws.send_str(data) for ws in sockets), return_exceptions=True)
        for ws, result in zip(sockets, results, strict=True):
            if isinstance(result, BaseException):
                _LOGGER.debug("dropping web chat socket for %s: %s", conversation_id, result)
                self.remove(conversation_id, ws)

    async def close_all(self) -> None:
        for sockets in list(self._sockets.values()):
            for ws in list(sockets):
                with contextlib.suppress(Exception):
                    await ws.close(code=1001, message=b"server shutting down")
        self._sockets.clear()
