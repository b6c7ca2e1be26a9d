"""The benchmark's verdict: a regression guard against the recorded CPU per message and two
latency bounds (hardening issue: the 0.30 x echo goal is retired)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from webchat_throughput import CPU_NOISE, verdict


def _measured(per_message: dict[str, float]) -> dict[str, object]:
    return {"frontdesk": {"cpu_ms_per_message": per_message}}


def _phase(p99_ms: float, errors: int = 0) -> dict[str, float]:
    return {"p99_ms": p99_ms, "errors": errors}


def test_a_run_within_noise_of_the_record_and_under_both_bounds_passes() -> None:
    measured = _measured({"service": 0.25, "worker 7": 0.17, "load_generator": 0.05})
    result = verdict(measured, _phase(40.0), _phase(6.0), recorded=0.38)
    assert result["cpu_ms_per_message"] == 0.42  # the load generator is not the service's
    assert result["checks"] == {
        "cpu_ms_per_message": True,
        "p99_at_half_ceiling": True,
        "p99_at_low_load": True,
    }
    assert result["passes"] is True


def test_more_cpu_than_noise_allows_or_a_slow_tail_fails() -> None:
    costly = _measured({"service": 0.3, "worker 7": 0.2})
    assert 0.38 * (1 + CPU_NOISE) < 0.5
    result = verdict(costly, _phase(40.0), _phase(6.0), recorded=0.38)
    assert result["checks"]["cpu_ms_per_message"] is False
    assert result["passes"] is False
    cheap = _measured({"service": 0.2, "worker 7": 0.15})
    assert verdict(cheap, _phase(51.0), _phase(6.0), recorded=0.38)["checks"]["p99_at_half_ceiling"] is False
    assert verdict(cheap, _phase(40.0), _phase(10.5), recorded=0.38)["checks"]["p99_at_low_load"] is False
    assert verdict(cheap, _phase(40.0, errors=3), _phase(6.0), recorded=0.38)["passes"] is False
