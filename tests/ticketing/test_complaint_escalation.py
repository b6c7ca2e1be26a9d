"""Escalation rules on the complaint signal of a ticket's first message (``when: {complaint: true}``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ticketing.sla_config import TicketMatch

from .helpers import world, write_rulebook
from .test_sla import sweep

ESCALATIONS = """
escalations:
  - name: complaint_unanswered
    when: {tags: [complaint], complaint: true}
    after: {no_first_reply: 30m}
    then:
      - set_priority: urgent
"""


def test_the_match_reads_the_flag_and_ignores_it_when_not_asked() -> None:
    wants = TicketMatch(complaint=True)
    assert wants.matches({"complaint": True})
    assert not wants.matches({"complaint": False}) and not wants.matches({"complaint": None})
    assert TicketMatch(complaint=False).matches({"complaint": None})  # stored before the signal
    assert TicketMatch().matches({"complaint": False})


async def test_only_tickets_opened_by_a_complaint_escalate(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb", escalations=ESCALATIONS)) as w:
        flagged, _ = await w.open_ticket("on hold for an hour", tags=("complaint",), complaint=True)
        calm, _ = await w.open_ticket("is my order late?", tags=("complaint",), complaint=False)
        old, _ = await w.open_ticket("from before the signal", tags=("complaint",))
        created = (await w.desk.get(old))["created_at"]
        await sweep(w, created)  # intake
        await sweep(w, created + timedelta(minutes=31))
        priorities = [(await w.desk.get(n))["priority"] for n in (flagged, calm, old)]
        assert priorities == ["urgent", "normal", "normal"]
