"""Log lines an operator can ship and search: ``frontdesk serve`` as a real process, its stderr
as JSON (``server.log_format: json``) or text (``--log-format text`` wins over the config), the
request id on a request's lines, the conversation id on the flow's, never a message's text."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from core import log_context
from tests.conftest import ROOT
from tests.serve import free_port, wait_ready
from ticketing.database import upgrade

_SECRET_TEXT = "my-password-is-hunter2-{n}"  # what a customer types must not reach the log
_SESSIONS = 4


@dataclass
class Run:
    lines: list[str]
    conversations: dict[str, str] = field(default_factory=dict)  # request id -> its conversation
    echoed: dict[str, str] = field(default_factory=dict)  # sent X-Request-ID -> the one echoed
    texts: list[str] = field(default_factory=list)


def _serve(tmp: Path, log_format: str, *argv: str) -> Run:
    """A real server with a rule that logs on every message (at INFO, from the planner, which
    runs in the batch writer's task); sessions post concurrently so their turns share a batch."""
    url = f"sqlite+aiosqlite:///{tmp / 'frontdesk.db'}"
    asyncio.run(upgrade(url))
    rulebook = tmp / "rulebook"
    rulebook.mkdir()
    (rulebook / "faq.yml").write_text("faq: []\n")
    (rulebook / "rules.yml").write_text(
        "rules:\n  - name: tag_without_ticket\n    when: {}\n    then:\n      - tag: {ticket: [seen]}\n"
    )
    config = tmp / "config.yaml"
    config.write_text(
        f"database:\n  url: {url}\nrulebook:\n  path: {rulebook}\n"
        "webchat:\n  secret_key: test-secret-key-0123456789abcdef\nnlu:\n  analysis_workers: 0\n"
        f"server:\n  log_level: INFO\n  log_format: {log_format}\n"
    )
    port, stderr = free_port(), tmp / "stderr.log"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", str(config), "serve", "--port", str(port), *argv],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    run = Run(lines=[])
    try:
        asyncio.run(_traffic(process, port, stderr, run))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    run.lines = [line for line in stderr.read_text().splitlines() if line.strip()]
    return run


async def _traffic(process: subprocess.Popen[bytes], port: int, log: Path, run: Run) -> None:
    await wait_ready(process, port, log, within=120)
    base = f"http://127.0.0.1:{port}/api/v1"
    async with aiohttp.ClientSession() as http:

        async def visitor(n: int) -> None:
            async with http.post(f"{base}/sessions", json={}, headers={"X-Request-ID": f"s-{n}"}) as resp:
                assert resp.status == 201
                run.echoed[f"s-{n}"] = resp.headers["X-Request-ID"]
                body = await resp.json()
            text = _SECRET_TEXT.format(n=n)
            run.texts.append(text)
            headers = {"Authorization": f"Bearer {body['token']}", "X-Request-ID": f"m-{n}"}
            payload = {"client_message_id": f"c-{n}", "text": text}
            async with http.post(f"{base}/messages", json=payload, headers=headers) as resp:
                assert resp.status == 200, await resp.text()
                run.echoed[f"m-{n}"] = resp.headers["X-Request-ID"]
            run.conversations[f"m-{n}"] = body["conversation_id"]

        await asyncio.gather(*(visitor(n) for n in range(_SESSIONS)))
        bad = "not a sane id; it has spaces"
        async with http.post(f"{base}/messages", data="{bad", headers={"X-Request-ID": bad}) as resp:
            assert resp.status == 401
            run.echoed[bad] = resp.headers["X-Request-ID"]


@pytest.fixture(scope="module")
def json_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _serve(tmp_path_factory.mktemp("json"), "json")


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _serve(tmp_path_factory.mktemp("text"), "json", "--log-format", "text")


def test_json_format_is_one_object_per_line_with_the_request_and_conversation(json_run: Run) -> None:
    records = [json.loads(line) for line in json_run.lines]  # every line, start-up to shutdown
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
    assert any(r["message"].startswith("Frontdesk ready") for r in records)
    flow = [r for r in records if r["logger"] == "bot.rule_actions"]
    assert len(flow) == _SESSIONS  # one line per message, logged by its planner
    for record in flow:
        # The right pair on each line, though the turns were written in shared batches.
        assert record["conversation_id"] == json_run.conversations[record["request_id"]], record
    assert {r["request_id"] for r in flow} == set(json_run.conversations)


def test_the_request_id_is_echoed_or_generated(json_run: Run) -> None:
    sane = {sent: echoed for sent, echoed in json_run.echoed.items() if " " not in sent}
    assert sane and all(sent == echoed for sent, echoed in sane.items())
    (generated,) = (echoed for sent, echoed in json_run.echoed.items() if " " in sent)
    assert re.fullmatch(r"[0-9a-f]{16}", generated)


def test_a_posted_message_text_never_reaches_the_log(json_run: Run, text_run: Run) -> None:
    for run in (json_run, text_run):
        log = "\n".join(run.lines)
        assert run.texts and not any(text in log for text in run.texts)
        assert "hunter2" not in log


def test_the_text_format_shows_the_ids_and_the_flag_wins_over_the_config(text_run: Run) -> None:
    assert not any(line.startswith("{") for line in text_run.lines)  # config said json
    flow = [line for line in text_run.lines if " bot.rule_actions [" in line]
    assert len(flow) == _SESSIONS
    for line in flow:
        ids = re.search(r" bot\.rule_actions \[req=(\S+) conv=(\S+)\]: ", line)
        assert ids is not None, line
        assert text_run.conversations[ids[1]] == ids[2]
    # Start-up lines have no ids and keep the plain "HH:MM:SS LEVEL logger: message" shape.
    assert any(re.match(r"\d\d:\d\d:\d\d INFO    bot\.app: Frontdesk ready", line) for line in text_run.lines)


def test_the_ticket_joins_the_ids_when_known() -> None:
    """The flow sets the ticket once the turn names one; every format shows it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(log_context.LogContextFilter())
    handler.setFormatter(log_context.JsonFormatter())
    logger = logging.getLogger("tests.ops.ticket")
    logger.addHandler(handler)
    logger.propagate = False
    tokens = (log_context.conversation_id.set("c_1"), log_context.ticket.set("T-1001"))
    try:
        logger.warning("after the turn")
    finally:
        log_context.ticket.reset(tokens[1])
        log_context.conversation_id.reset(tokens[0])
        logger.removeHandler(handler)
    record = json.loads(out.getvalue())
    assert (record["conversation_id"], record["ticket"]) == ("c_1", "T-1001")
    assert "request_id" not in record
