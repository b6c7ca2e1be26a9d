"""The benchmark's CPU budget: what the goal allows per message, from what a run measured."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from webchat_throughput import cpu_budget


def _measured(per_message: dict[str, float], echo_per_s: float) -> dict[str, object]:
    return {
        "frontdesk": {"cpu_ms_per_message": per_message},
        "echo_baseline": {"requests_per_s": echo_per_s},
    }


def test_a_goal_beyond_the_cores_says_how_much_cheaper_a_message_must_get() -> None:
    # 0.4 ms a message on 2 cores: at most 5,000 messages/s; 0.30 x 20,000 = 6,000 needs 1/3 ms.
    measured = _measured({"service": 0.2, "worker 7": 0.15, "load_generator": 0.05}, 20_000.0)
    budget = cpu_budget(measured, 0.30, 2)
    assert budget == {
        "cpus": 2,
        "spent_ms_per_message": 0.4,
        "max_messages_per_s_at_this_cost": 5000.0,
        "goal_messages_per_s": 6000.0,
        "budget_ms_per_message": 0.333,
        "cut_needed": 0.167,
    }


def test_a_goal_within_the_cores_needs_no_cut() -> None:
    budget = cpu_budget(_measured({"service": 0.1, "load_generator": 0.02}, 10_000.0), 0.30, 2)
    assert budget["cut_needed"] == 0.0
    assert budget["max_messages_per_s_at_this_cost"] == 16666.7
