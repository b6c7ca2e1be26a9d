"""Hot reload: a saved file goes live as a whole; a broken one leaves the previous rules live."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from bot.knowledge import Knowledge
from rules.reload import RulebookWatcher
from tests.rules.helpers import analysis, facts, write_rulebook

GOOD = "rules:\n  - name: hello\n    then: [{reply: version one}]\n"
GOOD_2 = "rules:\n  - name: hello\n    then: [{reply: version two}]\n"


def save(path: Path, text: str) -> None:
    """Write like an editor does, and make sure the stamp changes even within one clock tick."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000, max(path.stat().st_mtime_ns, before + 1_000_000)))


def reply_of(k: Knowledge) -> str:
    return k.engine.decide(analysis(), facts()).actions[0].template  # type: ignore[union-attr]


class Live:
    def __init__(self, directory: Path) -> None:
        self.current = Knowledge.load(directory, faq_threshold=0.8)
        self.watcher = RulebookWatcher(
            directory=directory,
            load=lambda: Knowledge.load(directory, faq_threshold=0.8),
            apply=self.set,
            interval=0.01,
        )

    def set(self, k: Knowledge) -> None:
        self.current = k


async def test_save_swaps_the_whole_rule_set(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", GOOD)
    live = Live(directory)
    assert await live.watcher.check() is None  # nothing changed yet
    save(directory / "rules.yml", GOOD_2)
    assert await live.watcher.check() is True
    assert reply_of(live.current) == "version two"
    assert live.watcher.last_error == ()


async def test_a_check_that_finds_one_loading_waits_for_it(tmp_path: Path) -> None:
    """An explicit reload racing the poller must not return while the new version is half loaded."""
    directory = write_rulebook(tmp_path / "rb", GOOD)
    live = Live(directory)
    loading, release = threading.Event(), threading.Event()

    def slow_load() -> Knowledge:
        loading.set()
        release.wait(10)
        return Knowledge.load(directory, faq_threshold=0.8)

    watcher = RulebookWatcher(directory=directory, load=slow_load, apply=live.set)
    save(directory / "rules.yml", GOOD_2)
    poll = asyncio.create_task(watcher.check())
    await asyncio.to_thread(loading.wait, 10)
    explicit = asyncio.create_task(watcher.check())
    await asyncio.sleep(0.05)
    assert not explicit.done()
    release.set()
    assert await poll is True
    assert await explicit is None  # nothing new by then, and what is on disk is live
    assert reply_of(live.current) == "version two"


async def test_broken_file_keeps_previous_rules_and_reports(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", GOOD)
    live = Live(directory)
    before = live.current
    save(directory / "rules.yml", "rules:\n  - name: hello\n    then: [{replyy: oops}]\n")
    assert await live.watcher.check() is False
    assert live.current is before
    assert reply_of(live.current) == "version one"
    assert (
        "rules.yml:3:" in live.watcher.last_error[0] and "did you mean 'reply'?" in live.watcher.last_error[0]
    )
    assert await live.watcher.check() is None  # the same broken state is not retried
    save(directory / "rules.yml", GOOD_2)
    assert await live.watcher.check() is True
    assert live.watcher.last_error == ()
    assert reply_of(live.current) == "version two"


async def test_broken_yaml_broken_calendar_and_broken_faq(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", GOOD)
    live = Live(directory)
    for name, text, where in (
        ("rules.yml", "rules: [\n", "rules.yml:"),
        ("calendars.yml", "calendars:\n  shop: {timezone: Nowhere/Land, hours: {}}\n", "unknown time zone"),
        ("faq.yml", "faq:\n  - id: x\n", "faq.yml:2:"),
        ("rules.yml", "\xff", "rules.yml:"),
    ):
        original = (directory / name).read_text(encoding="utf-8") if (directory / name).exists() else None
        save(directory / name, text)
        assert await live.watcher.check() is False, name
        assert any(where in e for e in live.watcher.last_error), live.watcher.last_error
        assert reply_of(live.current) == "version one"
        if original is not None:
            save(directory / name, original)
            assert await live.watcher.check() is True


async def test_deleting_the_rules_file_falls_back_to_builtin_rules(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", GOOD)
    live = Live(directory)
    (directory / "rules.yml").unlink()
    assert await live.watcher.check() is True
    assert live.current.ruleset.source is None


async def test_running_watcher_picks_up_a_save(tmp_path: Path) -> None:
    directory = write_rulebook(tmp_path / "rb", GOOD)
    live = Live(directory)
    async with live.watcher.running():
        save(directory / "rules.yml", GOOD_2)
        async with asyncio.timeout(15):  # only a hang ever reaches this
            while reply_of(live.current) != "version two":  # noqa: ASYNC110 - polls a plain attribute
                await asyncio.sleep(0.01)
    assert live.watcher.reloads == 1
