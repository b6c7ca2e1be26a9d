"""The live intent model through the running app (web chat API over loopback, real training).

The app serves a copy of the example rulebook. Saving ``intents.yml`` retrains the model in the
background while the previous one keeps answering; a broken file keeps the previous model and
rules and is reported by ``/healthz`` with ``file:line``; a quick run of edits ends with only the
last version trained, stored and serving.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient

from nlp import ModelStore
from nlp.intent import IntentConfig
from rules.intents_file import load_nlu_rulebook
from tests.conftest import ROOT, AppFactory
from tests.webchat.helpers import ask, eventually, health, line_of, save

# Not an example in intents.yml, not an FAQ match, no text rule: only the model makes it a refund.
REFUND = "I would like my money returned"
REFUND_REPLY = "You can return unworn items within 30 days"  # rules.yml refund_howto
GIFT = "I'd love to get a gift card for my sister"
GIFT_REPLY = "Gift cards from 10 to 200 EUR are sold at acme.example/gift-cards."

GIFT_INTENT = """
  - name: gift_card
    examples:
      - do you sell gift cards
      - can I buy a gift card
      - I want to give a gift card as a present
      - gift certificate for my friend
      - how much are your gift cards
      - can I send a gift card by email
      - I'd like a gift card for 50 euros
      - do you have e-gift cards
      - buying a present card for my mum
      - gift card for a birthday
      - can gift cards be used online
      - where can I get a gift card
"""
GIFT_RULE = f"""  - name: gift_card
    when: {{intent: gift_card}}
    then:
      - reply: "{GIFT_REPLY}"

"""
BEFORE_OPENING_HOURS = "  # --- Opening hours"
TRAINING = 50.0  # a deadline for a training that takes seconds, on a busy machine too


async def within(seconds: float, check: Callable[[], Awaitable[bool]]) -> None:
    """Like ``eventually``, with a deadline that fits a training run."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {seconds}s")
        await asyncio.sleep(0.05)


def padding(tag: str) -> str:
    """An intent of meaningless examples that takes the data past ``mlp_min_examples``, so the
    model is the network and training takes seconds instead of milliseconds: long enough to see
    the previous model answer meanwhile. ``tag`` makes a distinct training-data version."""
    examples = "".join(
        f"      - zq{n} xv{n * 37 % 1009} kw{n % 97} {tag}\n" for n in range(IntentConfig().mlp_min_examples)
    )
    return f"\n  - name: padding\n    examples:\n{examples}"


def with_gift_rule(rules: str) -> str:
    assert BEFORE_OPENING_HOURS in rules
    return rules.replace(BEFORE_OPENING_HOURS, GIFT_RULE + BEFORE_OPENING_HOURS)


def version_of(directory: Path, models: Path) -> str:
    intents = load_nlu_rulebook(directory).intents
    assert intents is not None
    return ModelStore(models).version_for(intents.examples, oos_label=intents.oos_label)


async def shop(tmp_path: Path, sqlite_url: str, make_client: AppFactory) -> tuple[Path, Path, TestClient]:
    """The app on a copy of the example rulebook, its model trained at start-up."""
    directory = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", directory)
    models = tmp_path / "models"
    extra = f"nlu:\n  models: {models}\n  wait_for_model_seconds: 60\n"
    _app, client = await make_client(sqlite_url, extra=extra, rulebook=directory)
    return directory, models, client


async def test_new_intent_trains_while_the_previous_model_keeps_answering(
    tmp_path: Path, sqlite_url: str, make_client: AppFactory
) -> None:
    directory, models, client = await shop(tmp_path, sqlite_url, make_client)
    first = await health(client)
    assert first["errors"] == []
    assert first["intent_model"] == version_of(directory, models)
    assert first["intent_model_ready"] is True
    assert (models / first["intent_model"] / "model.pkl").is_file()
    assert REFUND_REPLY in await ask(client, REFUND)

    intents = (directory / "intents.yml").read_text(encoding="utf-8")
    rules = (directory / "rules.yml").read_text(encoding="utf-8")
    save(directory / "intents.yml", intents + GIFT_INTENT + padding("v2"))  # first: rules name it
    save(directory / "rules.yml", with_gift_rule(rules))
    wanted = version_of(directory, models)
    assert wanted != first["intent_model"]

    async def training() -> bool:
        return bool((await health(client))["intent_model"] == wanted)

    await eventually(training)
    assert (await health(client))["intent_model_ready"] is False
    assert REFUND_REPLY in await ask(client, REFUND)  # the previous model answers meanwhile
    assert GIFT_REPLY not in await ask(client, GIFT)  # it knows no gift cards (and still answers)
    still = await health(client)
    assert (still["intent_model"], still["intent_model_ready"]) == (wanted, False), "trained too fast"

    async def ready() -> bool:
        return bool((await health(client))["intent_model_ready"])

    await within(TRAINING, ready)
    assert (models / wanted / "model.pkl").is_file()
    assert await ask(client, GIFT) == GIFT_REPLY
    assert REFUND_REPLY in await ask(client, REFUND)
    assert (await health(client))["errors"] == []


async def test_broken_intents_keep_the_previous_model_and_rules(
    tmp_path: Path, sqlite_url: str, make_client: AppFactory
) -> None:
    directory, _models, client = await shop(tmp_path, sqlite_url, make_client)
    good = await health(client)
    assert good["intent_model_ready"] is True
    path = directory / "intents.yml"
    original = path.read_text(encoding="utf-8")
    line, example = line_of(original, "- name: refund"), line_of(original, "- I want a refund")
    broken = {
        "YAML syntax": original.replace("- I want a refund\n", "- I want a refund: now: please\n"),
        "wrong type": original.replace("  - name: refund\n", "  - name: [refund]\n"),
    }
    expected = {
        "YAML syntax": f"intents.yml:{example}: mapping values are not allowed",
        "wrong type": f"intents.yml:{line}: intents[4].name: Input should be a valid string",
    }
    for case, text in broken.items():
        save(path, text)

        async def reported(case: str = case) -> bool:
            return any(expected[case] in e for e in (await health(client))["errors"])

        await eventually(reported)
        now = await health(client)
        assert (now["intent_model"], now["intent_model_ready"]) == (good["intent_model"], True), case
        assert now["loaded_at"] == good["loaded_at"], case  # nothing was swapped in
        assert REFUND_REPLY in await ask(client, REFUND), case

    save(path, original)

    async def cleared() -> bool:
        return bool((await health(client))["errors"] == [])

    await eventually(cleared)
    fixed = await health(client)
    assert (fixed["intent_model"], fixed["intent_model_ready"]) == (good["intent_model"], True)
    assert REFUND_REPLY in await ask(client, REFUND)


async def test_quick_edits_train_and_serve_only_the_last_version(
    tmp_path: Path, sqlite_url: str, make_client: AppFactory
) -> None:
    directory, models, client = await shop(tmp_path, sqlite_url, make_client)
    first = (await health(client))["intent_model"]
    intents = (directory / "intents.yml").read_text(encoding="utf-8")
    rules = (directory / "rules.yml").read_text(encoding="utf-8")
    versions = []
    for n, tag in enumerate(("v2", "v3", "v4")):
        save(directory / "intents.yml", intents + GIFT_INTENT + padding(tag))
        if n == 0:
            save(directory / "rules.yml", with_gift_rule(rules))
        versions.append(version_of(directory, models))

        async def picked_up() -> bool:
            return bool((await health(client))["intent_model"] == versions[-1])

        await eventually(picked_up)  # its training has started; the next save supersedes it
    last = versions[-1]

    async def ready() -> bool:
        return bool((await health(client))["intent_model_ready"])

    await within(TRAINING, ready)
    assert (await health(client))["intent_model"] == last
    assert await ask(client, GIFT) == GIFT_REPLY
    store = ModelStore(models)
    assert store.current_version() == last
    # Superseded trainings stopped instead of finishing in their threads: never stored.
    assert sorted(store.versions()) == sorted([first, last])


async def test_reverting_during_training_stops_it(
    tmp_path: Path, sqlite_url: str, make_client: AppFactory
) -> None:
    directory, models, client = await shop(tmp_path, sqlite_url, make_client)
    first = (await health(client))["intent_model"]
    intents = (directory / "intents.yml").read_text(encoding="utf-8")
    edited = intents + GIFT_INTENT + padding("v2")
    side = tmp_path / "side"
    side.mkdir()
    (side / "intents.yml").write_text(edited, encoding="utf-8")
    side_intents = load_nlu_rulebook(side).intents
    assert side_intents is not None

    async def serving(version: str, *, ready: bool) -> None:
        async def check() -> bool:
            now = await health(client)
            return bool(now["intent_model"] == version and now["intent_model_ready"] is ready)

        await within(TRAINING, check)

    save(directory / "intents.yml", edited)
    await serving(version_of(side, models), ready=False)
    save(directory / "intents.yml", intents)
    await serving(first, ready=True)  # the stored model serves again at once
    assert REFUND_REPLY in await ask(client, REFUND)
    # The same training, started after the abandoned one: when it is done, the abandoned one
    # would be done too (and stored) had it not stopped.
    await asyncio.to_thread(ModelStore(tmp_path / "witness").train, side_intents.examples)
    store = ModelStore(models)
    assert store.versions() == [first]
    assert store.current_version() == first
    assert (await health(client))["intent_model"] == first
