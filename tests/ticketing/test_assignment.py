"""Round-robin among a queue's available agents, respecting each agent's cap of open tickets."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ticketing.helpers import world, write_rulebook
from ticketing.errors import NoAgentAvailable, UnknownQueue


async def test_round_robin_skips_away_and_full_agents(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        await w.roster.add_agent("ann", queues=["support"], max_open=2)
        await w.roster.add_agent("ben", queues=["support"], max_open=1)
        await w.roster.add_agent("cat", queues=["support"], max_open=5)
        await w.roster.set_available("cat", False)
        numbers = [(await w.open_ticket(f"question {i}"))[0] for i in range(4)]
        picks = [(await w.desk.assign(n, actor="system"))["assignee"] for n in numbers[:3]]
        assert picks == ["ann", "ben", "ann"]  # ben is then at his cap of 1, cat is away
        with pytest.raises(NoAgentAvailable, match="at their cap"):
            await w.desk.assign(numbers[3], actor="system")
        assert (await w.desk.get(numbers[3]))["assignee"] is None
        await w.desk.solve(numbers[1], actor="agent:ben")  # solved tickets do not count
        assert (await w.desk.assign(numbers[3], actor="system"))["assignee"] == "ben"
        await w.roster.set_available("cat", True)
        info = {a.handle: (a.open_tickets, a.max_open, a.available) for a in await w.roster.agents()}
        assert info == {"ann": (2, 2, True), "ben": (1, 1, True), "cat": (0, 5, True)}


async def test_empty_or_unknown_queue(database_url: str, tmp_path: Path) -> None:
    async with world(database_url, write_rulebook(tmp_path / "rb")) as w:
        number, _ = await w.open_ticket()
        with pytest.raises(NoAgentAvailable, match="no available agents"):
            await w.desk.assign(number, actor="system")
        with pytest.raises(UnknownQueue, match="unknown queue"):
            await w.roster.add_agent("dan", queues=["billing"])
