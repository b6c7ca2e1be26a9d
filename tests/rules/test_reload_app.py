"""Hot reload of rules.yml through the running app (web chat API over loopback).

The app serves a copy of the example rulebook. A broken save is reported by ``/healthz`` as
``rules.yml:LINE: ...`` while the previous rules keep answering; a valid save goes live for the
next message and clears the errors.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import ROOT, AppFactory
from tests.webchat.helpers import ask, eventually, health, line_of, save

# The model makes this a refund; no example, FAQ or text rule matches it.
REFUND = "I would like my money returned"
OLD_REPLY = "You can return unworn items within 30 days"  # responses.yml refund_howto
NEW_REPLY = "Refunds take 5 working days once the parcel is back with us."
REPLY_LINE = "          prompt: {response: refund_howto}\n"  # the refund rule's question


async def test_broken_rules_keep_the_previous_rules_until_a_valid_save(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    directory = tmp_path / "rulebook"
    shutil.copytree(ROOT / "rulebook", directory)
    _app, client = await make_client(database_url, rulebook=directory)
    good = await health(client)
    assert good["errors"] == []
    assert good["intent_model_ready"] is True
    assert OLD_REPLY in await ask(client, REFUND)

    path = directory / "rules.yml"
    original = path.read_text(encoding="utf-8")
    assert REPLY_LINE in original
    line = line_of(original, REPLY_LINE.strip())
    when = "    when: {intent: refund}\n"
    assert original.count(when) == 1
    when_line = line_of(original, when.strip())
    broken = {  # case: (file text, line, what /healthz must say about it)
        "YAML syntax": (
            original.replace(REPLY_LINE, "          prompt: response: refund_howto\n"),
            line,
            "mapping values are not allowed",
        ),
        "unknown key": (
            original.replace(REPLY_LINE, REPLY_LINE.replace("prompt:", "promptt:")),
            line,
            "].then[0].ask.promptt: unknown key 'promptt' (did you mean 'prompt'?)",
        ),
        "unknown response": (
            original.replace(REPLY_LINE, REPLY_LINE.replace("refund_howto", "refund_how")),
            line,
            "].then[0].ask.prompt.response: unknown response 'refund_how' (did you mean 'refund_howto'?)",
        ),
        "unknown intent": (
            original.replace(when, "    when: {intent: refundd}\n"),
            when_line,
            "].when.intent.is[0]: unknown intent 'refundd' (did you mean 'refund'?)",
        ),
    }
    for case, (text, at, message) in broken.items():
        save(path, text)

        async def reported(where: str = f"rules.yml:{at}: ", message: str = message) -> bool:
            return any(where in e and message in e for e in (await health(client))["errors"])

        await eventually(reported)
        now = await health(client)
        assert now["loaded_at"] == good["loaded_at"], case  # nothing was swapped in
        assert OLD_REPLY in await ask(client, REFUND), case

    save(path, original.replace(REPLY_LINE, f'          prompt: "{NEW_REPLY}"\n'))

    async def reloaded() -> bool:
        now = await health(client)
        return bool(now["errors"] == [] and now["loaded_at"] != good["loaded_at"])

    await eventually(reloaded)
    assert await ask(client, REFUND) == NEW_REPLY
    assert (await health(client))["intent_model"] == good["intent_model"]  # rules only: same model
