"""An installed Frontdesk (a wheel, not this checkout) must carry the console's templates, static
files and vendored licenses: each file under bot/console is matched by a package-data glob."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_console_file_is_package_data() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    console = ROOT / "bot" / "console"
    files = [
        p for p in console.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"
    ]
    assert files
    for path in files:
        in_bot = path.relative_to(ROOT / "bot").as_posix()
        covered = any(fnmatch(in_bot, g) for g in data.get("bot", [])) or any(
            fnmatch(path.name, g) for g in data.get("*", [])
        )
        assert covered, f"{in_bot} is not package data: add a glob to [tool.setuptools.package-data]"
