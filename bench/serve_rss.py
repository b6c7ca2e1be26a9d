"""Resident memory of ``frontdesk serve`` and its analysis workers, with a given intent model, as JSON.

    .venv/bin/python bench/serve_rss.py                  # the example rulebook (its SVM model)
    .venv/bin/python bench/serve_rss.py --banking77      # the same rulebook plus BANKING77's 77
                                                         # intents (the network), trained first

The server runs on a fresh SQLite database with ``nlu.analysis_workers`` workers (1 by default)
and is measured once every worker holds the rulebook's pipeline (``/healthz`` ``warm``), after a
few seconds to settle: VmRSS of the service process and of each worker, from /proc (Linux).
RSS counts shared pages (libraries, copy-on-write) once per process, so the sum is an upper
bound of what the processes take together. With ``--banking77`` the model is trained
beforehand with ``frontdesk nlu train`` (not measured), as an operator would.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from fleet import ROOT, free_port, wait_ready

DATA = Path(os.environ.get("BANKING77_DIR", ROOT.parent / "shared/data/banking77"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return list(map(int, path.read_text().split())) if path.exists() else []


def banking77_intents(path: Path, data: Path) -> int:
    """Add BANKING77's train.csv to intents.yml (the rules name the shop's intents, which stay);
    returns the number of examples."""
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_intent: dict[str, list[str]] = {
        i["name"]: [t for texts in _by_language(i["examples"]) for t in texts] for i in doc["intents"]
    }
    with (data / "train.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            name = row["category"].strip().rstrip("?")  # one label ends in "?"; intent names cannot
            by_intent.setdefault(name, []).append(row["text"].strip())
    doc["intents"] = [{"name": name, "examples": texts} for name, texts in sorted(by_intent.items())]
    path.write_text(json.dumps(doc), encoding="utf-8")  # JSON is YAML
    return sum(len(t) for t in by_intent.values())


def _by_language(examples: Any) -> list[list[str]]:
    """The example lists of a plain or language-split ``examples:`` (``{en: [...], de: [...]}``)."""
    return [list(v) for v in examples.values()] if isinstance(examples, dict) else [list(examples)]


async def wait_warm(url: str, timeout: float = 120.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url) as resp:
                workers: dict[str, int] = (await resp.json())["analysis_workers"]
            if workers.get("warm", 0) >= workers["wanted"] or time.monotonic() > deadline:
                return workers
            await asyncio.sleep(0.5)


async def measure(args: argparse.Namespace) -> dict[str, object]:
    frontdesk = Path(sys.executable).parent / "frontdesk"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rulebook = folder / "rulebook"
        shutil.copytree(ROOT / "rulebook", rulebook)
        examples = None
        if args.banking77:
            examples = banking77_intents(rulebook / "intents.yml", args.data)
        port = free_port()
        config = folder / "config.yaml"
        config.write_text(
            f"server: {{port: {port}, log_level: WARNING}}\n"
            f"database: {{url: 'sqlite+aiosqlite:///{folder}/rss.db'}}\n"
            "webchat: {secret_key: bench-secret-0123456789abcdef}\n"
            f"rulebook: {{path: {rulebook}}}\n"
            f"nlu: {{models: {folder / 'models'}, analysis_workers: {args.workers}}}\n"
        )
        env = {**os.environ, "FRONTDESK_CONFIG": str(config), "PYTHONPATH": str(ROOT)}
        subprocess.run([frontdesk, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run([frontdesk, "nlu", "train", "--quiet"], env=env, check=True, capture_output=True)
        model_dir = next(p for p in (folder / "models").iterdir() if (p / "model.pkl").is_file())
        model_mb = round((model_dir / "model.pkl").stat().st_size / 1e6, 1)
        proc = subprocess.Popen([frontdesk, "serve", "--port", str(port)], env=env)
        try:
            await wait_ready(f"http://127.0.0.1:{port}/healthz", timeout=120.0)
            workers = await wait_warm(f"http://127.0.0.1:{port}/healthz")
            await asyncio.sleep(args.settle)
            service = rss_mb(proc.pid)
            worker_rss = [rss_mb(pid) for pid in children(proc.pid)]
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return {
        "rulebook": "example" + (" plus BANKING77's intents" if args.banking77 else ""),
        "intent_examples": examples,
        "model_mb": model_mb,
        "workers": workers,
        "service_rss_mb": service,
        "worker_rss_mb": worker_rss,
        "total_rss_mb": round(service + sum(worker_rss), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--banking77", action="store_true", help="serve BANKING77's intents (the network)")
    parser.add_argument("--data", type=Path, default=DATA, help="directory with the BANKING77 CSV files")
    parser.add_argument("--workers", type=int, default=1, help="nlu.analysis_workers (default 1)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to wait once the workers are warm")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
