"""Loop guards through the real app (web chat over loopback, both engines): ``max_fires`` and
``max_repeats`` count what the conversation's stored replies say, so they hold across batches
and across restarts of the process, not only within one engine call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import AppFactory
from tests.rules.helpers import write_rulebook
from tests.webchat.helpers import send, start_session

RULES = """
settings:
  limits: {max_repeats: 2}
rules:
  - name: promo
    max_fires: 2
    when: {text: {contains: [deal]}}
    then: [{reply: "Today: 10 % off everything."}]
  - name: echo
    when: {text: {contains: [again]}}
    then: [{reply: "Say that once more?"}]
  - name: shrug
    then: [{reply: "I am not sure I follow."}]
"""


def text(body: dict[str, Any]) -> str:
    [reply] = body["replies"]
    return str(reply["text"])


async def test_max_fires_and_max_repeats_hold_across_messages(
    database_url: str, make_client: AppFactory, tmp_path: Path
) -> None:
    directory = write_rulebook(tmp_path / "rulebook", RULES)
    _app, client = await make_client(database_url, rulebook=directory)
    visitor = await start_session(client)
    answers = [text(await send(client, visitor, f"any deal {n}?")) for n in range(3)]
    assert answers == ["Today: 10 % off everything."] * 2 + ["I am not sure I follow."]
    repeats = [text(await send(client, visitor, f"again {n}")) for n in range(3)]
    # echo answered twice in a row: the third message goes to the rules below it
    assert repeats == ["Say that once more?"] * 2 + ["I am not sure I follow."]
    other = await start_session(client)  # the counts are per conversation
    assert text(await send(client, other, "a deal?")) == "Today: 10 % off everything."
