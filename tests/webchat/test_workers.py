"""Analysis in worker processes (``nlu.analysis_workers``), through the running app.

The workers must be invisible to customers: the same analysis as in the event loop, rulebook
reloads reach them before the next message, and a worker that dies loses no message (its
requests are analyzed in the event loop) and is replaced.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path

from aiohttp.test_utils import TestClient

from bot.analysis_workers import AnalysisStuck, AnalysisWorkers
from bot.app import App
from bot.knowledge import Knowledge
from nlp import ModelStore
from nlp.types import Analysis, AnalysisContext, Entity, FaqCandidate, IntentScore, Sentiment
from tests.conftest import ROOT, AppFactory
from tests.webchat.analyzers import Hangs, PickledWhere, Unpicklable
from tests.webchat.helpers import FAQ_HOURS, UNHANDLED, ask, eventually, save

WORKERS = "nlu:\n  analysis_workers: 1\n"
SHIPPING = "How much is shipping?"
TEXTS = [
    FAQ_HOURS,
    UNHANDLED,
    "I was charged twice for order 12345, mail me at Ann@Example.com",
    "my jacket arrived with a broken zipper!!! terrible",
    "",
    "🙂🙂",
    "x" * 5000,  # beyond the inline limit: the event loop would use a thread for this one
]


async def workers_ready(client: TestClient, ready: int = 1) -> None:
    async def check() -> bool:
        resp = await client.get("/healthz")
        return bool((await resp.json())["analysis_workers"]["ready"] == ready)

    await eventually(check)


async def test_worker_analysis_equals_the_event_loops(tmp_path: Path) -> None:
    knowledge = Knowledge.load(ROOT / "rulebook", faq_threshold=0.8, models=ModelStore(tmp_path))
    pipeline = knowledge.analyzer
    workers = AnalysisWorkers(workers=1)
    await workers.start()
    try:
        assert workers.ready_workers == 0
        context = AnalysisContext(channel="telegram", language="en")
        # Before the worker is ready the event loop answers; afterwards the worker does.
        assert await workers.analyze(pipeline, TEXTS[0], context) == pipeline.analyze(TEXTS[0], context)
        await eventually(lambda: _ready(workers))
        results = [await workers.analyze(pipeline, text, context) for text in TEXTS]
        assert results == [pipeline.analyze(text, context) for text in TEXTS]
        assert workers.answered > 0
    finally:
        await workers.stop()
    assert workers.pids == ()


async def test_a_stuck_worker_is_replaced_and_its_messages_fail() -> None:
    workers = AnalysisWorkers(workers=1, stuck_after=5.0)
    await workers.start()
    try:
        await eventually(lambda: _ready(workers))
        (stuck,) = workers.pids
        context = AnalysisContext()
        try:
            await workers.analyze(Hangs(), "hang", context)
        except AnalysisStuck:
            pass
        else:
            raise AssertionError("a stuck analysis must fail, not hang the message")
        assert _dead(stuck) or stuck not in workers.pids
        await eventually(lambda: _ready(workers))
        assert (await workers.analyze(Hangs(), "fine", context)).text == "fine"
        assert workers.pids != (stuck,)
        # An analyzer that cannot be pickled is analyzed here instead of being lost.
        assert (await workers.analyze(Unpicklable(), "fine", context)).text == "fine"
    finally:
        await workers.stop()


def test_the_wire_format_knows_every_field_of_an_analysis() -> None:
    """Analyses cross the pipe as tuples (bot.analysis_process.encode/decode): a new field in
    nlp.types must be added there too, or workers would silently drop it."""
    shapes = {cls.__name__: [f.name for f in fields(cls)] for cls in (Analysis, IntentScore, Sentiment)}
    shapes |= {cls.__name__: [f.name for f in fields(cls)] for cls in (Entity, FaqCandidate)}
    assert shapes == {
        "Analysis": [
            "text", "language", "intents", "out_of_scope", "sentiment", "entities", "faq", "model_version",
            "complaint", "complaint_confidence", "detected_language",
        ],
        "IntentScore": ["name", "confidence"],
        "Sentiment": ["score", "label"],
        "Entity": ["type", "text", "value", "start", "end"],
        "FaqCandidate": ["faq_id", "question", "answer", "score"],
    }  # fmt: skip


async def _ready(workers: AnalysisWorkers) -> bool:
    return workers.ready_workers == 1


async def test_faq_answers_come_from_the_worker_and_follow_a_reload(
    tmp_path: Path, sqlite_url: str, make_client: AppFactory
) -> None:
    directory = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", directory)
    app, client = await make_client(sqlite_url, extra=WORKERS, rulebook=directory)
    await workers_ready(client)
    assert "Standard delivery is 4.90 EUR" in await ask(client, SHIPPING)
    assert app.analysis.answered >= 1

    faq = directory / "faq.yml"  # the FAQ answer is part of the analysis: the worker's pipeline
    save(faq, faq.read_text(encoding="utf-8").replace("delivery is 4.90 EUR", "delivery is 3.90 EUR"))
    assert await app.knowledge.reload() is not False  # None: the watcher's own poll was first
    assert "Standard delivery is 3.90 EUR" in await ask(client, SHIPPING)


async def test_a_killed_worker_loses_no_message_and_is_replaced(
    sqlite_url: str, make_client: AppFactory
) -> None:
    app, client = await make_client(sqlite_url, extra=WORKERS)
    await workers_ready(client)
    (pid,) = _pids(app)
    os.kill(pid, signal.SIGKILL)
    # Whether the loss is noticed before or after this message is sent, it gets its answer.
    assert "Monday to Friday" in await ask(client, FAQ_HOURS)
    await eventually(lambda: _replaced(app, pid))
    await workers_ready(client)
    answered = app.analysis.answered
    assert "Monday to Friday" in await ask(client, FAQ_HOURS)
    assert app.analysis.answered > answered


async def test_no_workers_means_the_event_loop_analyzes(app_client: tuple[App, TestClient]) -> None:
    app, client = app_client
    assert app.analysis.wanted == 0
    assert "Monday to Friday" in await ask(client, FAQ_HOURS)
    assert app.analysis.answered == 0


SERVICE = """
import asyncio
from bot.analysis_workers import AnalysisStuck, AnalysisWorkers

async def main() -> None:
    workers = AnalysisWorkers(workers=1)
    await workers.start()
    print(*workers.pids, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_workers_die_with_a_killed_service() -> None:
    """SIGKILL gives the service no time to stop its worker, here still importing: it must not
    stay behind (a crash loop would pile them up)."""
    service = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVICE, stdout=asyncio.subprocess.PIPE
    )
    assert service.stdout is not None
    (worker,) = map(int, (await asyncio.wait_for(service.stdout.readline(), 30)).split())
    service.kill()
    await service.wait()

    async def gone() -> bool:
        return _dead(worker)

    await eventually(gone)


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie until init reaps it: dead all the same.
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


def _pids(app: App) -> tuple[int, ...]:
    return app.analysis.pids


async def _replaced(app: App, old: int) -> bool:
    pids = _pids(app)
    return len(pids) == 1 and pids[0] != old


async def test_only_the_text_a_worker_got_stuck_on_fails_not_its_whole_batch() -> None:
    """One pathological message among others analyzed in the same batch: the worker is killed,
    the others are retried one per batch on the next worker (never in the event loop, which
    the culprit would stall) and get their analyses; only the culprit gets AnalysisStuck."""
    workers = AnalysisWorkers(workers=1, stuck_after=3.0)
    await workers.start()
    try:
        await eventually(lambda: _ready(workers))
        context = AnalysisContext()
        texts = ["before", "hang", "after", "later"]
        results = await asyncio.wait_for(
            asyncio.gather(*(workers.analyze(Hangs(), t, context) for t in texts), return_exceptions=True),
            60,
        )
        assert isinstance(results[1], AnalysisStuck)
        assert [r.text for r in results if isinstance(r, Analysis)] == ["before", "after", "later"]
    finally:
        await workers.stop()


async def test_a_new_pipeline_is_pickled_off_the_event_loop_once() -> None:
    """A rulebook reload hands the workers a new pipeline: it is pickled in a thread (a large
    intent model takes tens of ms, which every chat would wait for in the event loop), once for
    all the messages that arrive needing it meanwhile."""
    workers = AnalysisWorkers(workers=1)
    await workers.start()
    try:
        await eventually(lambda: _ready(workers))
        pipeline, context = PickledWhere(), AnalysisContext()
        results = await asyncio.gather(*(workers.analyze(pipeline, f"m{n}", context) for n in range(5)))
        assert [r.text for r in results] == [f"m{n}" for n in range(5)]
        assert len(PickledWhere.threads) == 1 and PickledWhere.threads[0] != threading.get_ident()
        assert workers.answered >= 5  # the worker analyzed them, not the event loop
    finally:
        await workers.stop()


async def test_the_workers_hold_the_current_pipeline_before_any_message(
    tmp_path: Path, sqlite_url: str, make_client: AppFactory
) -> None:
    """A worker unpickling a pipeline (150 ms for the example rulebook) kept the first message
    after a start, and after every rulebook reload, waiting: the current pipeline is handed
    over as soon as a worker is ready and within a second of a reload, with no message sent."""
    directory = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", directory)
    app, client = await make_client(sqlite_url, extra=WORKERS, rulebook=directory)

    async def warm() -> bool:
        workers = (await (await client.get("/healthz")).json())["analysis_workers"]
        return bool(workers["ready"] == 1 and workers["warm"] == 1)

    await eventually(warm)
    faq = directory / "faq.yml"
    save(faq, faq.read_text(encoding="utf-8").replace("delivery is 4.90 EUR", "delivery is 3.90 EUR"))
    assert await app.knowledge.reload() is not False  # None: the watcher's own poll was first
    assert app.analysis.warm_workers == 0  # a new pipeline: not handed over yet
    await eventually(warm)
    assert app.analysis.answered == 0  # no message was needed for either
    assert "Standard delivery is 3.90 EUR" in await ask(client, SHIPPING)
    assert app.analysis.answered == 1
