"""A terminal channel for admins trying their rulebook: ``frontdesk chat``.

Replies are printed as soon as the flow returns them; anything the outbox delivers later (an
agent's answer) is printed by :meth:`send`. Each run is its own conversation.
"""

from __future__ import annotations

import asyncio
import getpass
import secrets
import sys
from typing import TextIO

from core.contracts import InboundMessage, InboundSink, OutboundMessage

__all__ = ["CHANNEL", "ConsoleConnector"]

CHANNEL = "console"


class ConsoleConnector:
    name = CHANNEL

    def __init__(self, *, out: TextIO = sys.stdout) -> None:
        self._out = out
        self._user = f"console:{getpass.getuser()}"
        self._thread = f"console-{secrets.token_hex(6)}"
        self._shown: set[int] = set()
        self._sink: InboundSink | None = None

    async def start(self, sink: InboundSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._sink = None

    async def send(self, message: OutboundMessage) -> str | None:
        self._show(message)
        return None

    async def say(self, text: str) -> list[OutboundMessage]:
        if self._sink is None:
            raise RuntimeError("console connector is not started")
        message = InboundMessage(
            channel=self.name,
            external_user_id=self._user,
            external_thread_id=self._thread,
            text=text,
            idempotency_key=secrets.token_hex(12),
        )
        result = await self._sink(message)
        for reply in result.replies:
            self._show(reply)
        return list(result.replies)

    async def repl(self) -> None:
        print("Chatting with Frontdesk. Type a message; Ctrl-D or /quit ends.", file=self._out)
        while True:
            try:
                line = await asyncio.to_thread(input, "you> ")
            except EOFError:
                print(file=self._out)
                return
            if line.strip() in {"/quit", "/exit"}:
                return
            if line.strip():
                await self.say(line)

    def _show(self, message: OutboundMessage) -> None:
        if message.interaction_id in self._shown:
            return
        self._shown.add(message.interaction_id)
        name = message.sender_name or message.sender_role.value
        print(f"{name}> {message.text}", file=self._out, flush=True)
