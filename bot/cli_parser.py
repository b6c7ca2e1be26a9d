"""The whole ``frontdesk`` argument grammar, with each command's handler named, not imported.

``frontdesk --help`` must answer within a blink of bare Python, so nothing here imports the app,
the database layer or NLP: a :class:`Handler` names ``module:function`` and imports it only when
its command runs (``rules test`` loads spaCy; ``tickets list`` never does). The handlers live in
``bot/cli_serve.py``, ``cli_rules.py``, ``cli_nlu.py``, ``cli_email.py``, ``cli_tickets.py``,
``cli_webhooks.py`` and ``cli_segments.py``.
"""

from __future__ import annotations

import argparse
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.cli_accounts_parser import add_accounts_commands
from bot.cli_segments_parser import add_segments_commands
from bot.cli_webhooks_parser import add_webhooks_commands

__all__ = [
    "TIMER_STATES",
    "Handler",
    "add_email_commands",
    "add_nlu_commands",
    "add_rules_commands",
    "add_tickets_commands",
    "add_webhooks_commands",
    "parser",
]

# ticketing.timers.TIMER_STATES, spelled out so the grammar needs no SQLAlchemy (tests/cli checks).
TIMER_STATES = ("active", "paused", "fired", "stopped", "failed")


@dataclass(frozen=True)
class Handler:
    """A command's function, imported on first call: the parser stays light, the command not."""

    module: str
    name: str

    def __call__(self, *args: Any, **kwargs: Any) -> int:
        function = getattr(importlib.import_module(self.module), self.name)
        return int(function(*args, **kwargs))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="frontdesk",
        description="Self-hosted customer-service bot and ticketing.",
        epilog="Configuration: config.yaml in the working directory, --config PATH or $FRONTDESK_CONFIG.",
    )
    top.add_argument("--config", default=os.environ.get("FRONTDESK_CONFIG"), help="path to config.yaml")
    sub = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the service (web chat demo on http://127.0.0.1:8080)")
    serve.add_argument("--host", help="listen address (default: server.host)")
    serve.add_argument("--port", type=int, help="listen port (default: server.port)")
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="log lines as text or one JSON object per line (default: server.log_format)",
    )
    serve.set_defaults(func=Handler("bot.cli_serve", "cmd_serve"))

    chat = sub.add_parser("chat", help="chat with the bot in the terminal, to try the rulebook")
    chat.add_argument("message", nargs="*", help="send these messages and exit instead of prompting")
    chat.add_argument(
        "--live",
        action="store_true",
        help="write to the configured database (default: a throwaway sandbox database)",
    )
    chat.set_defaults(func=Handler("bot.cli_serve", "cmd_chat"))

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", metavar="ACTION", required=True
    )
    db.add_parser("upgrade", help="create or migrate the schema to the newest revision").set_defaults(
        func=Handler("bot.cli_serve", "cmd_db_upgrade")
    )
    db.add_parser("current", help="show the schema revision (exit 1 if not the newest)").set_defaults(
        func=Handler("bot.cli_serve", "cmd_db_current")
    )

    backup = sub.add_parser(
        "backup",
        help="copy the database and the files (attachments, held mails) to DEST, safe while serving",
        description="SQLite: a consistent copy through SQLite's online backup API while `serve` "
        "keeps writing. PostgreSQL: pg_dump --format=custom (pg_dump must be on PATH). "
        "DEST is a new directory, or a file ending in .tar.gz.",
    )
    backup.add_argument("dest", metavar="DEST", help="new directory, or DEST.tar.gz")
    backup.set_defaults(func=Handler("bot.cli_backup", "cmd_backup"))
    restore = sub.add_parser(
        "restore",
        help="load a backup into an empty or new database (database.url) and put its files back",
        description="Refuses a database that already has tables unless --force. Stop `frontdesk "
        "serve` first. PostgreSQL: pg_restore into the database of database.url (createdb it first).",
    )
    restore.add_argument("src", metavar="SRC", help="a directory or .tar.gz made by `frontdesk backup`")
    restore.add_argument("--force", action="store_true", help="replace the contents of a non-empty database")
    restore.set_defaults(func=Handler("bot.cli_backup", "cmd_restore"))

    add_rules_commands(sub)
    add_nlu_commands(sub)
    add_email_commands(sub)
    add_tickets_commands(sub)
    add_accounts_commands(sub)
    add_webhooks_commands(sub)
    add_segments_commands(sub)

    return top


def add_rules_commands(subparsers: Any) -> None:
    """Register ``rules check`` and ``rules test`` on the top-level ``frontdesk`` subparsers."""
    rules = subparsers.add_parser("rules", help="rulebook tools").add_subparsers(
        dest="rules_command", metavar="ACTION", required=True
    )
    check = rules.add_parser("check", help="validate the rulebook; exit 2 on errors (for your CI)")
    check.add_argument("--rulebook", help="rulebook directory (default: rulebook.path from config)")
    check.set_defaults(func=Handler("bot.cli_rules", "cmd_rules_check"))

    test = rules.add_parser(
        "test",
        help="show what the bot would do with a message (nothing is sent or stored), or run rulebook/tests",
        description="Analyzes the message with the intent model the server would use (the one in the "
        "model store for the current intents.yml) and shows which rules match and what they would do. "
        "If that model is not trained yet it is trained now and stored, exactly as the server would at "
        "start-up (a few seconds for the example rulebook; a note on stderr says so); --no-train "
        "tests without intents instead. "
        'Examples: frontdesk rules test "where is my order 12345?" --customer "{tags: [vip]}"; '
        "frontdesk rules test --all",
    )
    test.add_argument("message", nargs="?", help="the customer's message")
    test.add_argument("--all", action="store_true", help="run every case in <rulebook>/tests/*.yaml")
    test.add_argument("--rulebook", help="rulebook directory (default: rulebook.path from config)")
    test.add_argument(
        "--models",
        metavar="DIR",
        help="intent model store (default: nlu.models from config, where the server keeps its models)",
    )
    test.add_argument(
        "--no-train",
        action="store_true",
        help="if the intents' model is not trained yet, test without intents instead of training it",
    )
    test.add_argument("--channel", default="webchat", help="channel the message arrives on (default webchat)")
    test.add_argument(
        "--language",
        help="the channel's language hint (like Telegram's language_code): the language detected "
        "from the text wins, then a language in --conversation, then this, then the rulebook's default",
    )
    test.add_argument(
        "--customer", help="customer facts as YAML, e.g. '{name: Ana, tags: [vip], open_tickets: 1}'"
    )
    test.add_argument(
        "--conversation", help="conversation facts as YAML, e.g. '{turns: 3, has_open_ticket: true}'"
    )
    test.add_argument("--now", help="evaluate at this time (ISO 8601, e.g. 2025-06-02T20:00+02:00)")
    test.add_argument("--json", action="store_true", help="print machine-readable JSON")
    test.set_defaults(func=Handler("bot.cli_rules", "cmd_rules_test"))


def add_nlu_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``nlu train``, ``nlu evaluate`` and ``nlu analyze`` on the ``frontdesk`` parser."""
    nlu = subparsers.add_parser("nlu", help="intent model tools: train, evaluate, analyze")
    actions = nlu.add_subparsers(dest="nlu_command", metavar="ACTION", required=True)

    train = actions.add_parser(
        "train",
        help="train the intent model and store it under --models",
        description="Train on rulebook/intents.yml (default) or on labelled CSV files (--data). "
        "The model is stored under a hash of its training data and marked current; "
        "training the same data again reuses the stored model unless --force.",
    )
    _common(train)
    train.add_argument(
        "--data",
        action="append",
        type=Path,
        metavar="FILE.csv",
        help="train on this CSV instead of the rulebook (repeatable)",
    )
    _columns(train)
    train.add_argument(
        "--oos-label", metavar="LABEL", help="label of out-of-scope examples in the data, if any"
    )
    train.add_argument("--force", action="store_true", help="retrain even if this data's model is stored")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=Handler("bot.cli_nlu", "cmd_train"))

    ev = actions.add_parser(
        "evaluate",
        help="score a model on a labelled CSV",
        description="Prints accuracy, macro-F1, per-intent precision/recall and the most confused pairs; "
        "with --oos-label also in-scope accuracy and out-of-scope recall.",
    )
    _common(ev)
    ev.add_argument("--data", required=True, type=Path, metavar="FILE.csv", help="labelled test data")
    _columns(ev)
    ev.add_argument(
        "--model", metavar="VERSION|DIR", help="model version or directory (default: the current model)"
    )
    ev.add_argument(
        "--oos-label", metavar="LABEL", help="label that marks out-of-scope examples in the test data"
    )
    ev.add_argument(
        "--task",
        choices=("intent", "sentiment", "complaint", "faq"),
        default="intent",
        help="what to score: the intent model (default), or the sentiment classifier's labels "
        "or complaint flag (CSV columns text, sentiment, complaint; the model comes from the rulebook), "
        "or FAQ matching (columns text, faq, split: picks the thresholds on the dev rows, JSON)",
    )
    ev.add_argument("--json", action="store_true", help="print the figures as JSON")
    ev.add_argument(
        "--report", type=Path, metavar="DIR", help="also write confusion_matrix.png and report.html here"
    )
    ev.set_defaults(func=Handler("bot.cli_nlu", "cmd_evaluate"))

    an = actions.add_parser(
        "analyze",
        help="print the full analysis of one message",
        description="Runs the NLP pipeline (intents, sentiment, entities, FAQ) on TEXT with the rulebook's "
        "extensions and the current model, and prints the result as JSON.",
    )
    _common(an)
    an.add_argument("text", help="the message to analyse")
    an.add_argument("--channel", default="webchat", help="channel context (default: webchat)")
    an.add_argument(
        "--language",
        default=None,
        help="the channel's language hint, e.g. de: used when the text's language is not detected",
    )
    an.add_argument(
        "--model", metavar="VERSION|DIR", help="model version or directory (default: the current model)"
    )
    an.set_defaults(func=Handler("bot.cli_nlu", "cmd_analyze"))


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rulebook", type=Path, help="rulebook directory (default: rulebook.path from config)"
    )
    parser.add_argument(
        "--models", type=Path, help="model store directory (default: nlu.models from config, var/models)"
    )


def _columns(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--text-col", metavar="NAME", help="CSV column with the text (default: text, utterance, ...)"
    )
    parser.add_argument(
        "--label-col",
        metavar="NAME",
        help="CSV column with the label (default: label, intent, category, ...)",
    )


def add_email_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    email = subparsers.add_parser("email", help="email channel tools").add_subparsers(
        dest="email_command", metavar="ACTION", required=True
    )
    ingest = email.add_parser("ingest", help="process raw mails (.eml) exactly as the IMAP poller would")
    ingest.add_argument("files", nargs="+", metavar="FILE.eml")
    ingest.set_defaults(func=Handler("bot.cli_email", "cmd_ingest"))
    quarantine = email.add_parser("quarantine", help="mails that could not be processed").add_subparsers(
        dest="quarantine_command", metavar="ACTION", required=True
    )
    quarantine.add_parser("list", help="show quarantined mails").set_defaults(
        func=Handler("bot.cli_email", "cmd_quarantine_list")
    )
    retry = quarantine.add_parser("retry", help="process a quarantined mail again")
    retry.add_argument("id")
    retry.set_defaults(func=Handler("bot.cli_email", "cmd_quarantine_retry"))
    set_aside = email.add_parser(
        "set-aside", help="mails not answered on purpose: auto-replies, bounces, lists"
    ).add_subparsers(dest="set_aside_command", metavar="ACTION", required=True)
    set_aside.add_parser("list", help="show set-aside mails").set_defaults(
        func=Handler("bot.cli_email", "cmd_set_aside_list")
    )
    again = set_aside.add_parser(
        "retry", help="process a set-aside mail as a customer's mail (it may be answered)"
    )
    again.add_argument("id")
    again.set_defaults(func=Handler("bot.cli_email", "cmd_set_aside_retry"))


def add_tickets_commands(subparsers: Any) -> None:
    """Register ``frontdesk tickets …`` on the top-level subparsers."""
    top = subparsers.add_parser("tickets", help="tickets, queues, agents and customer records")
    top.add_argument(
        "--as",
        dest="as_account",
        metavar="ACCOUNT",
        help="act as this account (frontdesk accounts list): it must exist, be enabled and hold the "
        "permission; without it you act as operator:<your login>",
    )
    top.add_argument(
        "--actor",
        default=None,
        help="who does it, for the audit: agent:ACCOUNT (same as --as ACCOUNT) or operator:<your login>",
    )
    sub = top.add_subparsers(dest="tickets_command", metavar="ACTION", required=True)

    def add(name: str, help_: str, *arguments: tuple[tuple[str, ...], dict[str, Any]]) -> None:
        parser = sub.add_parser(name, help=help_)
        for flags, options in arguments:
            parser.add_argument(*flags, **options)
        parser.set_defaults(func=Handler("bot.cli_tickets", "cmd_tickets"))

    ref = (("ref",), {"help": "ticket reference, e.g. T-1042"})
    as_json = (("--json",), {"action": "store_true", "help": "print JSON"})
    add(
        "list",
        "list tickets (newest first)",
        (("--status",), {"action": "append", "default": [], "help": "repeat for several"}),
        (("--queue",), {}),
        (("--assignee",), {}),
        (("--limit",), {"type": int, "default": 50}),
        as_json,
    )
    add("show", "a ticket with its audit trail", ref, as_json)
    add(
        "assign",
        "assign to an agent, or round-robin in its queue if none is given",
        ref,
        (("agent",), {"nargs": "?"}),
    )
    add("unassign", "remove the assignee", ref)
    add(
        "status",
        "set the status (new, open, pending, on-hold, solved, closed)",
        ref,
        (("status",), {}),
    )
    add("solve", "mark solved (asks the customer for a rating)", ref)
    add("close", "close a solved ticket now", ref)
    add("reopen", "reopen a solved ticket", ref)
    add("priority", "set the priority (low, normal, high, urgent)", ref, (("priority",), {}))
    add("queue", "move to another queue", ref, (("queue",), {}))
    add(
        "tag",
        "add or remove tags",
        ref,
        (("--add",), {"action": "append", "default": []}),
        (("--remove",), {"action": "append", "default": []}),
    )
    add(
        "reply",
        "send a reply to the customer on their channel",
        ref,
        (("text",), {}),
        (("--agent",), {"help": "the agent handle it is sent as (default: the --as account)"}),
        (("--status",), {"help": "status after the reply, e.g. pending"}),
    )
    add("note", "add an internal note (never sent)", ref, (("text",), {}))
    add("sweep", "run one SLA sweep now (normally the scheduler does this)")
    add(
        "timers",
        "SLA timers, soonest due first; --state failed: escalations that raised",
        (("ref",), {"nargs": "?", "help": "only this ticket's"}),
        (
            ("--state",),
            {"action": "append", "default": [], "choices": TIMER_STATES, "help": "repeat for several"},
        ),
        (("--limit",), {"type": int, "default": 100}),
        as_json,
    )
    add(
        "retry-timers",
        "make failed SLA timers due again; the next sweep fires them",
        (("ref",), {"nargs": "?", "help": "only this ticket's"}),
    )
    add("queues", "list queues, or add one", (("add",), {"nargs": "?", "metavar": "NEW_QUEUE"}))
    add("agents", "list agents with their open tickets")
    add(
        "agent-add",
        "add or update an agent",
        (("handle",), {}),
        (("--queue",), {"action": "append", "required": True}),
        (("--max-open",), {"type": int, "default": 20}),
        (("--name",), {}),
    )
    add("agent-away", "stop assigning to an agent", (("handle",), {}))
    add("agent-back", "assign to an agent again", (("handle",), {}))
    add(
        "customer-export",
        "everything about a customer, as JSON",
        (("customer_id",), {"type": int}),
        (("--out",), {"help": "write to this file instead of stdout"}),
    )
    add(
        "customer-erase",
        "erase a customer's personal data (GDPR); keeps ticket statistics",
        (("customer_id",), {"type": int}),
        (("--yes",), {"action": "store_true", "help": "really erase"}),
    )
    add("customer-merge", "merge SOURCE into TARGET (history and tickets follow)",
        (("source",), {"type": int}), (("target",), {"type": int}))  # fmt: skip
    add(
        "customer-verify-email",
        "confirm the email a customer gave in web chat (merges into the customer who has it, if any)",
        (("customer_id",), {"type": int}),
        # Also after the action, as agents type it; SUPPRESS keeps ``tickets --actor`` when absent.
        (("--actor",), {"default": argparse.SUPPRESS, "help": "who confirmed it, e.g. agent:alice"}),
        (("--as",), {"dest": "as_account", "default": argparse.SUPPRESS, "metavar": "ACCOUNT"}),
    )
