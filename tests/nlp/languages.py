"""A rulebook that answers every message in its language, and what the tests read back.

Shared by the language tests of every channel (tests/*/test_language.py): each sends a German
message, then "ok", then an English one, and checks the reply, the interaction's analysis and
the conversation's language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.models import Conversation, Interaction

GERMAN = "Hallo, ich habe eine Frage zu meiner Bestellung"
ENGLISH = "Hello, I have a question about my order"
SHORT = "ok"
ANSWERS = {
    "en": "We answer in English.",
    "de": "Wir antworten auf Deutsch.",
    "fr": "Nous répondons en français.",
}


SOLVED_RULE = """
  - name: solved
    event: ticket
    when:
      ticket: {status: {changed_to: solved}}
    then:
      - reply: {response: answer}
"""


def language_rulebook(directory: Path, *, tickets: bool = False) -> Path:
    """One rule answering every message with the ``answer`` response, split by language;
    ``tickets``: it also opens a ticket, and solving it is answered with the same response."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "faq.yml").write_text("faq: []\n", encoding="utf-8")
    responses = {"responses": {"answer": {language: [text] for language, text in ANSWERS.items()}}}
    (directory / "responses.yml").write_text(yaml.safe_dump(responses, allow_unicode=True), encoding="utf-8")
    (directory / "rules.yml").write_text(
        "settings:\n  default_language: en\n"
        "rules:\n  - name: answer\n    then:\n"
        + ("      - open_ticket: {subject: Question}\n" if tickets else "")
        + "      - reply: {response: answer}\n"
        + (SOLVED_RULE if tickets else ""),
        encoding="utf-8",
    )
    return directory


async def inbound_languages(engine: AsyncEngine) -> list[tuple[str | None, str | None]]:
    """(detected, conversation's) language in each inbound message's analysis, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(Interaction.analysis).where(Interaction.direction == "in").order_by(Interaction.id)
        )
        summaries: list[dict[str, Any]] = [row[0] or {} for row in rows]
    return [(s.get("language"), s.get("conversation_language")) for s in summaries]


async def conversation_languages(engine: AsyncEngine) -> list[str | None]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(Conversation.language).order_by(Conversation.id))).scalars())
