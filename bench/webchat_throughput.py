"""Web chat throughput: N concurrent clients posting messages to a running Frontdesk on SQLite.

Starts ``frontdesk serve`` (fresh SQLite file, example rulebook) and, as the baseline, a bare
aiohttp echo server, each as its own process, and measures in one run:

1. ``echo_baseline``: the echo server's ceiling, N closed-loop clients (each sends its next
   request when the previous answer arrives);
2. ``frontdesk``: Frontdesk's ceiling with the same closed-loop clients (full flow: store,
   analyze, decide, ticket, reply, outbox), giving ``ratio_to_echo``.
   The two ceilings are measured in alternating rounds (``--rounds``, echo first) and summed:
   a shared virtual machine's speed drifts by tens of per cent within a minute, and one
   measurement of each, taken after the other, compared two different machines.
   ``ratio_by_round`` shows the spread;
3. ``frontdesk_at_half_ceiling``: Frontdesk under an open-loop offered load of half its own
   ceiling spread over the N clients, the latency of a deployment sized with headroom for the
   throughput it measured; latency is measured from each request's *scheduled* send time, so
   a slow server cannot hide queueing (no coordinated omission);
4. ``frontdesk_at_low_load``: ``--low-rate`` messages/s (default 100), what most deployments
   see most of the time: here a stall (anything holding the database connection for long)
   shows in p99 instead of drowning in queueing.

The clients are :mod:`rawhttp`'s: raw HTTP/1.1 on keep-alive connections, about 0.06 ms of
CPU a request, so that on a 2-core machine the cores go to the servers being measured.
``through_aiohttp_client`` repeats 1 and 2 with aiohttp's client (about 0.1-0.17 ms a
request), as this benchmark measured before: that client, not the echo server, was the
ceiling of the baseline (about 60 % of what the echo server answers rawhttp), which made
Frontdesk's ratio look larger than it is and its latency worse (the client took a third of a
core from the service at 3,000 requests/s).

Each open-loop phase starts once the service is quiet again: an overloaded phase leaves a
backlog (queued requests, new tickets, deliveries) that would otherwise land in the next one.

Verdict (``verdict``): a regression guard, not a throughput goal. The 0.30 x echo goal is
retired: on 2 cores the service is CPU-bound at about 0.4 ms a message, far beyond what a
support desk needs. A run passes when the CPU per message (service and analysis workers, not
the load generator) is no worse than the figure recorded in docs/performance.md beyond noise
(``--recorded-cpu-ms``, ``CPU_NOISE``), p99 is at most 50 ms at half the measured ceiling, and
at most 10 ms at ``--low-rate`` messages/s. The echo ceiling is still measured: the ratio shows
how far the service is from a server that does nothing.

    .venv/bin/python bench/webchat_throughput.py [--clients 64] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import rawhttp

ROOT = Path(__file__).resolve().parent.parent
# The regression guard (docs/performance.md, "The architecture consolidation"): CPU per message
# of the service and its analysis workers as recorded there, and how much worse counts as noise.
RECORDED_CPU_MS = 0.38
CPU_NOISE = 0.15
HALF_P99_MS = 50.0  # p99 at half the measured ceiling, open loop
LOW_P99_MS = 10.0  # p99 at --low-rate messages/s

ECHO_SERVER = """
import sys
from aiohttp import web
async def echo(request):
    return web.json_response(await request.json())
app = web.Application()
app.router.add_post("/echo", echo)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

TEXTS = [
    "What are your opening hours?",
    "how much is shipping",
    "Can I pay with PayPal?",
    "How do I return an item?",
    "my jacket arrived with a broken zipper",
    "How long does delivery take?",
    "where is the size guide",
    "I was charged twice for order 12345",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as resp:
                    if resp.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


async def wait_workers(url: str, timeout: float = 60.0) -> dict[str, int]:
    """Measure the steady state: the analysis workers have started (they take a second or two)."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url) as resp:
                workers: dict[str, int] = (await resp.json())["analysis_workers"]
            if workers["ready"] >= workers["wanted"] or time.monotonic() > deadline:
                return workers
            await asyncio.sleep(0.2)


def cpu_seconds(pid: int) -> dict[str, float]:
    """CPU time (user + system) of a process and of each of its children, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid, *map(int, children.read_text().split())] if children.exists() else [pid]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out["service" if p == pid else f"worker {p}"] = (int(fields[11]) + int(fields[12])) / tick
    return out


async def wait_quiet(pid: int, timeout: float = 120.0) -> float:
    """Wait until the service has worked off what the previous phase left (an overloaded phase
    leaves queued requests, tickets and deliveries behind): under 5 % of a core for half a
    second. Returns the seconds waited, so a phase never starts on another's backlog."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = sum(cpu_seconds(pid).values())
        await asyncio.sleep(0.5)
        if sum(cpu_seconds(pid).values()) - before < 0.025:
            break
    return round(time.monotonic() - started, 1)


def cpu_per_message(before: dict[str, float], after: dict[str, float], messages: int) -> dict[str, float]:
    return {name: round((after[name] - before.get(name, 0.0)) / max(messages, 1) * 1000, 3) for name in after}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(latencies: list[float], errors: int, seconds: float) -> dict[str, float]:
    return {
        "requests_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
        "requests": len(latencies),
        "errors": errors,
    }


async def drive(  # type: ignore[no-untyped-def]
    clients: int, seconds: float, warmup: float, request_for, pid: int | None = None
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    cpu_before: dict[str, float] = {}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        prepared = [await request_for.prepare(session, i) for i in range(clients)]
        start = time.monotonic()
        measure_from = start + warmup
        stop = measure_from + seconds

        async def client(i: int) -> None:
            nonlocal errors
            n = 0
            while True:
                t0 = time.monotonic()
                if t0 >= stop:
                    return
                url, body, headers = request_for.request(prepared[i], i, n)
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    ok = resp.status == 200
                t1 = time.monotonic()
                if pid is not None and not cpu_before and t0 >= measure_from:
                    cpu_before.update(cpu_seconds(pid))
                if t0 >= measure_from:
                    if ok:
                        latencies.append(t1 - t0)
                    else:
                        errors += 1
                n += 1

        await asyncio.gather(*(client(i) for i in range(clients)))
    result: dict[str, Any] = summary(latencies, errors, seconds)
    if pid is not None:  # CPU ms per message: the measured interval only (a few in-flight extra)
        result["cpu_ms_per_message"] = cpu_per_message(cpu_before, cpu_seconds(pid), len(latencies))
    return result


def combined(rounds: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """The rounds of one ceiling as one measurement: throughput over all their seconds, the
    latency percentiles of the worst round (a round's own list is not kept), CPU per message
    averaged by messages."""
    requests = sum(r["requests"] for r in rounds)
    out: dict[str, Any] = {
        "requests_per_s": round(requests / seconds, 1),
        "p50_ms": max(r["p50_ms"] for r in rounds),
        "p99_ms": max(r["p99_ms"] for r in rounds),
        "mean_ms": round(sum(r["mean_ms"] * r["requests"] for r in rounds) / max(requests, 1), 2),
        "requests": requests,
        "errors": sum(r["errors"] for r in rounds),
        "requests_per_s_by_round": [r["requests_per_s"] for r in rounds],
    }
    if "cpu_ms_per_message" in rounds[0]:
        names = {name for r in rounds for name in r["cpu_ms_per_message"]}
        cpu = [(r["cpu_ms_per_message"], r["requests"]) for r in rounds]
        weighted = {n: sum(per.get(n, 0.0) * count for per, count in cpu) for n in names}
        out["cpu_ms_per_message"] = {n: round(weighted[n] / max(requests, 1), 3) for n in sorted(names)}
    return out


class EchoLoad:
    def __init__(self, base: str) -> None:
        self.base = base

    async def prepare(self, session: aiohttp.ClientSession, i: int) -> None:
        return None

    def request(self, _state: None, i: int, n: int) -> tuple[str, bytes, dict[str, str]]:
        body = json.dumps({"client_message_id": f"c{i}-m{n}", "text": TEXTS[(i + n) % len(TEXTS)]}).encode()
        return f"{self.base}/echo", body, {"Content-Type": "application/json"}


class FrontdeskLoad:
    def __init__(self, base: str) -> None:
        self.base = base

    async def prepare(self, session: aiohttp.ClientSession, i: int) -> dict[str, str]:
        async with session.post(f"{self.base}/api/v1/sessions", json={}) as resp:
            token = (await resp.json())["token"]
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def request(self, headers: dict[str, str], i: int, n: int) -> tuple[str, bytes, dict[str, str]]:
        body = json.dumps({"client_message_id": f"c{i}-m{n}", "text": TEXTS[(i + n) % len(TEXTS)]}).encode()
        return f"{self.base}/api/v1/messages", body, headers


def ceilings(
    echo_rounds: list[dict[str, Any]], fd_rounds: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    """Both ceilings over all their rounds, and Frontdesk's ratio to the echo server's."""
    echo, fd = combined(echo_rounds, seconds), combined(fd_rounds, seconds)
    return {
        "frontdesk": {**fd, "messages_per_s": fd["requests_per_s"]},
        "echo_baseline": echo,
        "ratio_to_echo": _ratio(fd, echo),
        "ratio_by_round": [_ratio(f, e) for e, f in zip(echo_rounds, fd_rounds, strict=True)],
    }


def verdict(
    measured: dict[str, Any], at_half: dict[str, Any], at_low: dict[str, Any], recorded: float
) -> dict[str, Any]:
    """Whether this run is as good as the recorded one: CPU per message within noise of it, and
    the two latency bounds. The load generator's CPU is left out: it is not the service's."""
    per_message = measured["frontdesk"]["cpu_ms_per_message"]
    spent = round(sum(v for k, v in per_message.items() if k != "load_generator"), 3)
    checks = {
        "cpu_ms_per_message": spent <= recorded * (1 + CPU_NOISE),
        "p99_at_half_ceiling": at_half["p99_ms"] <= HALF_P99_MS and at_half["errors"] == 0,
        "p99_at_low_load": at_low["p99_ms"] <= LOW_P99_MS and at_low["errors"] == 0,
    }
    return {
        "cpu_ms_per_message": spent,
        "recorded_cpu_ms_per_message": recorded,
        "cpu_noise": CPU_NOISE,
        "p99_ms_at_half_ceiling": at_half["p99_ms"],
        "p99_ms_max_at_half_ceiling": HALF_P99_MS,
        "p99_ms_at_low_load": at_low["p99_ms"],
        "p99_ms_max_at_low_load": LOW_P99_MS,
        "checks": checks,
        "passes": all(checks.values()),
    }


def _ratio(fd: dict[str, Any], echo: dict[str, Any]) -> float:
    return round(fd["requests_per_s"] / echo["requests_per_s"], 3) if echo["requests_per_s"] else 0.0


class Phases:
    """The rawhttp phases: each one posts from fresh web chat sessions (its own conversations)
    with message ids of its own."""

    def __init__(self, clients: int, warmup: float, port: int, echo_port: int, pid: int) -> None:
        self.clients, self.warmup = clients, warmup
        self.port, self.echo_port, self.pid = port, echo_port, pid

    async def _load(self, phase: str, *, frontdesk: bool) -> rawhttp.Load:
        def body(i: int, n: int) -> bytes:
            text = TEXTS[(i + n) % len(TEXTS)]
            return json.dumps({"client_message_id": f"{phase}-c{i}-m{n}", "text": text}).encode()

        if not frontdesk:
            headers = [{"Content-Type": "application/json"}] * self.clients
            return rawhttp.Load("127.0.0.1", self.echo_port, "/echo", headers, body)
        base = f"http://127.0.0.1:{self.port}"
        async with aiohttp.ClientSession() as session:
            headers = [await FrontdeskLoad(base).prepare(session, i) for i in range(self.clients)]
        return rawhttp.Load("127.0.0.1", self.port, "/api/v1/messages", headers, body)

    async def closed(self, phase: str, seconds: float, *, frontdesk: bool) -> dict[str, Any]:
        load = await self._load(phase, frontdesk=frontdesk)
        before: dict[str, float] = {}

        def at_window() -> None:
            before["load_generator"] = time.process_time()  # this process: the clients
            if frontdesk:
                before.update(cpu_seconds(self.pid))

        outcome = await rawhttp.closed_loop(load, self.clients, seconds, self.warmup, at_window)
        after = {"load_generator": time.process_time(), **(cpu_seconds(self.pid) if frontdesk else {})}
        result: dict[str, Any] = summary(outcome.latencies, outcome.errors, seconds)
        # CPU ms per message: the measured interval (and the last answers in flight)
        result["cpu_ms_per_message"] = cpu_per_message(before, after, len(outcome.latencies))
        return result

    async def paced(self, phase: str, seconds: float, rate: float) -> dict[str, Any]:
        """Open loop at ``rate`` messages/s, once the service has worked off the last phase."""
        quiet = await wait_quiet(self.pid)
        load = await self._load(phase, frontdesk=True)
        outcome = await rawhttp.open_loop(load, self.clients, seconds, self.warmup, rate)
        result = summary(outcome.latencies, outcome.errors, seconds)
        answered = round(outcome.answered_in_window / seconds, 1)  # below the offered rate: overload
        return {
            "offered_per_s": round(rate, 1),
            "answered_per_s": answered,
            **result,
            "started_after_quiet_s": quiet,
        }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating echo/Frontdesk ceiling rounds")
    parser.add_argument("--low-rate", type=float, default=100.0, help="messages/s of the low-load phase")
    parser.add_argument(
        "--recorded-cpu-ms",
        type=float,
        default=RECORDED_CPU_MS,
        help="CPU ms per message (service + workers) this machine recorded in docs/performance.md",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        port, echo_port = free_port(), free_port()
        config.write_text(
            f"server: {{port: {port}, log_level: WARNING}}\n"
            f"database: {{url: 'sqlite+aiosqlite:///{tmp}/bench.db'}}\n"
            f"webchat: {{secret_key: bench-secret-0123456789abcdef}}\n"
            f"rulebook: {{path: {ROOT / 'rulebook'}}}\n"
        )
        env = {**os.environ, "FRONTDESK_CONFIG": str(config)}
        frontdesk = ROOT / ".venv" / "bin" / "frontdesk"
        subprocess.run([frontdesk, "db", "upgrade"], env=env, check=True, capture_output=True)
        procs = [
            subprocess.Popen([frontdesk, "serve"], env=env),
            subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(echo_port)]),
        ]
        try:
            await wait_ready(f"http://127.0.0.1:{port}/healthz")
            await wait_ready(f"http://127.0.0.1:{echo_port}/echo")
            workers = await wait_workers(f"http://127.0.0.1:{port}/healthz")
            phases = Phases(args.clients, args.warmup, port, echo_port, procs[0].pid)
            seconds = args.seconds / args.rounds
            echo_rounds, fd_rounds = [], []
            for r in range(args.rounds):
                echo_rounds.append(await phases.closed(f"echo{r}", seconds, frontdesk=False))
                fd_rounds.append(await phases.closed(f"ceiling{r}", seconds, frontdesk=True))
                await wait_quiet(procs[0].pid)
            old_echo, old_fd = [], []  # the same two ceilings through aiohttp's client
            load = FrontdeskLoad(f"http://127.0.0.1:{port}")
            for _ in range(args.rounds):
                echo_load = EchoLoad(f"http://127.0.0.1:{echo_port}")
                old_echo.append(await drive(args.clients, seconds, args.warmup, echo_load))
                old_fd.append(await drive(args.clients, seconds, args.warmup, load, pid=procs[0].pid))
                await wait_quiet(procs[0].pid)
            measured = ceilings(echo_rounds, fd_rounds, args.seconds)
            fd = measured["frontdesk"]
            # What the service sustains at half its own ceiling: the latency a deployment sized
            # for its measured throughput would see.
            at_half = await phases.paced("half", args.seconds, 0.5 * fd["requests_per_s"])
            at_low = await phases.paced("low", args.seconds, args.low_rate)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    print(
        json.dumps(
            {
                "benchmark": "webchat_throughput",
                "clients": args.clients,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "database": "sqlite",
                "analysis_workers": workers,
                "cpus": os.cpu_count(),
                "load_generator": "bench/rawhttp.py",
                **measured,
                "through_aiohttp_client": ceilings(old_echo, old_fd, args.seconds),
                "frontdesk_at_half_ceiling": at_half,
                "frontdesk_at_low_load": at_low,
                "verdict": verdict(measured, at_half, at_low, args.recorded_cpu_ms),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
