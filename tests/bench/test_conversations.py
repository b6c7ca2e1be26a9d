"""The conversation benchmark's promise check: what a reply claims against the database rows."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from conversations import Sent, Ticket, broken_promises, claims, exact_faq_rulebook

TEAMS = {"our warehouse team": "orders", "our support team": "support"}
TICKETS = {
    1001: Ticket(1001, conversation=7, priority="high", queue="support", tags=("complaint",)),
    1002: Ticket(1002, conversation=8, priority="normal", queue="orders", tags=()),
}


def _sent(ticket: int | None = 1001, conversation: int = 7) -> Sent:
    return Sent("c", "text", {}, status=200, db_conversation=conversation, ticket=ticket)


def check(reply: str, sent: Sent | None = None) -> list[str]:
    return broken_promises(reply, sent=sent or _sent(), tickets=TICKETS, teams=TEAMS)


def test_a_kept_promise_is_not_reported() -> None:
    reply = "I've added your message to ticket T-1001, which now has high priority; our support team"
    assert check(reply) == []
    assert claims(reply, TEAMS)


def test_claims_the_database_does_not_show_are_reported() -> None:
    assert check("I've opened ticket T-1999 for you") == ["names T-1999, which does not exist"]
    assert check("see ticket T-1002") == ["names T-1002, another conversation's ticket"]
    assert check("I've flagged it as urgent (ticket T-1001)") == [
        "claims urgent priority, the ticket has high"
    ]
    assert check("I've asked our warehouse team (ticket T-1001)") == [
        "names 'our warehouse team' (orders), the ticket is in 'support'"
    ]
    assert check("Thanks, I've added this to your ticket T-1001.", _sent(ticket=None)) == [
        "says the message was added to T-1001, it was filed in T-None"
    ]
    assert check("I'm bringing in a colleague now", _sent(ticket=None, conversation=9)) == [
        "claims a hand-off, the conversation has no ticket"
    ]


def test_a_plain_answer_claims_nothing() -> None:
    assert not claims("Standard delivery is 4.90 EUR.", TEAMS)
    assert check("Standard delivery is 4.90 EUR.") == []


def test_the_baseline_rulebook_needs_exact_faq_scores(tmp_path: Path) -> None:
    rulebook = exact_faq_rulebook(Path(__file__).resolve().parents[2] / "rulebook", tmp_path / "rb")
    text = (rulebook / "rules.yml").read_text(encoding="utf-8")
    assert "min_score: 1.0" in text and "min_score: 0.8" not in text
