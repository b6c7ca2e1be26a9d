"""bench/reports.py at a tiny scale on SQLite: it loads, rolls up, measures every range and filter,
and its baseline's direct queries give the dashboard's own 30-day totals."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import reports as bench_reports


async def test_a_tiny_run_measures_every_page_and_agrees_with_its_baseline() -> None:
    args = argparse.Namespace(
        tickets=300, interactions=3000, scale=1.0, days=40.0, runs=2, baseline_runs=1, seed=25,
        pg_url=bench_reports.PG_URL, keep=False,
    )  # fmt: skip
    out = await bench_reports.one_engine("sqlite", args)
    assert out["catch_up"]["rows_read"] > 3000 and out["catch_up"]["rollup_rows"]["report_daily"] > 0
    assert (
        len(out["dashboard"]) == len(bench_reports.ranges(bench_reports.datetime.now(bench_reports.UTC))) * 4
    )
    assert all(v["runs"] == 2 for v in out["dashboard"].values())
    assert out["hours_only"]["30d same_figures"] and out["hours_only"]["365d same_figures"]
    rollups, direct = out["dashboard_30d_totals"], out["baseline_30d_direct_queries"]["totals"]
    for figure in ("messages_in", "complaints", "unanswered", "tickets_opened", "csat_count", "sla_breached"):
        assert rollups[figure] == direct[figure], figure
