"""Conversation quality: scripted conversations replayed through the real app, and what the
customer got out of them.

Starts ``frontdesk serve`` on a fresh SQLite database with the example rulebook (:mod:`fleet`,
as the throughput benchmark does), replays every conversation of ``bench/data/conversations/``
over the web chat HTTP API (one session each, messages in order, each sent when the previous
answer arrived), then reads the database the server wrote and prints JSON:

- ``containment``: of the messages labelled ``faq: <id>``, the share answered with that FAQ
  (its answer text; for opening hours also the rulebook's open/closed replies);
- ``tickets_not_needed``: messages labelled ``faq`` or ``no_ticket`` that opened a ticket;
- ``complaints_escalated``: of the messages labelled ``complaint``, the share whose ticket ends
  with high or urgent priority and the ``complaint`` tag;
- ``unanswered`` (must be 0): messages with no reply and no recorded, deliberate acknowledgement
  (an acknowledgement not repeated within the rulebook's ``repeat`` is kept with the message as
  ``acknowledgement: not repeated ...``; those are counted as ``acknowledged_without_repeat``),
  plus any request that did not get a 200;
- ``broken_promises`` (must be 0): replies claiming something the database does not show: a
  ticket reference that does not exist or is another conversation's, a priority the ticket does
  not have, a team whose queue the ticket is not in, "added to your ticket T-…" for a message
  not filed in it, a hand-off without a ticket.

Baseline, measured in the same run: the same scripts through a second server whose rulebook is
the example one with every ``faq`` condition raised to ``min_score: 1.0``, i.e. FAQ answers only
for (nearly) exact questions, what a keyword FAQ bot gives. It shows what the fuzzy matching and
the intent model add, and that the honesty figures do not depend on them.

    PYTHONPATH=. .venv/bin/python bench/conversations.py [--no-baseline] [--scripts DIR] [--rulebook DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import fleet
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "data" / "conversations"
_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
_REF = re.compile(r"\bT-(\d+)\b")
_PRIORITY = re.compile(r"\b(low|normal|high|urgent) priority\b|\bas (urgent)\b")
_ADDED = re.compile(r"\badded\b.{0,80}?\bticket T-(\d+)", re.S)
_HANDED = ("bringing in a colleague", "passed your conversation", "asked a colleague to take over")


@dataclass(frozen=True)
class Ticket:
    number: int
    conversation: int | None
    priority: str
    queue: str
    tags: tuple[str, ...]


@dataclass
class Sent:
    """One scripted message as sent, with what came back and what the database shows."""

    conversation: str
    text: str
    labels: dict[str, Any]
    status: int = 0
    replies: list[str] = field(default_factory=list)
    interaction: int | None = None
    db_conversation: int | None = None
    ticket: int | None = None  # number of the ticket the message was filed in
    opened: bool = False  # the message opened that ticket
    acknowledgement: str | None = None


def claims(reply: str, teams: dict[str, str]) -> bool:
    """Whether ``reply`` claims anything about a ticket that :func:`broken_promises` checks."""
    return bool(
        _REF.search(reply)
        or _PRIORITY.search(reply)
        or _ADDED.search(reply)
        or any(label in reply for label in teams)
        or any(h in reply for h in _HANDED)
    )


def broken_promises(
    reply: str, *, sent: Sent, tickets: dict[int, Ticket], teams: dict[str, str]
) -> list[str]:
    """What ``reply`` claims about tickets that the database (``tickets``) does not show."""
    out: list[str] = []
    refs = [int(n) for n in _REF.findall(reply)]
    for n in refs:
        t = tickets.get(n)
        if t is None:
            out.append(f"names T-{n}, which does not exist")
        elif t.conversation != sent.db_conversation:
            out.append(f"names T-{n}, another conversation's ticket")
    subject = tickets.get(refs[0] if refs else sent.ticket or -1)
    for m in _PRIORITY.finditer(reply):
        claimed = m.group(1) or m.group(2)
        if subject is None or _RANK[subject.priority] < _RANK[claimed]:
            out.append(f"claims {claimed} priority, the ticket has {subject.priority if subject else 'none'}")
    for label, queue in teams.items():
        if label in reply and subject is not None and subject.queue != queue:
            out.append(f"names {label!r} ({queue}), the ticket is in {subject.queue!r}")
    for n in map(int, _ADDED.findall(reply)):
        if sent.ticket != n:
            out.append(f"says the message was added to T-{n}, it was filed in T-{sent.ticket}")
    if any(h in reply for h in _HANDED) and not any(
        t.conversation == sent.db_conversation for t in tickets.values()
    ):
        out.append("claims a hand-off, the conversation has no ticket")
    return out


def load_scripts(folder: Path) -> list[tuple[str, list[dict[str, Any]]]]:
    out = []
    for path in sorted(folder.glob("*.yaml")):
        for c in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            out.append((f"{path.stem}/{c['name']}", c["messages"]))
    return out


def answer_markers(rulebook: Path) -> dict[str, list[str]]:
    """How each FAQ's answer is recognised in a reply: the start of its answer text (and, for
    opening hours, of the rulebook's open/closed replies, which the hours rules give instead)."""
    faqs = yaml.safe_load((rulebook / "faq.yml").read_text(encoding="utf-8"))["faq"]
    markers = {f["id"]: [" ".join(t.split())[:60] for t in _texts(f["answer"])] for f in faqs}
    responses = yaml.safe_load((rulebook / "responses.yml").read_text(encoding="utf-8"))["responses"]
    for key in ("open_now", "closed_now"):
        for text in _texts(responses.get(key, [])):
            markers.setdefault("opening_hours", []).append(" ".join(text.split())[:60])
    return markers


def _texts(value: Any) -> list[str]:
    """Every text of a plain or language-split value (``{en: ..., de: [...]}``)."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [str(t) for t in value]
    return [str(value)]


def exact_faq_rulebook(source: Path, dest: Path) -> Path:
    """A copy of ``source`` whose every ``faq`` condition needs a score of 1.0 (the baseline)."""
    shutil.copytree(source, dest)
    rules = yaml.safe_load((dest / "rules.yml").read_text(encoding="utf-8"))

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "faq" and isinstance(value, dict) and "min_score" in value:
                    value["min_score"] = 1.0
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(rules)
    (dest / "rules.yml").write_text(
        yaml.safe_dump(rules, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return dest


async def replay(base: str, scripts: list[tuple[str, list[dict[str, Any]]]]) -> list[Sent]:
    sent: list[Sent] = []
    async with aiohttp.ClientSession() as session:
        for name, messages in scripts:
            async with session.post(f"{base}/api/v1/sessions", json={}) as resp:
                token = (await resp.json())["token"]
            headers = {"Authorization": f"Bearer {token}"}
            for i, m in enumerate(messages):
                s = Sent(name, m["text"], {k: v for k, v in m.items() if k != "text"})
                body = {"client_message_id": f"m{i}", "text": m["text"]}
                async with session.post(f"{base}/api/v1/messages", json=body, headers=headers) as resp:
                    s.status = resp.status
                    if resp.status == 200:
                        answer = await resp.json()
                        s.interaction = answer["message"]["id"]
                        s.replies = [r["text"] for r in answer["replies"]]
                sent.append(s)
    return sent


def read_back(database: Path, sent: list[Sent]) -> dict[int, Ticket]:
    """Fill in, from the database the server wrote, where each message went; returns the tickets."""
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tickets_by_id = {
            row[0]: Ticket(row[1], row[2], row[3], row[4], tuple(json.loads(row[5] or "[]")))
            for row in db.execute("SELECT id, number, conversation_id, priority, queue, tags FROM tickets")
        }
        opener = dict(
            db.execute(
                "SELECT ticket_id, min(id) FROM interactions "
                "WHERE direction = 'in' AND ticket_id IS NOT NULL GROUP BY ticket_id"
            ).fetchall()
        )
        rows = {
            r[0]: r[1:]
            for r in db.execute(
                "SELECT id, conversation_id, ticket_id, analysis FROM interactions WHERE direction = 'in'"
            )
        }
    finally:
        db.close()
    for s in sent:
        if s.interaction is None or s.interaction not in rows:
            continue
        conversation, ticket_id, analysis = rows[s.interaction]
        s.db_conversation = conversation
        if ticket_id is not None:
            s.ticket = tickets_by_id[ticket_id].number
            s.opened = opener.get(ticket_id) == s.interaction
        s.acknowledgement = (json.loads(analysis) if analysis else {}).get("acknowledgement")
    return {t.number: t for t in tickets_by_id.values()}


def figures(
    sent: list[Sent], tickets: dict[int, Ticket], markers: dict[str, list[str]], teams: dict[str, str]
) -> dict[str, Any]:
    faq = [s for s in sent if "faq" in s.labels]
    contained = [
        s for s in faq if any(mk in " ".join(r.split()) for r in s.replies for mk in markers[s.labels["faq"]])
    ]
    no_ticket = [s for s in sent if "faq" in s.labels or s.labels.get("no_ticket")]
    complaints = [s for s in sent if s.labels.get("complaint")]

    def escalated(s: Sent) -> bool:
        t = tickets.get(s.ticket or -1)
        return t is not None and _RANK[t.priority] >= _RANK["high"] and "complaint" in t.tags

    silent = [s for s in sent if s.status == 200 and not s.replies]
    deliberate = [s for s in silent if (s.acknowledgement or "").startswith("not repeated")]
    unanswered = [s for s in sent if s.status != 200 or (not s.replies and s not in deliberate)]
    broken = [
        {"conversation": s.conversation, "message": s.text, "reply": r, "problems": p}
        for s in sent
        for r in s.replies
        if (p := broken_promises(r, sent=s, tickets=tickets, teams=teams))
    ]
    missed = [
        {"conversation": s.conversation, "message": s.text, "faq": s.labels["faq"], "replies": s.replies}
        for s in faq
        if s not in contained
    ]
    return {
        "messages": len(sent),
        "containment": round(len(contained) / max(len(faq), 1), 3),
        "faq_questions": len(faq),
        "faq_answered_right": len(contained),
        "tickets_not_needed": sum(1 for s in no_ticket if s.opened),
        "tickets_not_needed_messages": [f"{s.conversation}: {s.text}" for s in no_ticket if s.opened],
        "messages_needing_no_ticket": len(no_ticket),
        "complaints_escalated": round(sum(map(escalated, complaints)) / max(len(complaints), 1), 3),
        "complaints": len(complaints),
        "unanswered": len(unanswered),
        "acknowledged_without_repeat": len(deliberate),
        "broken_promises": len(broken),
        "replies_with_checked_claims": sum(1 for s in sent for r in s.replies if claims(r, teams)),
        "tickets_opened": len(tickets),
        "broken_promise_examples": broken[:5],
        "faq_missed": missed,
        "unanswered_examples": [
            {"conversation": s.conversation, "message": s.text, "status": s.status} for s in unanswered[:5]
        ],
    }


async def measure(rulebook: Path, scripts: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    settings = yaml.safe_load((rulebook / "rules.yml").read_text(encoding="utf-8")).get("settings", {})
    teams = {label: queue for queue, label in (settings.get("queue_labels") or {}).items()}
    async with fleet.started(database="sqlite", processes=1, rulebook=rulebook) as running:
        sent = await replay(f"http://127.0.0.1:{running.ports[0]}", scripts)
        database = Path(running.database_url.split(":///", 1)[1])
        tickets = read_back(database, sent)
    return figures(sent, tickets, answer_markers(rulebook), teams)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scripts", type=Path, default=SCRIPTS, help="folder of *.yaml conversation scripts")
    parser.add_argument("--rulebook", type=Path, default=ROOT / "rulebook", help="rulebook to measure")
    parser.add_argument("--no-baseline", action="store_true", help="skip the exact-FAQ baseline server")
    args = parser.parse_args()
    scripts = load_scripts(args.scripts)
    result: dict[str, Any] = {
        "conversations": len(scripts),
        "frontdesk": await measure(args.rulebook.resolve(), scripts),
    }
    if not args.no_baseline:
        with tempfile.TemporaryDirectory() as tmp:
            baseline = exact_faq_rulebook(args.rulebook.resolve(), Path(tmp) / "rulebook")
            result["baseline_exact_faq"] = await measure(baseline, scripts)
        result["baseline"] = (
            "the same scripts, every faq condition of rules.yml at min_score 1.0 (near-exact FAQ matching)"
        )
    f = result["frontdesk"]
    result["verdict"] = "pass" if f["unanswered"] == 0 and f["broken_promises"] == 0 else "fail"
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
