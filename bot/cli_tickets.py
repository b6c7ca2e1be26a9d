"""``frontdesk tickets …``: the operators' command line for tickets, queues, agents and customers.

Every command is one operation of :mod:`ticketing` (one transaction); a
:class:`~ticketing.errors.TicketError` is printed as ``frontdesk: error: <what to do>`` with exit
code 1 and nothing has been written. ``--as ACCOUNT`` (or ``--actor agent:ACCOUNT``) acts as
an account that must exist, be enabled and hold the command's permission (:mod:`core.roles`);
without it the command runs as ``operator:<login>``, the person with the server's configuration
and database in hand, who may do anything. Exports, erasures and merges are written to the access
audit. Their arguments are in :mod:`bot.cli_parser`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.attachment_files import attachment_files
from bot.cli_database import run_on_database
from bot.config import Settings, load_cli_settings
from ticketing.access_audit import AccessAudit
from ticketing.accounts import Accounts
from ticketing.agents import Roster
from ticketing.customer_admin import CustomerAdmin
from ticketing.errors import NotPermitted, TicketError
from ticketing.scheduler import SlaScheduler
from ticketing.service import TicketingService
from ticketing.sla_config import SlaConfig
from ticketing.ticket_rows import TicketRow
from ticketing.tickets import TicketDesk, TicketFilter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["cmd_tickets"]


@dataclass(frozen=True)
class _Ctx:
    engine: AsyncEngine
    config: SlaConfig
    desk: TicketDesk
    roster: Roster
    customers: CustomerAdmin
    actor: str
    out: TextIO
    audit: AccessAudit
    account_id: int | None = None

    async def accessed(self, action: str, customer_id: int, **detail: Any) -> None:
        await self.audit.record(actor=self.actor, account_id=self.account_id, action=action,
                                customer_id=customer_id, source="cli", detail=detail)  # fmt: skip


Command = Callable[[argparse.Namespace, _Ctx], Awaitable[None]]


def _settings(args: argparse.Namespace) -> Settings:
    return load_cli_settings(getattr(args, "config", None))


def _run(args: argparse.Namespace, command: Command, *, out: TextIO | None = None) -> int:
    settings = _settings(args)

    async def work(engine: AsyncEngine) -> None:
        # The app's builder of the ticketing parts; it loads the SLA rulebook (a broken file stops here).
        service = TicketingService(
            engine=engine, settings=settings.tickets, rulebook_dir=settings.rulebook_dir
        )
        actor, account_id = await _acting(args, Accounts(engine=engine))
        config = service.config()
        admin = CustomerAdmin(engine=engine, files=attachment_files(settings))  # erase removes files too
        ctx = _Ctx(engine, config, service.desk, service.roster, admin, actor,
                   out or sys.stdout, AccessAudit(engine=engine), account_id)  # fmt: skip
        await command(args, ctx)

    try:
        run_on_database(settings.database_url, work)
    except TicketError as exc:
        print(f"frontdesk: error: {exc}", file=sys.stderr)
        return 1
    return 0


# The permission each command needs when it is run --as an account (core/roles.py).
_READS = {"list", "show", "timers", "agents"}
_ADMIN = {"agent-add", "agent-away", "agent-back"}
_PERMISSION = {"customer-export": "customers:read", "customer-erase": "customers:erase",
               "customer-merge": "customers:write", "customer-verify-email": "customers:write"}  # fmt: skip


def permission_for(args: argparse.Namespace) -> str:
    command = str(args.tickets_command)
    if command == "queues":
        return "accounts:admin" if args.add else "tickets:read"
    if command in _PERMISSION:
        return _PERMISSION[command]
    return "tickets:read" if command in _READS else "accounts:admin" if command in _ADMIN else "tickets:write"


async def _acting(args: argparse.Namespace, accounts: Accounts) -> tuple[str, int | None]:
    """Who runs the command: ``(actor, account id)``. An account must exist, be enabled and hold
    the command's permission; ``operator:`` may only name the login that runs the command."""
    name: str | None = getattr(args, "as_account", None)
    actor: str | None = getattr(args, "actor", None)
    login = getpass.getuser()
    if name is None and actor is not None:
        kind, _, rest = actor.partition(":")
        if kind == "agent" and rest:
            name = rest
        elif kind == "operator" and rest == login:
            return actor, None
        else:
            raise NotPermitted(
                f"--actor {actor}: use --as ACCOUNT (an account of frontdesk accounts list), "
                f"or leave it out to act as operator:{login}"
            )
    if name is None:
        return f"operator:{login}", None
    account = await accounts.acting(name, permission_for(args))
    if getattr(args, "tickets_command", None) == "reply" and not args.agent:
        args.agent = account.name
    return f"agent:{account.name}", account.id


def _line(t: TicketRow) -> str:
    return (f"T-{t['number']:<7} {t['status']:<8} {t['priority']:<7} {t['queue']:<12} "
            f"{t['assignee'] or '-':<12} {t['subject'][:60]}")  # fmt: skip


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))


async def _list(args: argparse.Namespace, ctx: _Ctx) -> None:
    rows = await ctx.desk.find(TicketFilter(status=args.status, queue=args.queue, assignee=args.assignee,
                                            limit=args.limit))  # fmt: skip
    print(_dump(rows) if args.json else "\n".join(_line(t) for t in rows) or "no tickets", file=ctx.out)


async def _show(args: argparse.Namespace, ctx: _Ctx) -> None:
    ticket, events = await ctx.desk.get(args.ref), await ctx.desk.events(args.ref)
    clocks = await ctx.desk.timers(args.ref)
    if args.json:
        print(_dump({**ticket, "events": events, "timers": [asdict(c) for c in clocks]}), file=ctx.out)
        return
    print(_line(ticket), file=ctx.out)
    for key in ("customer_id", "channel", "tags", "sla_policy", "previous_ticket_id", "created_at",
                "first_reply_at", "solved_at", "closed_at", "csat_score", "csat_comment"):  # fmt: skip
        print(f"  {key}: {ticket[key]}", file=ctx.out)
    for c in clocks:
        print(f"  timer {c.kind}:{c.name} {c.state} {_when(c.due_at)}", file=ctx.out)
    for e in events:
        when = f"{e['created_at']:%Y-%m-%d %H:%M:%S}"
        print(f"  {when} {e['actor']:<28} {e['kind']:<12} {json.dumps(e['data'])}", file=ctx.out)


async def _show_one(ctx: _Ctx, ticket: TicketRow) -> None:
    print(_line(ticket), file=ctx.out)


async def _assign(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.assign(args.ref, args.agent, actor=ctx.actor))


async def _unassign(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.unassign(args.ref, actor=ctx.actor))


async def _status(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.set_status(args.ref, args.status, actor=ctx.actor))


async def _solve(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.solve(args.ref, actor=ctx.actor))


async def _close(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.set_status(args.ref, "closed", actor=ctx.actor))


async def _reopen(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.set_status(args.ref, "open", actor=ctx.actor))


async def _priority(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.set_priority(args.ref, args.priority, actor=ctx.actor))


async def _queue(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.set_queue(args.ref, args.queue, actor=ctx.actor))


async def _tag(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.tag(args.ref, add=args.add, remove=args.remove, actor=ctx.actor))


async def _reply(args: argparse.Namespace, ctx: _Ctx) -> None:
    if not args.agent:
        raise TicketError("name the agent the reply is sent as: --agent HANDLE, or --as ACCOUNT")
    await _show_one(ctx, await ctx.desk.reply(args.ref, args.text, agent=args.agent, status=args.status))


async def _note(args: argparse.Namespace, ctx: _Ctx) -> None:
    await _show_one(ctx, await ctx.desk.note(args.ref, args.text, actor=ctx.actor))


async def _sweep(args: argparse.Namespace, ctx: _Ctx) -> None:
    scheduler = SlaScheduler(engine=ctx.engine, config=lambda: ctx.config)
    try:
        report = await scheduler.sweep()
    finally:
        await scheduler.leadership.release()
    if not report.leader:
        raise TicketError("another Frontdesk process runs the SLA scheduler right now; it sweeps already")
    print(f"taken in: {report.taken_in}, fired: {report.fired}, failed: {report.failed}", file=ctx.out)


async def _timers(args: argparse.Namespace, ctx: _Ctx) -> None:
    rows = await ctx.desk.timers(args.ref, states=args.state, limit=args.limit)
    if args.json:
        print(_dump([asdict(r) for r in rows]), file=ctx.out)
        return
    for r in rows:
        fired = f"  fired {_when(r.fired_at)} by {r.fired_by}" if r.fired_at else ""
        print(f"T-{r.ticket_number:<7} {r.kind:<10} {r.name:<24} {r.state:<8} {_when(r.due_at)}{fired}",
              file=ctx.out)  # fmt: skip
    if not rows:
        print("no timers", file=ctx.out)


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at is not None else "paused"


async def _retry_timers(args: argparse.Namespace, ctx: _Ctx) -> None:
    count = await ctx.desk.retry_failed_timers(args.ref, actor=ctx.actor)
    print(f"{count} failed timer(s) due again; the next SLA sweep fires them", file=ctx.out)


async def _queues(args: argparse.Namespace, ctx: _Ctx) -> None:
    if args.add:
        await ctx.roster.add_queue(args.add)
    print("\n".join(await ctx.roster.queues()), file=ctx.out)


async def _agents(args: argparse.Namespace, ctx: _Ctx) -> None:
    for a in await ctx.roster.agents():
        state = "available" if a.available else "away"
        print(f"{a.handle:<16} {state:<9} {a.open_tickets}/{a.max_open} open  queues: {', '.join(a.queues)}",
              file=ctx.out)  # fmt: skip


async def _agent_add(args: argparse.Namespace, ctx: _Ctx) -> None:
    await ctx.roster.add_agent(args.handle, queues=args.queue, display_name=args.name, max_open=args.max_open)
    await _agents(args, ctx)


async def _agent_away(args: argparse.Namespace, ctx: _Ctx) -> None:
    await ctx.roster.set_available(args.handle, False)


async def _agent_back(args: argparse.Namespace, ctx: _Ctx) -> None:
    await ctx.roster.set_available(args.handle, True)


async def _export(args: argparse.Namespace, ctx: _Ctx) -> None:
    text = _dump(await ctx.customers.export(args.customer_id))
    await ctx.accessed("customer.export", args.customer_id, to="file" if args.out else "stdout")
    if args.out:
        await asyncio.to_thread(Path(args.out).write_text, text + "\n")
    else:
        print(text, file=ctx.out)


async def _erase(args: argparse.Namespace, ctx: _Ctx) -> None:
    if not args.yes:
        raise TicketError("erasing cannot be undone: export first, then repeat with --yes")
    counts = await ctx.customers.erase(args.customer_id, actor=ctx.actor)
    await ctx.accessed("customer.erase", args.customer_id, **counts)
    print("erased: " + ", ".join(f"{n} {what}" for what, n in counts.items()), file=ctx.out)
    print(
        f"revoked: {counts['identities']} channel identities and {counts['conversations']} conversations"
        " (web chat sessions end; the person writing again is a new customer)",
        file=ctx.out,
    )
    if counts.get("slack_messages"):
        print(
            f"slack: {counts['slack_messages']} messages scheduled for deletion (cards: redaction); "
            "the running server's Slack connector deletes them, retrying while Slack is unavailable",
            file=ctx.out,
        )


async def _merge(args: argparse.Namespace, ctx: _Ctx) -> None:
    await ctx.customers.merge(args.source, args.target, actor=ctx.actor)
    await ctx.accessed("customer.merge", args.source, into=args.target)
    await ctx.accessed("customer.merge", args.target, merged=args.source)
    print(f"customer {args.source} merged into {args.target}", file=ctx.out)


async def _verify_email(args: argparse.Namespace, ctx: _Ctx) -> None:
    survivor = await ctx.customers.verify_email(args.customer_id, actor=ctx.actor)
    if survivor == args.customer_id:
        print(f"customer {args.customer_id}: email verified", file=ctx.out)
    else:  # the address was another customer's: that is who the visitor is
        print(f"customer {args.customer_id}: email verified, merged into {survivor} (it has that address)",
              file=ctx.out)  # fmt: skip


_COMMANDS: dict[str, Command] = {
    "list": _list,
    "show": _show,
    "assign": _assign,
    "unassign": _unassign,
    "status": _status,
    "solve": _solve,
    "close": _close,
    "reopen": _reopen,
    "priority": _priority,
    "queue": _queue,
    "tag": _tag,
    "reply": _reply,
    "note": _note,
    "sweep": _sweep,
    "timers": _timers,
    "retry-timers": _retry_timers,
    "queues": _queues,
    "agents": _agents,
    "agent-add": _agent_add,
    "agent-away": _agent_away,
    "agent-back": _agent_back,
    "customer-export": _export,
    "customer-erase": _erase,
    "customer-merge": _merge,
    "customer-verify-email": _verify_email,
}


def cmd_tickets(args: argparse.Namespace) -> int:
    """``frontdesk tickets ACTION``: the action's operation in one transaction."""
    return _run(args, _COMMANDS[args.tickets_command])
