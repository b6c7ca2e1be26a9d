"""Scale-out in a real browser: two ``frontdesk serve`` processes on one PostgreSQL database.

One visitor has the widget open twice, on process A in one page and on process B in another,
as a load balancer without sticky sessions may send the same browser to either. The two pages
run on two origins here (one per port), so B's page is given the token A's page stored, as a
shared origin would share it; the shared ``webchat.secret_key`` makes B accept it. Live events
cross processes through PostgreSQL LISTEN/NOTIFY (ticketing/live_fanout.py); each page's
WebSocket frames are recorded, so a message that showed up by REST (history, polling) is not
mistaken for a push.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, BrowserContext, Page, WebSocket, expect

from tests.browser.test_widget import (
    CHROMIUM,
    TIMEOUT,
    Msg,
    ask,
    assert_no_duplicates,
    browser,  # noqa: F401  (the fixture)
    confirmed,
    open_widget,
    reply_after,
    send,
    snapshot,
)
from tests.conftest import ROOT, _dsn
from tests.serve import start_serve, wait_ready

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed"),
]

START = 120.0  # seconds for a server to come up on a loaded machine (a healthy one needs a few)
# After a restart the widget retries its socket with a growing backoff (up to 16-32 s after six
# failures) and polls REST meanwhile; either brings it back, the slowest within this.
RECONNECT = 60.0


class Server:
    """One ``frontdesk serve`` process; restarting keeps its port, so its pages keep their origin."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process, self.port = start_serve(self.config, self.log, port=self.port)
        await wait_ready(self.process, self.port, self.log, within=START)

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Widget:
    """A page with the widget open on one server, and every frame its WebSockets received."""

    def __init__(self, page: Page, server: Server) -> None:
        self.page, self.server = page, server
        self.frames: list[dict[str, Any]] = []
        self.sockets = 0
        page.on("websocket", self._watch)

    def _watch(self, ws: WebSocket) -> None:
        self.sockets += 1
        ws.on("framereceived", lambda payload: self.frames.append(json.loads(payload)))

    def pushed(self, message_id: int) -> int:
        return sum(1 for f in self.frames if f.get("type") == "message" and f["message"]["id"] == message_id)

    def ready(self) -> int:
        return sum(1 for f in self.frames if f.get("type") == "ready")

    async def token(self) -> str:
        token: str = await self.page.evaluate(f"localStorage.getItem('frontdesk:{self.server.url}:token')")
        return token


async def until(what: str, check: Callable[[], Any], within: float = TIMEOUT) -> Any:
    """Polls ``check`` (sync or async) until it returns something truthy, and returns that."""
    deadline = time.monotonic() + within
    while True:
        found = check()
        if asyncio.iscoroutine(found):
            found = await found
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.1)


async def shown(widget: Widget, message_id: int, within: float = TIMEOUT) -> Msg:
    async def find() -> Msg | None:
        return next((m for m in await snapshot(widget.page) if m["id"] == message_id), None)

    found: Msg = await until(f"message {message_id} on {widget.server.url}", find, within)
    return found


async def same_screen(a: Widget, b: Widget) -> list[Msg]:
    """Both pages end up showing the same messages, each once, in id order."""

    async def equal() -> list[Msg] | None:
        left, right = await snapshot(a.page), await snapshot(b.page)
        key = [(m["id"], m["sender"], m["text"]) for m in left]
        return left if key == [(m["id"], m["sender"], m["text"]) for m in right] else None

    try:
        msgs: list[Msg] = await until("both pages to show the same conversation", equal)
    except AssertionError:
        raise AssertionError(f"A shows {await snapshot(a.page)}\nB shows {await snapshot(b.page)}") from None
    assert_no_duplicates(msgs)
    return msgs


@pytest.fixture
async def servers(pg_url: str, tmp_path: Path) -> AsyncIterator[tuple[Server, Server]]:
    """Two servers with the same config: one database, one web chat secret."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database:\n  url: {pg_url}\nwebchat:\n  secret_key: test-secret-key-0123456789abcdef\n"
        f"rulebook:\n  path: {ROOT / 'rulebook'}\nnlu:\n  analysis_workers: 0\n"
    )
    pair = (Server(config, tmp_path / "a.log"), Server(config, tmp_path / "b.log"))
    try:
        await pair[0].start()  # the first trains the intent model, the second finds it
        await pair[1].start()
        yield pair
    finally:
        for server in pair:
            server.stop()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:  # noqa: F811
    """One browser profile: the visitor's. Fails the test on any uncaught JavaScript error."""
    ctx = await browser.new_context()
    ctx.set_default_timeout(TIMEOUT * 1000)
    errors: list[str] = []
    ctx.on("page", lambda page: page.on("pageerror", lambda exc: errors.append(str(exc))))
    yield ctx
    await ctx.close()
    assert errors == [], f"uncaught JavaScript errors in the pages: {errors}"


async def visitor_on_both(context: BrowserContext, a: Server, b: Server) -> tuple[Widget, Widget]:
    """The widget on A with one answered question, then the same session's widget on B."""
    on_a = Widget(await context.new_page(), a)
    await open_widget(on_a.page, a.url + "/")
    await ask(on_a.page, "What are your opening hours?")
    key = f"frontdesk:{b.url}:token"
    token = await on_a.token()
    on_b = Widget(await context.new_page(), b)
    # Only when unset, so a reload after a restart keeps what B's widget stored itself.
    await on_b.page.add_init_script(
        f"if (!localStorage.getItem({key!r})) localStorage.setItem({key!r}, {token!r});"
    )
    await open_widget(on_b.page, b.url + "/")
    await same_screen(on_a, on_b)  # B resumed the conversation: its history, not a new session
    await until("both sockets to be ready", lambda: on_a.ready() and on_b.ready())
    return on_a, on_b


async def agent_reply(config: Path, text: str, pg_url: str) -> None:
    """``frontdesk tickets reply`` on the conversation's ticket, from a third process."""
    conn = await asyncpg.connect(_dsn(pg_url))
    try:
        number = await conn.fetchval("SELECT number FROM tickets ORDER BY id DESC LIMIT 1")
    finally:
        await conn.close()
    assert number is not None, "the message did not open a ticket"
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "--config", str(config), "tickets", "reply", str(number), text,
        "--agent", "alice", cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await cli.communicate()
    assert cli.returncode == 0, output.decode()


async def test_one_visitor_on_two_processes_sees_everything_on_both(
    servers: tuple[Server, Server], context: BrowserContext, pg_url: str
) -> None:
    a, b = servers
    on_a, on_b = await visitor_on_both(context, a, b)

    # Sent on A: the message and the bot's reply reach B's socket (and A's, from the POST).
    mine, reply = await ask(on_a.page, "Do you ship abroad?")
    for message in (mine, reply):
        await shown(on_b, message["id"])
        assert on_b.pushed(message["id"]) >= 1, f"{message} reached B without a push"

    # And the other way round.
    mine, reply = await ask(on_b.page, "How do I return an item?")
    for message in (mine, reply):
        await shown(on_a, message["id"])
        assert on_a.pushed(message["id"]) >= 1, f"{message} reached A without a push"

    # An agent answers the ticket from the command line, a third process: whichever server's
    # dispatcher delivers the reply, it reaches the socket on the other one too.
    human, _ = await ask(on_a.page, "I want to talk to a human please")
    text = "Hi, this is Alice from the support team."
    await agent_reply(a.config, text, pg_url)
    for widget in (on_a, on_b):

        async def from_agent(widget: Widget = widget) -> Msg | None:
            msgs = await snapshot(widget.page)
            return next((m for m in msgs if m["sender"] == "agent" and m["text"] == text), None)

        answer: Msg = await until(f"the agent's reply on {widget.server.url}", from_agent)
        assert answer["id"] > human["id"] and widget.pushed(answer["id"]) >= 1, answer
    await same_screen(on_a, on_b)
    assert on_a.sockets == 1 and on_b.sockets == 1  # no reconnects: everything came live


async def test_a_killed_process_loses_nothing_and_its_widget_comes_back(
    servers: tuple[Server, Server], context: BrowserContext
) -> None:
    a, b = servers
    on_a, on_b = await visitor_on_both(context, a, b)
    a.kill()

    # The survivor keeps working.
    during, during_reply = await ask(on_b.page, "How much is shipping?")
    # A's widget says it is reconnecting, and keeps what the visitor types meanwhile.
    await expect(on_a.page.locator("[data-fd=status]")).to_contain_text("Reconnecting")
    await send(on_a.page, "Are you still there?")
    queued = [m for m in await snapshot(on_a.page) if m["text"] == "Are you still there?"]
    assert len(queued) == 1 and queued[0]["id"] is None, queued

    await a.start()  # same port: the page's origin is back
    held = await until(
        "the message typed during the outage to be sent", lambda: _confirmed(on_a, "Are you still there?"),
        RECONNECT,
    )  # fmt: skip
    for message in (during, during_reply):  # missed while down: caught up over REST
        await shown(on_a, message["id"], RECONNECT)
    await shown(on_b, held["id"])
    await until("the reply to the held message", lambda: _reply_after(on_a, held["id"]), RECONNECT)
    await expect(on_a.page.locator("[data-fd=status]")).to_be_hidden(timeout=RECONNECT * 1000)

    # The socket to the restarted process is live again: a message sent on B is pushed to it.
    ready = await until("A's widget to open a new socket", lambda: on_a.ready() >= 2, RECONNECT)
    assert ready and on_a.sockets >= 2
    mine, reply = await ask(on_b.page, "Thanks, and can I pay with PayPal?")
    for message in (mine, reply):
        await shown(on_a, message["id"])
        assert on_a.pushed(message["id"]) >= 1, f"{message} reached A without a push"
    msgs = await same_screen(on_a, on_b)
    customer = [m["text"] for m in msgs if m["sender"] == "customer"]
    assert customer == [
        "What are your opening hours?",
        "How much is shipping?",
        "Are you still there?",
        "Thanks, and can I pay with PayPal?",
    ], msgs


async def _confirmed(widget: Widget, text: str) -> Msg | None:
    return confirmed(text)(await snapshot(widget.page))


async def _reply_after(widget: Widget, message_id: int) -> Msg | None:
    return reply_after(message_id)(await snapshot(widget.page))
