"""A fake Telegram Bot API on a loopback port: records every call, answers like Telegram.

It stands in for the remote service only; Frontdesk's real connector drives it through PTB's
real ``Bot`` (``base_url`` points here). Example::

    async with FakeBotApi(token=TOKEN) as api:
        api.queue_update({...})             # served to getUpdates
        call = await api.next_call("sendMessage")
        assert call.params["text"] == "..."
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TIMEOUT = 15.0  # only a hang or a lost call ever reaches it

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Frontdesk", "username": "frontdesk_test_bot"}


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, str]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # part name → (filename, bytes)

    def json(self, name: str) -> Any:
        return json.loads(self.params[name])


class FakeBotApi:
    def __init__(self, *, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.files: dict[str, bytes] = {}  # file_id -> bytes
        self.fail_sends = 0  # answer this many sendMessage calls with 429 first
        self._updates: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._message_ids = itertools.count(9000)
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> FakeBotApi:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.close()

    @property
    def base_url(self) -> str:
        return str(self._server.make_url("/bot"))

    @property
    def file_base_url(self) -> str:
        return str(self._server.make_url("/file/bot"))

    def config(self, *, mode: str, secret: str = "hook-secret_1", poll_timeout: int = 1) -> str:
        """The ``telegram:`` config.yaml section that points Frontdesk at this fake."""
        lines = [
            "telegram:",
            f'  token: "{self.token}"',
            f"  mode: {mode}",
            f"  webhook_secret: {secret}",
            f"  api_base_url: {self.base_url}",
            f"  file_base_url: {self.file_base_url}",
            f"  poll_timeout: {poll_timeout}",
        ]
        return "\n".join(lines) + "\n"

    async def queue_update(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1) -> list[Call]:
        """The first ``count`` calls of ``method``, once they have all arrived."""
        async with asyncio.timeout(TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method)) >= count)
        return self.calls_to(method)[:count]

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        form = await request.post()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        uploads = {k: (v.filename, v.file.read()) for k, v in form.items() if isinstance(v, web.FileField)}
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        elif method == "sendMessage" and self.fail_sends > 0:
            self.fail_sends -= 1
            await self._record(Call(method, params))
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 0",
                    "parameters": {"retry_after": 0},
                },
                status=429,
            )
        elif method == "getFile" and params.get("file_id") not in self.files:
            await self._record(Call(method, params))
            return web.json_response(  # what Telegram answers for a file id it does not know
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, status=400
            )
        else:
            result = self._answer(method, params)
        await self._record(Call(method, params, uploads))
        return web.json_response({"ok": True, "result": result})

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _get_updates(self, params: dict[str, str]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", "0") or 0)
        timeout = float(params.get("timeout", "0") or 0)

        def pending() -> list[dict[str, Any]]:
            return [u for u in self._updates if u["update_id"] >= offset]

        async with self._changed:
            if not pending() and timeout > 0:
                try:
                    async with asyncio.timeout(timeout):
                        await self._changed.wait_for(lambda: bool(pending()))
                except TimeoutError:
                    pass
            return pending()

    def _answer(self, method: str, params: dict[str, str]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in {"setWebhook", "deleteWebhook", "answerCallbackQuery"}:
            return True
        if method == "getFile":
            file_id = params["file_id"]
            return {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}.bin",
            }
        if method == "sendMessage":
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": 1_700_000_000,
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": params["text"],
            }
            if "reply_markup" in params:
                message["reply_markup"] = json.loads(params["reply_markup"])
            return message
        if method in {"sendDocument", "sendPhoto"}:  # the file arrives as a multipart part
            return {
                "message_id": next(self._message_ids),
                "date": 1_700_000_000,
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "caption": params.get("caption"),
            }
        raise web.HTTPNotFound(text=f"fake Bot API does not implement {method}")

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            raise web.HTTPUnauthorized()
        name = request.match_info["path"].rsplit("/", 1)[-1].removesuffix(".bin")
        if name not in self.files:
            raise web.HTTPNotFound()
        return web.Response(body=self.files[name])
