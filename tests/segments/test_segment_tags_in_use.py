"""The tags a run writes are used where customer tags already are: a rule condition on
``customer: {tag: segment:at-risk}`` fires for the customers of that segment (and not for others),
its ticket tag picks an SLA policy; ``frontdesk segments run`` and ``show`` print the run."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import AppOverrides
from bot.cli import main
from bot.segments import run_segments
from core.contracts import InboundMessage
from tests.api.helpers import Api, start_api
from tests.conftest import ROOT, AppFactory
from tests.segments.helpers import desk
from tests.webchat.helpers import FlakyChannel, eventually, rows
from ticketing.models import Ticket
from ticketing.segments import Segments

AT_RISK_RULE = """rules:
  - name: at_risk_customer
    description: Customers of the at-risk segment get a person, at once, under the at-risk SLA.
    when:
      customer: {tag: "segment:at-risk"}
    then:
      - open_ticket:
          subject: "At-risk customer: {message.first_line}"
          priority: high
          tags: ["segment:at-risk"]
      - reply: {text: "A colleague will take care of this personally."}
"""
AT_RISK_POLICY = """policies:
  - name: at-risk
    calendar: shop
    when: {tags: ["segment:at-risk"]}
    targets:
      high: {first_reply: 10m, next_reply: 20m, resolution: 2h}
"""


def rulebook_with_segments(tmp_path: Path) -> Path:
    directory = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", directory)
    rules = directory / "rules.yml"
    rules.write_text(rules.read_text().replace("rules:\n", AT_RISK_RULE, 1))
    sla = directory / "sla.yml"
    sla.write_text(sla.read_text().replace("policies:\n", AT_RISK_POLICY, 1))
    return directory


async def test_a_rule_and_an_sla_policy_act_on_the_at_risk_segment(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    channel = FlakyChannel("loopback")
    app, client = await make_client(
        database_url, overrides=AppOverrides(connectors={"loopback": channel}),
        rulebook=rulebook_with_segments(tmp_path),
    )  # fmt: skip
    api = Api(app, client, channel, {})
    await desk(api)
    await run_segments(Segments(engine=app.engine))

    def message(user: str) -> InboundMessage:
        return InboundMessage(
            channel="loopback", external_user_id=user, external_thread_id=f"{user}-new",
            text="what are your opening hours?", idempotency_key=f"{user}-segments",
        )  # fmt: skip

    angry = await app.flow.handle(message("angry0"))  # an at-risk customer, a harmless question
    assert [r.text for r in angry.replies] == ["A colleague will take care of this personally."]
    calm = await app.flow.handle(message("plain0"))
    assert "A colleague will take care of this personally." not in [r.text for r in calm.replies]

    stmt = select(Ticket.tags, Ticket.priority, Ticket.sla_policy).where(
        Ticket.subject == "At-risk customer: what are your opening hours?"
    )

    async def taken_in() -> bool:
        # The app's own scheduler sweeps too: a sweep here skips the ticket while that one holds
        # it (SKIP LOCKED), so wait for the intake, whichever sweep does it.
        await app.ticketing.scheduler.sweep()
        return (await rows(app.engine, stmt))[0].sla_policy is not None

    await eventually(taken_in)
    ((tags, priority, policy),) = await rows(app.engine, stmt)
    assert tags == ["segment:at-risk"] and priority == "high" and policy == "at-risk"


async def test_the_cli_runs_and_shows_segments(
    database_url: str, make_client: AppFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "cli.yaml"
    config.write_text(f"database:\n  url: {database_url}\nrulebook:\n  path: {ROOT / 'rulebook'}\n")
    cli = ["--config", str(config), "segments"]
    assert await asyncio.to_thread(main, [*cli, "show"]) == 1
    assert "no segment run yet" in capsys.readouterr().out
    await desk(await start_api(database_url, make_client))

    assert await asyncio.to_thread(main, [*cli, "run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("run 1 at ") and "25 customers, 5 segments (kmeans, silhouette" in out
    assert "25 segment tags changed" in out and "silhouette by k: k=3:" in out
    assert "  segment:at-risk " in out and "100% negative messages" in out

    assert await asyncio.to_thread(main, [*cli, "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["id"] == 1 and shown["k"] == 5 and shown["tagged"] == 25
    assert {s["name"] for s in shown["segments"]} >= {"at-risk", "dormant", "heavy-support", "loyal"}
