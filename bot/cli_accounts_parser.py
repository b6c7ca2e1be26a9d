"""The grammar of ``frontdesk accounts``, ``frontdesk tokens`` and ``frontdesk audit``.

Kept apart from :mod:`bot.cli_parser` (which calls it) for size, and just as light: handlers
are named, not imported. Passwords are never arguments (they would sit in the shell history
and ``ps``): a prompt, or one line on stdin with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_accounts_commands"]

_ROLES = ("admin", "agent", "viewer")


def add_accounts_commands(subparsers: Any) -> None:
    """Register ``accounts``, ``tokens`` and ``audit`` on the top-level subparsers."""
    from bot.cli_parser import Handler  # the parser module imports this one

    def handler(name: str) -> Handler:
        return Handler("bot.cli_accounts", name)

    accounts = subparsers.add_parser("accounts", help="accounts of admins, agents and viewers")
    sub = accounts.add_subparsers(dest="accounts_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add an account; the password is asked for (or --password-stdin)")
    add.add_argument("name")
    add.add_argument("--role", choices=_ROLES, required=True)
    add.add_argument("--email")
    add.add_argument("--display-name")
    _password(add)
    listing = sub.add_parser("list", help="every account with its role and state")
    listing.add_argument("--json", action="store_true", help="print JSON")
    for verb, help_ in (("disable", "stop an account signing in; its tokens and sessions stop working"),
                        ("enable", "let a disabled account sign in again")):  # fmt: skip
        sub.add_parser(verb, help=help_).add_argument("name")
    reset = sub.add_parser("reset-password", help="set a new password (also lifts a lock)")
    reset.add_argument("name")
    _password(reset)
    role = sub.add_parser("set-role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=_ROLES)
    link = sub.add_parser(
        "link-slack",
        help="link a Slack user (and its Frontdesk agent) to an account, whose role then decides "
        "what that user may do from Slack",
    )
    link.add_argument("name")
    link.add_argument("slack_user_id", metavar="SLACK_USER_ID", help="e.g. U012AB3CD")
    link.add_argument("--agent", help="the agent handle to link (default: the account's name or email)")
    accounts.set_defaults(func=handler("cmd_accounts"))

    tokens = subparsers.add_parser("tokens", help="API tokens (Authorization: Bearer fd_…)")
    tsub = tokens.add_subparsers(dest="tokens_command", metavar="ACTION", required=True)
    create = tsub.add_parser("create", help="create a token and print it once")
    create.add_argument("--account", required=True)
    create.add_argument(
        "--scopes", default="", help="comma-separated, e.g. tickets:read,customers:read (default: the role's)"
    )
    create.add_argument("--expires", default="90d", help="lifetime: 90d, 12h, 30m (default 90d)")
    create.add_argument("--name", help="a label, e.g. what uses the token")
    tlist = tsub.add_parser("list", help="tokens (never their secrets)")
    tlist.add_argument("--account")
    revoke = tsub.add_parser("revoke", help="stop a token working, at once")
    revoke.add_argument("id", type=int)
    tokens.set_defaults(func=handler("cmd_tokens"))

    audit = subparsers.add_parser("audit", help="who exported, erased, merged or read whose data")
    audit.add_argument("--customer", type=int, metavar="ID")
    audit.add_argument("--account", metavar="NAME")
    audit.add_argument("--since", metavar="WHEN", help="ISO date or time (UTC), or an age like 7d")
    audit.add_argument("--limit", type=int, default=200)
    audit.add_argument("--json", action="store_true", help="print JSON")
    audit.set_defaults(func=handler("cmd_audit"))


def _password(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin"
    )
