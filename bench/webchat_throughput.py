"""Web chat throughput: N concurrent clients posting messages to a running Frontdesk.

Starts ``frontdesk serve`` (a fresh database, example rulebook) and, as the baseline, a bare
aiohttp echo server, each as its own process (:mod:`fleet`), and measures in one run:

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

Scale-out (``--database postgresql --processes N``): N ``frontdesk serve`` processes on one
fresh PostgreSQL database (created on ``--pg-url``'s server, dropped afterwards) and N echo
servers, every phase's clients spread evenly over their ports. CPU per message then sums all
service processes and their workers; ``database_cpu_ms_per_message`` adds what the PostgreSQL
backends serving the run spent (not part of the verdict, whose recorded figure is SQLite's,
where the database runs inside the service). SQLite allows one process.

    .venv/bin/python bench/webchat_throughput.py [--clients 64] [--seconds 10] [--rounds 3]
        [--database sqlite|postgresql] [--processes 1] [--pg-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

import aiohttp
import fleet
import rawhttp
from fleet import Fleet, wait_quiet

# The regression guard (docs/performance.md, "the regression guard re-recorded"): CPU per message
# of the service and its analysis workers as recorded there, and how much worse counts as noise.
RECORDED_CPU_MS = 0.63
CPU_NOISE = 0.15
HALF_P99_MS = 50.0  # p99 at half the measured ceiling, open loop
LOW_P99_MS = 10.0  # p99 at --low-rate messages/s

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
    clients: int, seconds: float, warmup: float, request_for, service: Fleet | None = None
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
                if service is not None and not cpu_before and t0 >= measure_from:
                    cpu_before.update(service.cpu())
                if t0 >= measure_from:
                    if ok:
                        latencies.append(t1 - t0)
                    else:
                        errors += 1
                n += 1

        await asyncio.gather(*(client(i) for i in range(clients)))
    result: dict[str, Any] = summary(latencies, errors, seconds)
    if service is not None:  # CPU ms per message: the measured interval only (a few in-flight extra)
        result["cpu_ms_per_message"] = cpu_per_message(cpu_before, service.cpu(), len(latencies))
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
    if "database_cpu_ms_per_message" in rounds[0]:
        spent = sum(r["database_cpu_ms_per_message"] * r["requests"] for r in rounds)
        out["database_cpu_ms_per_message"] = round(spent / max(requests, 1), 3)
    return out


def _bases(ports: list[int]) -> list[str]:
    return [f"http://127.0.0.1:{port}" for port in ports]


class EchoLoad:
    """Client ``i`` posts to the ``i % len(bases)``-th server, as in every phase."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases

    async def prepare(self, session: aiohttp.ClientSession, i: int) -> None:
        return None

    def request(self, _state: None, i: int, n: int) -> tuple[str, bytes, dict[str, str]]:
        body = json.dumps({"client_message_id": f"c{i}-m{n}", "text": TEXTS[(i + n) % len(TEXTS)]}).encode()
        return f"{self.bases[i % len(self.bases)]}/echo", body, {"Content-Type": "application/json"}


class FrontdeskLoad:
    """Client ``i``'s session starts on the process it posts to (any would do: they share the secret)."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases

    async def prepare(self, session: aiohttp.ClientSession, i: int) -> dict[str, str]:
        async with session.post(f"{self.bases[i % len(self.bases)]}/api/v1/sessions", json={}) as resp:
            token = (await resp.json())["token"]
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def request(self, headers: dict[str, str], i: int, n: int) -> tuple[str, bytes, dict[str, str]]:
        body = json.dumps({"client_message_id": f"c{i}-m{n}", "text": TEXTS[(i + n) % len(TEXTS)]}).encode()
        return f"{self.bases[i % len(self.bases)]}/api/v1/messages", body, headers


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

    def __init__(self, clients: int, warmup: float, service: Fleet) -> None:
        self.clients, self.warmup, self.service = clients, warmup, service

    async def _load(self, phase: str, *, frontdesk: bool) -> rawhttp.Load:
        def body(i: int, n: int) -> bytes:
            text = TEXTS[(i + n) % len(TEXTS)]
            return json.dumps({"client_message_id": f"{phase}-c{i}-m{n}", "text": text}).encode()

        ports = self.service.ports if frontdesk else self.service.echo_ports
        if not frontdesk:
            headers = [{"Content-Type": "application/json"}] * self.clients
            return rawhttp.Load("127.0.0.1", ports[0], "/echo", headers, body, ports=ports)
        async with aiohttp.ClientSession() as session:
            sessions = FrontdeskLoad(_bases(ports))
            headers = [await sessions.prepare(session, i) for i in range(self.clients)]
        return rawhttp.Load("127.0.0.1", ports[0], "/api/v1/messages", headers, body, ports=ports)

    async def closed(self, phase: str, seconds: float, *, frontdesk: bool) -> dict[str, Any]:
        load = await self._load(phase, frontdesk=frontdesk)
        before: dict[str, float] = {}
        database: list[float | None] = []

        def at_window() -> None:
            before["load_generator"] = time.process_time()  # this process: the clients
            if frontdesk:
                before.update(self.service.cpu())
                database.append(self.service.database_cpu())

        outcome = await rawhttp.closed_loop(load, self.clients, seconds, self.warmup, at_window)
        after = {"load_generator": time.process_time(), **(self.service.cpu() if frontdesk else {})}
        result: dict[str, Any] = summary(outcome.latencies, outcome.errors, seconds)
        # CPU ms per message: the measured interval (and the last answers in flight)
        result["cpu_ms_per_message"] = cpu_per_message(before, after, len(outcome.latencies))
        if database and database[0] is not None:
            spent = (self.service.database_cpu() or 0.0) - database[0]
            result["database_cpu_ms_per_message"] = round(spent / max(len(outcome.latencies), 1) * 1000, 3)
        return result

    async def paced(self, phase: str, seconds: float, rate: float) -> dict[str, Any]:
        """Open loop at ``rate`` messages/s, once the service has worked off the last phase."""
        quiet = await wait_quiet(self.service.pids)
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
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--processes", type=int, default=1, help="frontdesk serve processes (PostgreSQL)")
    parser.add_argument(
        "--pg-url",
        default=fleet.PG_URL,
        help="the PostgreSQL server a fresh database is created on (and dropped from) for the run",
    )
    args = parser.parse_args()
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    if args.database == "sqlite" and args.processes != 1:
        parser.error(
            f"--processes {args.processes} needs --database postgresql: on SQLite one process "
            "holds the database (docs/deployment.md)"
        )

    async with fleet.started(database=args.database, processes=args.processes, pg_url=args.pg_url) as service:
        phases = Phases(args.clients, args.warmup, service)
        seconds = args.seconds / args.rounds
        echo_rounds, fd_rounds = [], []
        for r in range(args.rounds):
            echo_rounds.append(await phases.closed(f"echo{r}", seconds, frontdesk=False))
            fd_rounds.append(await phases.closed(f"ceiling{r}", seconds, frontdesk=True))
            await wait_quiet(service.pids)
        old_echo, old_fd = [], []  # the same two ceilings through aiohttp's client
        load = FrontdeskLoad(_bases(service.ports))
        for _ in range(args.rounds):
            echo_load = EchoLoad(_bases(service.echo_ports))
            old_echo.append(await drive(args.clients, seconds, args.warmup, echo_load))
            old_fd.append(await drive(args.clients, seconds, args.warmup, load, service))
            await wait_quiet(service.pids)
        measured = ceilings(echo_rounds, fd_rounds, args.seconds)
        fd = measured["frontdesk"]
        # What the service sustains at half its own ceiling: the latency a deployment sized
        # for its measured throughput would see.
        at_half = await phases.paced("half", args.seconds, 0.5 * fd["requests_per_s"])
        at_low = await phases.paced("low", args.seconds, args.low_rate)
    print(
        json.dumps(
            {
                "benchmark": "webchat_throughput",
                "clients": args.clients,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "database": args.database,
                "processes": args.processes,
                "analysis_workers": service.workers,
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
