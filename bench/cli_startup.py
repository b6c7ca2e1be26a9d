"""CLI start-up benchmark: wall time of ``frontdesk`` commands against bare Python, same run.

    .venv/bin/python bench/cli_startup.py [--runs 15] [--root CHECKOUT]

Prints one JSON object. Each command runs ``--runs`` times in a fresh process, interleaved with
the others so a busy machine slows all alike; the figures are median and min seconds, and each
command's median minus bare Python's (``python -c pass``). Goals (issue 21): ``--help`` within
0.3 s of bare Python, commands that need no NLP (``tickets list``) within 1 s. ``tickets list``
runs on a fresh SQLite file migrated once in a temporary directory; ``rules check`` on the
checkout's example rulebook. ``--root`` measures another checkout (e.g. an older commit
unpacked with ``git archive``) with this same harness.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_HELP_OVER_PYTHON = 0.3
GOAL_NO_NLP = 1.0


def _commands(python: str, config: Path) -> dict[str, list[str]]:
    frontdesk = [python, "-m", "bot.cli", "--config", str(config)]
    return {
        "python -c pass": [python, "-c", "pass"],
        "frontdesk --help": [*frontdesk, "--help"],
        "frontdesk rules check": [*frontdesk, "rules", "check"],
        "frontdesk tickets list": [*frontdesk, "tickets", "list"],
    }


def _once(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs per command (default 15)")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent, help="checkout")
    args = parser.parse_args()
    root = args.root.resolve()
    env = {**os.environ, "PYTHONPATH": str(root)}
    with tempfile.TemporaryDirectory(prefix="cli-startup-") as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            f"database:\n  url: sqlite+aiosqlite:///{Path(tmp) / 'frontdesk.db'}\n"
            f"rulebook:\n  path: {root / 'rulebook'}\nnlu:\n  models: {Path(tmp) / 'models'}\n"
        )
        _once([sys.executable, "-m", "bot.cli", "--config", str(config), "db", "upgrade"], env, root)
        commands = _commands(sys.executable, config)
        for argv in commands.values():  # warm the file cache and the .pyc files
            _once(argv, env, root)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                times[name].append(_once(argv, env, root))
    bare = statistics.median(times["python -c pass"])
    results = {
        name: {
            "median_s": round(statistics.median(ts), 3),
            "min_s": round(min(ts), 3),
            "over_python_s": round(statistics.median(ts) - bare, 3),
        }
        for name, ts in times.items()
    }
    help_over = results["frontdesk --help"]["over_python_s"]
    tickets = results["frontdesk tickets list"]["median_s"]
    print(
        json.dumps(
            {
                "root": str(root),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "runs": args.runs,
                "commands": results,
                "goals": {
                    "help_within_s_of_python": GOAL_HELP_OVER_PYTHON,
                    "help_met": help_over <= GOAL_HELP_OVER_PYTHON,
                    "no_nlp_command_within_s": GOAL_NO_NLP,
                    "tickets_list_met": tickets <= GOAL_NO_NLP,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
