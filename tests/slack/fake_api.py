"""A fake Slack Web API on a loopback port: records every call and answers like Slack.

It stands in for the remote service only; Frontdesk's real connector drives it through
slack_sdk's real ``AsyncWebClient`` (``base_url`` points here). Example::

    async with FakeSlack() as slack:
        slack.rate_limit("chat.postMessage", times=1)   # the next call gets 429 + Retry-After
        [card] = await slack.wait_for("chat.postMessage")
        assert card.params["channel"] == "C0SUPPORT"
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

TIMEOUT = 15.0  # only a hang or a lost call ever reaches it
BOT_TOKEN = "xoxb-test-0123456789"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_USER_ID = "UBOTFD01"
BOT_ID = "BBOTFD01"


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    accepted: bool = True  # False: the fake answered with an injected 429/503
    at: float = field(default_factory=time.monotonic)  # when the fake received it


@dataclass(frozen=True)
class SharedFile:
    """A file Frontdesk shared with ``files.completeUploadExternal``."""

    id: str
    title: str
    channel: str
    thread_ts: str | None
    data: bytes


Params = dict[str, Any]
_Failure = tuple[int, dict[str, str], str, Callable[[Params], bool]]


def _always(params: Params) -> bool:
    return True


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}  # user id → users.info "user"
        self.usergroups: dict[str, list[str]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._method)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files-pri/{file_id}/{name}", self._download)
        # Files: agents' files served to Frontdesk, customers' files uploaded by it (files_upload_v2).
        self.files: dict[str, dict[str, Any]] = {}  # file id → file object (as in events)
        self.file_bytes: dict[str, bytes] = {}
        self.downloads: list[tuple[str, str | None]] = []  # (file id, token) of each download
        self.uploaded: dict[str, bytes] = {}  # file id → bytes POSTed to its upload URL
        self.shared: list[SharedFile] = []  # completeUploadExternal: files shared into a thread
        self.fail_uploads = 0  # answer this many upload POSTs with 500
        self._pending: dict[str, tuple[str, int]] = {}  # upload URLs handed out: file id → (name, length)
        self.acks: list[dict[str, Any]] = []  # Socket Mode acknowledgements received
        self.posted: dict[str, str] = {}  # ts → channel of every chat.postMessage, until chat.delete
        self.post_log: list[tuple[Call, str]] = []  # every accepted chat.postMessage and its ts
        self._sockets: list[web.WebSocketResponse] = []
        self._server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> FakeSlack:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in self._sockets:
            await ws.close()
        await self._server.close()

    @property
    def base_url(self) -> str:
        return str(self._server.make_url("/api/"))

    def config(self, **overrides: str) -> str:
        """The ``slack:`` config.yaml section that points Frontdesk at this fake."""
        values = {
            "bot_token": BOT_TOKEN,
            "signing_secret": SIGNING_SECRET,
            "api_base_url": self.base_url,
            "default_channel": "C0SUPPORT",
            "poll_interval": "0.05",
            "retry_max_seconds": "0.2",
            "agents": "{U0ALICE: alice}",
            "alerts_channel": "C0ALERTS",
            "channel_aliases": '{"#support-leads": C0LEADS}',
            **overrides,
        }
        return "slack:\n" + "".join(f"  {key}: {value}\n" for key, value in values.items())

    async def push(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Socket Mode: send one envelope to the connected app; returns its acknowledgement."""
        async with asyncio.timeout(TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: bool(self._sockets))
        await self._sockets[-1].send_json(envelope)
        envelope_id = envelope["envelope_id"]
        async with asyncio.timeout(TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: any(a.get("envelope_id") == envelope_id for a in self.acks))
        return next(a for a in self.acks if a.get("envelope_id") == envelope_id)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
        async with self._changed:
            self._sockets.append(ws)
            self._changed.notify_all()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                async with self._changed:
                    self.acks.append(json.loads(message.data))
                    self._changed.notify_all()
        return ws

    def add_file(self, name: str, data: bytes, *, mimetype: str, size: int | None = None) -> dict[str, Any]:
        """A file an agent posted: the object a ``message`` event's ``files`` carries."""
        file_id = f"F0{len(self.files) + 1:07d}"
        url = str(self._server.make_url(f"/files-pri/{file_id}/{name}"))
        self.files[file_id] = {
            "id": file_id, "name": name, "title": name, "mimetype": mimetype,
            "size": len(data) if size is None else size, "mode": "hosted",
            "url_private": url, "url_private_download": url + "?download=1",
        }  # fmt: skip
        self.file_bytes[file_id] = data
        return dict(self.files[file_id])

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or None
        self.downloads.append((file_id, token))
        if token != BOT_TOKEN:
            return web.Response(status=403, text="files need the bot token")
        if file_id not in self.file_bytes:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=self.file_bytes[file_id], content_type="application/octet-stream")

    async def _upload(self, request: web.Request) -> web.Response:
        if self.fail_uploads > 0:
            self.fail_uploads -= 1
            return web.Response(status=500, text="upload failed")
        self.uploaded[request.match_info["file_id"]] = await request.read()
        return web.Response(text=f"OK - {len(self.uploaded[request.match_info['file_id']])}")

    async def wait_for_shared(self, count: int = 1) -> list[SharedFile]:
        async with asyncio.timeout(TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: len(self.shared) >= count)
        return self.shared[:count]

    def add_user(self, user_id: str, email: str) -> None:
        self.users[user_id] = {"id": user_id, "name": email.split("@")[0], "profile": {"email": email}}

    def rate_limit(
        self, method: str, *, times: int = 1, retry_after: str = "0", when: Callable[[Params], bool] = _always
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (those ``when`` accepts) with 429."""
        self._failures.setdefault(method, []).extend(
            [(429, {"Retry-After": retry_after}, "ratelimited", when)] * times
        )

    def outage(self, method: str, *, times: int = 1) -> None:
        self._failures.setdefault(method, []).extend([(503, {}, "service_unavailable", _always)] * times)

    def calls_to(self, method: str, where: Callable[[Call], bool] = lambda c: True) -> list[Call]:
        return [c for c in self.calls if c.method == method and where(c)]

    async def wait_for(
        self, method: str, count: int = 1, where: Callable[[Call], bool] = lambda c: True
    ) -> list[Call]:
        """The first ``count`` calls of ``method`` that ``where`` accepts, once they arrived."""
        async with asyncio.timeout(TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method, where)) >= count)
        return self.calls_to(method, where)[:count]

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        auth = request.headers.get("Authorization", "")
        call = Call(method, params, auth.removeprefix("Bearer ") or None)
        failures = self._failures.get(method, [])
        failure = next((f for f in failures if f[3](params)), None)
        if failure is not None:
            failures.remove(failure)
            status, headers, error, _when = failure
            await self._record(Call(method, params, call.token, accepted=False))
            return web.json_response({"ok": False, "error": error}, status=status, headers=headers)
        if call.token != BOT_TOKEN and not method.startswith("apps.connections"):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        body = self._answer(method, params)
        if method == "chat.postMessage" and body.get("ok"):
            self.post_log.append((call, str(body["ts"])))
        await self._record(call)
        return web.json_response(body)

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "apps.connections.open":
            return {"ok": True, "url": str(self._server.make_url("/socket")).replace("http://", "ws://")}
        if method == "auth.test":
            return {
                "ok": True,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "team_id": "T0TEAM",
                "user": "frontdesk",
            }
        if method == "chat.postMessage":
            channel = str(params["channel"])
            if channel.startswith("#"):
                return {"ok": False, "error": "channel_not_found"}
            ts = f"1700000000.{next(self._ts):06d}"
            self.posted[ts] = channel
            return {
                "ok": True,
                "channel": channel,
                "ts": ts,
                "message": {"text": params.get("text"), "ts": ts},
            }
        if method == "chat.delete":  # the bot's own messages only, as Slack: ours are all the bot's
            if self.posted.get(str(params.get("ts"))) != params.get("channel"):
                return {"ok": False, "error": "message_not_found"}
            del self.posted[str(params["ts"])]
            return {"ok": True, "channel": params["channel"], "ts": params["ts"]}
        if method == "chat.update":
            return {"ok": True, "channel": params["channel"], "ts": params["ts"]}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method.startswith("files."):
            return self._files_answer(method, params)
        if method in ("views.publish", "reactions.add"):
            return {"ok": True}
        if method == "views.open":  # a modal; Slack refuses a trigger_id older than 3 seconds
            if str(params.get("trigger_id", "")).startswith("expired"):
                return {"ok": False, "error": "expired_trigger_id"}
            return {"ok": True, "view": {"id": f"V0{next(self._ts):06d}", **_view_of(params)}}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.lookupByEmail":
            found = [u for u in self.users.values() if u["profile"]["email"] == params.get("email")]
            return {"ok": True, "user": found[0]} if found else {"ok": False, "error": "users_not_found"}
        if method == "usergroups.users.list":
            return {"ok": True, "users": self.usergroups.get(str(params.get("usergroup")), [])}
        return {"ok": False, "error": "unknown_method"}

    def _files_answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "files.getUploadURLExternal":
            file_id = f"F1{next(self._ts):07d}"
            self._pending[file_id] = (str(params["filename"]), int(params["length"]))
            return {
                "ok": True,
                "file_id": file_id,
                "upload_url": str(self._server.make_url(f"/upload/{file_id}")),
            }
        if method == "files.completeUploadExternal":
            files = params["files"] if isinstance(params["files"], list) else json.loads(params["files"])
            done = []
            for f in files:
                data = self.uploaded.get(f["id"])
                name, length = self._pending.get(f["id"], ("", -1))
                if data is None or len(data) != length:
                    return {"ok": False, "error": "file_upload_incomplete"}
                channel = str(params.get("channel_id") or params.get("channels") or "")
                self.shared.append(
                    SharedFile(f["id"], f.get("title") or name, channel, params.get("thread_ts"), data)
                )
                done.append({"id": f["id"], "title": f.get("title") or name, "name": name})
            return {"ok": True, "files": done}
        if method == "files.delete":
            before = len(self.shared)
            self.shared = [f for f in self.shared if f.id != params.get("file")]
            return {"ok": True} if len(self.shared) < before else {"ok": False, "error": "file_not_found"}
        if method == "files.info":
            file = self.files.get(str(params.get("file")))
            return {"ok": True, "file": file} if file else {"ok": False, "error": "file_not_found"}
        return {"ok": False, "error": "unknown_method"}


def _view_of(params: dict[str, Any]) -> dict[str, Any]:
    view = params.get("view")
    if isinstance(view, str):  # slack_sdk sends the view as JSON text in a form field
        view = json.loads(view)
    return view if isinstance(view, dict) else {}


def signed(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack sends with ``body``: a v0 signature over ``v0:timestamp:body``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def event_body(payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    body = json.dumps(payload)
    return body, {"Content-Type": "application/json", **signed(body)}


def form_body(fields: dict[str, str]) -> tuple[str, dict[str, str]]:
    body = urlencode(fields)
    return body, {"Content-Type": "application/x-www-form-urlencoded", **signed(body)}


def action_body(payload: dict[str, Any]) -> tuple[str, dict[str, str]]:
    return form_body({"payload": json.dumps(payload)})
