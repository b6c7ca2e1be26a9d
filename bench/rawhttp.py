"""A load generator that leaves the machine to the servers it measures: raw HTTP/1.1.

Why not aiohttp's client: on a 2-core machine the load generator shares the cores with the
service under test. aiohttp's client spent about 0.17 ms of CPU per request in an open-loop
phase (a third of a core at 3,000 requests/s, taken from the service), and in a closed loop it
was itself the ceiling of the echo baseline: 10,500 requests/s, where the echo server answers
this client 20,000. This one writes each request as one prebuilt buffer and reads a response
by its ``Content-Length``, about 0.06 ms of CPU a request.

Each client is one keep-alive connection. Closed loop: a client sends its next request when
the previous answer arrives. Open loop (as wrk2 does it): each client sends on a fixed
schedule; a request whose connection is still busy is sent as soon as the connection frees,
and its latency counts from its scheduled time, so queueing is never hidden.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Load", "Outcome", "closed_loop", "open_loop"]


@dataclass(frozen=True)
class Load:
    """Where the requests go: ``body(client, n)`` is client ``client``'s ``n``-th body."""

    host: str
    port: int
    path: str
    headers: Sequence[dict[str, str]]  # per client
    body: Callable[[int, int], bytes]


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, requests in the window only
    errors: int = 0
    answered_in_window: int = 0  # answers that arrived before ``stop`` (an overload's throughput)
    failure: ValueError | None = None  # an answer this client cannot read: the run is void
    measure_from: float = 0.0  # times are the event loop's clock
    stop: float = 0.0
    closed: bool = False

    def record(self, started: float, now: float, ok: bool) -> None:
        if started >= self.measure_from:
            self.answered_in_window += now <= self.stop
            if ok:
                self.latencies.append(now - started)
            else:
                self.errors += 1


class _Client(asyncio.Protocol):
    def __init__(self, load: Load, index: int, outcome: Outcome) -> None:
        self._load = load
        self._index = index
        self._outcome = outcome
        self._head = (
            f"POST {load.path} HTTP/1.1\r\nHost: {load.host}:{load.port}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in load.headers[index].items())
        ).encode()
        self._buffer = b""
        self._waiting: deque[float] = deque()  # start times: the first is in flight
        self._sent = 0
        self._transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self._clock = loop.time
        self.lost: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self._outcome.errors += len(self._waiting)
        self._waiting.clear()

    @property
    def busy(self) -> bool:
        return bool(self._waiting)

    def send(self, started: float) -> None:
        self._waiting.append(started)
        if len(self._waiting) == 1:
            self._write()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _write(self) -> None:
        assert self._transport is not None
        body = self._load.body(self._index, self._sent)
        self._sent += 1
        self._transport.write(self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                length = _content_length(self._buffer[:end])
            except ValueError as exc:  # a figure counted from unreadable answers would be wrong
                self._outcome.failure = exc
                self.close()
                return
            if len(self._buffer) < end + 4 + length:
                return
            ok = self._buffer[9:12] == b"200"
            self._buffer = self._buffer[end + 4 + length :]
            now = self._clock()
            self._outcome.record(self._waiting.popleft(), now, ok)
            if self._outcome.closed and not self._waiting and now < self._outcome.stop:
                self._waiting.append(now)
            if self._waiting:
                self._write()


def _content_length(head: bytes) -> int:
    at = head.lower().find(b"\r\ncontent-length:")
    if at < 0:
        raise ValueError("rawhttp reads responses with a Content-Length only: " + head[:200].decode())
    end = head.find(b"\r\n", at + 2)
    return int(head[at + 17 : end if end >= 0 else len(head)])


async def _connect(load: Load, outcome: Outcome, clients: int) -> list[_Client]:
    loop = asyncio.get_running_loop()
    made = []
    for i in range(clients):
        _, client = await loop.create_connection(
            functools.partial(_Client, load, i, outcome), load.host, load.port
        )
        made.append(client)
    return made


async def _finish(clients: list[_Client], outcome: Outcome) -> None:
    while any(c.busy for c in clients):
        await asyncio.sleep(0.005)
    for c in clients:
        c.close()
    await asyncio.gather(*(c.lost for c in clients))
    if outcome.failure is not None:
        raise outcome.failure


async def closed_loop(
    load: Load, clients: int, seconds: float, warmup: float, at_window: Callable[[], None] | None = None
) -> Outcome:
    """``clients`` connections, each sending its next request when the previous answer arrives;
    ``at_window`` is called when the measured window starts."""
    loop = asyncio.get_running_loop()
    outcome = Outcome(closed=True)
    connections = await _connect(load, outcome, clients)
    start = loop.time()
    outcome.measure_from, outcome.stop = start + warmup, start + warmup + seconds
    if at_window is not None:
        loop.call_at(outcome.measure_from, at_window)
    for c in connections:
        c.send(loop.time())
    await asyncio.sleep(outcome.stop - loop.time())
    await _finish(connections, outcome)
    return outcome


async def open_loop(load: Load, clients: int, seconds: float, warmup: float, rate: float) -> Outcome:
    """``rate`` requests/s in all, each client on a fixed schedule spread over one interval."""
    loop = asyncio.get_running_loop()
    outcome = Outcome()
    connections = await _connect(load, outcome, clients)
    interval = clients / rate
    start = loop.time() + 0.1
    outcome.measure_from, outcome.stop = start + warmup, start + warmup + seconds

    def tick(i: int, scheduled: float) -> None:
        connections[i].send(scheduled)
        following = scheduled + interval
        if following < outcome.stop:
            loop.call_at(following, tick, i, following)

    for i in range(clients):
        first = start + interval * i / clients
        loop.call_at(first, tick, i, first)
    await asyncio.sleep(outcome.stop - loop.time())
    await _finish(connections, outcome)
    return outcome
