"""A load generator that leaves the machine to the servers it measures: raw HTTP/1.1.

Why not aiohttp's client: on a 2-core machine the load generator shares the cores with the
service under test. aiohttp's client spent about 0.17 ms of CPU per request in an open-loop
phase (a third of a core at 3,000 requests/s, taken from the service), and in a closed loop it
was itself the ceiling of the echo baseline: 10,500 requests/s, where the echo server answers
this client 20,000. This one writes each request as one prebuilt buffer and reads a response
by its ``Content-Length``, about 0.06 ms of CPU a request.

Closed loop: each client is one keep-alive connection and sends its next request when the
previous answer arrives. Open loop: each client sends on a fixed schedule and its latency counts
from the scheduled time, so queueing is never hidden (as wrk2 measures it). A client holds
``per_client`` connections (4, as the aiohttp client this replaces could) and sends on an idle
one; only when all are busy does a request wait for the least busy. With one connection a
client, one slow answer would delay that client's next requests too, as if its customer could
not type before seeing the reply, and the tail would measure that queue instead of the service.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["Load", "Outcome", "closed_loop", "open_loop"]


@dataclass(frozen=True)
class Load:
    """Where the requests go: ``body(client, n)`` is client ``client``'s ``n``-th body.

    ``ports``, when given, spreads the clients over several servers (client ``i`` on
    ``ports[i % len(ports)]``), so a scaled-out service is loaded evenly; ``port`` otherwise."""

    host: str
    port: int
    path: str
    headers: Sequence[dict[str, str]]  # per client
    body: Callable[[int, int], bytes]
    ports: Sequence[int] = ()

    def port_for(self, client: int) -> int:
        return self.ports[client % len(self.ports)] if self.ports else self.port


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
    def __init__(self, load: Load, index: int, numbers: Iterator[int], outcome: Outcome) -> None:
        """``numbers``: the client's request numbers, shared by its connections."""
        self._load = load
        self._index = index
        self._numbers = numbers
        self._outcome = outcome
        self._head = (
            f"POST {load.path} HTTP/1.1\r\nHost: {load.host}:{load.port_for(index)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in load.headers[index].items())
        ).encode()
        self._buffer = b""
        self._waiting: deque[float] = deque()  # start times: the first is in flight
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
        now = self._clock()
        while self._waiting:  # unanswered: errors, and nothing left to wait for
            self._outcome.record(self._waiting.popleft(), now, False)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def send(self, started: float) -> None:
        if self.lost.done():  # the server closed this connection: the request fails
            self._outcome.record(started, self._clock(), False)
            return
        self._waiting.append(started)
        if len(self._waiting) == 1:
            self._write()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _write(self) -> None:
        assert self._transport is not None
        body = self._load.body(self._index, next(self._numbers))
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


async def _connect(load: Load, outcome: Outcome, clients: int, per_client: int = 1) -> list[list[_Client]]:
    loop = asyncio.get_running_loop()
    made = []
    for i in range(clients):
        numbers = itertools.count()
        own = []
        for _ in range(per_client):
            _, client = await loop.create_connection(
                functools.partial(_Client, load, i, numbers, outcome), load.host, load.port_for(i)
            )
            own.append(client)
        made.append(own)
    return made


async def _finish(connections: list[list[_Client]], outcome: Outcome) -> None:
    clients = [c for own in connections for c in own]
    while any(c.waiting for c in clients):
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
    for (c,) in connections:
        c.send(loop.time())
    await asyncio.sleep(outcome.stop - loop.time())
    await _finish(connections, outcome)
    return outcome


async def open_loop(
    load: Load, clients: int, seconds: float, warmup: float, rate: float, per_client: int = 4
) -> Outcome:
    """``rate`` requests/s in all, each client on a fixed schedule spread over one interval."""
    loop = asyncio.get_running_loop()
    outcome = Outcome()
    connections = await _connect(load, outcome, clients, per_client)
    interval = clients / rate
    start = loop.time() + 0.1
    outcome.measure_from, outcome.stop = start + warmup, start + warmup + seconds

    def tick(i: int, scheduled: float) -> None:
        min(connections[i], key=lambda c: c.waiting).send(scheduled)
        following = scheduled + interval
        if following < outcome.stop:
            loop.call_at(following, tick, i, following)

    for i in range(clients):
        first = start + interval * i / clients
        loop.call_at(first, tick, i, first)
    await asyncio.sleep(outcome.stop - loop.time())
    await _finish(connections, outcome)
    return outcome
