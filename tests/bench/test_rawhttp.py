"""The benchmark's load generator counts what it should: a wrong count is a wrong figure."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import rawhttp


async def _server(seen: list[dict[str, object]]) -> TestServer:
    async def echo(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        if body["n"] % 10 == 9:
            return web.json_response({"error": "every tenth"}, status=503)
        return web.json_response(body)

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b"{}")
        return response

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/chunked", chunked)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def _load(server: TestServer, path: str = "/echo") -> rawhttp.Load:
    def body(i: int, n: int) -> bytes:
        return json.dumps({"client": i, "n": n, "text": "é <b>"}).encode()

    assert server.port is not None
    return rawhttp.Load("127.0.0.1", server.port, path, [{"Content-Type": "application/json"}] * 4, body)


async def test_closed_loop_sends_each_clients_requests_in_order_and_counts_errors() -> None:
    seen: list[dict[str, object]] = []
    server = await _server(seen)
    try:
        outcome = await rawhttp.closed_loop(_load(server), 4, seconds=0.3, warmup=0.0)
    finally:
        await server.close()
    for client in range(4):
        numbers = [b["n"] for b in seen if b["client"] == client]
        assert numbers == list(range(len(numbers))) and len(numbers) > 20
    assert outcome.errors == sum(1 for b in seen if b["n"] % 10 == 9)  # type: ignore[operator]
    assert len(outcome.latencies) + outcome.errors == len(seen)
    assert all(0 < latency < 0.3 for latency in outcome.latencies)


async def test_open_loop_sends_on_schedule_and_measures_only_the_window() -> None:
    seen: list[dict[str, object]] = []
    server = await _server(seen)
    try:
        outcome = await rawhttp.open_loop(_load(server), 4, seconds=0.5, warmup=0.2, rate=200.0)
    finally:
        await server.close()
    assert len(seen) == pytest.approx(200 * 0.7, abs=8)  # warm-up and window, on schedule
    assert len({(b["client"], b["n"]) for b in seen}) == len(seen)  # a client's connections share its numbers
    measured = len(outcome.latencies) + outcome.errors
    assert measured == pytest.approx(100, abs=5)
    assert outcome.answered_in_window <= measured


async def test_a_response_without_content_length_is_refused() -> None:
    server = await _server([])
    try:
        with pytest.raises(ValueError, match="Content-Length"):
            await rawhttp.closed_loop(_load(server, "/chunked"), 1, seconds=0.1, warmup=0.0)
    finally:
        await server.close()


async def test_a_connection_the_server_closes_counts_its_requests_as_errors_and_the_run_ends() -> None:
    async def close(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    app = web.Application()
    app.router.add_post("/close", close)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        outcome = await rawhttp.open_loop(_load(server, "/close"), 2, seconds=0.3, warmup=0.0, rate=40.0)
    finally:
        await server.close()
    assert outcome.latencies == [] and outcome.errors == pytest.approx(12, abs=3)


async def test_clients_are_spread_evenly_over_several_servers() -> None:
    """``--processes N``: client i posts to the (i % N)-th server, each on its own port."""
    seen_a: list[dict[str, object]] = []
    seen_b: list[dict[str, object]] = []
    a, b = await _server(seen_a), await _server(seen_b)
    try:
        assert a.port is not None and b.port is not None
        load = dataclasses.replace(_load(a), ports=[a.port, b.port])
        await rawhttp.closed_loop(load, 4, seconds=0.2, warmup=0.0)
    finally:
        await a.close()
        await b.close()
    assert {body["client"] for body in seen_a} == {0, 2}
    assert {body["client"] for body in seen_b} == {1, 3}
