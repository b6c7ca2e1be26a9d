"""``frontdesk`` loads only what a command needs: help and the ticket commands never load NLP."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli_parser import TIMER_STATES, Handler, parser
from tests.conftest import ROOT
from ticketing import timers

_LOADED_NLP = """
import sys
from bot.cli import main
try:
    main(sys.argv[1:])
except SystemExit:  # --help
    pass
print(sorted(m for m in sys.modules if m.split('.')[0] in {'spacy', 'sklearn'}), file=sys.stderr)
"""


def loaded_nlp(cwd: Path, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _LOADED_NLP, *argv],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stderr.strip().splitlines()[-1]


def test_help_loads_no_nlp(tmp_path: Path) -> None:
    assert loaded_nlp(tmp_path, "--help") == "[]"


def test_tickets_list_loads_no_nlp(sqlite_url: str, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"database:\n  url: {sqlite_url}\nrulebook:\n  path: {ROOT / 'rulebook'}\n")
    assert loaded_nlp(tmp_path, "--config", str(config), "tickets", "list") == "[]"


def _handlers(command: argparse.ArgumentParser) -> list[Handler]:
    """Every handler the grammar names, found by walking its subcommands."""
    found = [command._defaults["func"]] if isinstance(command._defaults.get("func"), Handler) else []
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _handlers(child)
    return found


@pytest.mark.parametrize("handler", sorted(set(_handlers(parser())), key=repr), ids=repr)
def test_every_handler_names_a_function(handler: Handler) -> None:
    assert callable(getattr(importlib.import_module(handler.module), handler.name))


def test_timer_states_match_the_ticketing_ones() -> None:
    assert TIMER_STATES == timers.TIMER_STATES


def test_the_service_never_loads_scikit_learn(tmp_path: Path) -> None:
    """The service, its console (topics, segments) included, imports no scikit-learn or scipy:
    they would stay in its memory; the console's clustering runs in a process of its own."""
    code = (
        "import sys, bot.app, bot.console, bot.segments, nlp.clusters, nlp.segments\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "[]"
