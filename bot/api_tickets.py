"""``/api/v1/tickets``: list, search, read and work tickets over HTTP (spec: ``bot/openapi/tickets.yaml``).

Reads go through :class:`ticketing.ticket_queries.TicketQueries`, every change through
:class:`ticketing.tickets.TicketDesk` (one transaction, with its audit event by
``account:<name>``), so the API can do nothing the CLI and Slack could not. A client's mistake
is a problem+json answer that names what to fix: 400 for a query or body that is not what the
spec says, 404 for an unknown ticket, 409 for a change the ticket's state forbids, 422 for an
unknown status, priority, queue or agent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from bot.api_auth import ApiAuth, Principal, record_access, require
from bot.problem import Problem, problem_handler
from ticketing.access_audit import AccessAudit
from ticketing.errors import (
    InvalidTransition,
    InvalidValue,
    NoAgentAvailable,
    TicketError,
    TicketNotFound,
)
from ticketing.ticket_queries import MAX_LIMIT, InvalidCursor, TicketDetail, TicketQueries, TicketQuery
from ticketing.ticket_rows import TicketRow
from ticketing.tickets import TicketChange, TicketDesk

__all__ = ["MAX_TEXT", "TicketRoutes", "audited_detail", "desk_errors", "list_query", "storable"]

_LIST_PARAMS = frozenset(
    {"status", "queue", "assignee", "priority", "tag", "customer", "updated_since", "q", "limit", "cursor"}
)
_PATCH_FIELDS = ("status", "priority", "queue", "assignee", "tags")
MAX_TEXT = 20_000


class TicketRoutes:
    def __init__(
        self, *, auth: ApiAuth, desk: TicketDesk, queries: TicketQueries, audit: AccessAudit
    ) -> None:
        self._auth = auth
        self._desk = desk
        self._queries = queries
        self._audit = audit

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/tickets", problem_handler(self.list_tickets), allow_head=False),
            web.get("/api/v1/tickets/{ref}", problem_handler(self.get_ticket), allow_head=False),
            web.patch("/api/v1/tickets/{ref}", problem_handler(self.update_ticket)),
            web.post("/api/v1/tickets/{ref}/replies", problem_handler(self.add_reply)),
            web.post("/api/v1/tickets/{ref}/notes", problem_handler(self.add_note)),
        ]

    async def list_tickets(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        require(principal, "tickets:read")
        query = list_query(request.query)
        with desk_errors(invalid=400):
            page = await self._queries.page(query)
        return web.json_response(
            {"items": [ticket_json(t) for t in page.items], "next_cursor": page.next_cursor}
        )

    async def get_ticket(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        require(principal, "tickets:read")
        detail = await audited_detail(self._queries, self._audit, request, principal)
        return web.json_response(detail_json(detail))

    async def update_ticket(self, request: web.Request) -> web.Response:
        principal = await self._writer(request)
        body = await _body(request)
        change = _change(body)
        with desk_errors():
            ticket = await self._desk.update(request.match_info["ref"], change, actor=_actor(principal))
        return web.json_response(ticket_json(ticket))

    async def add_reply(self, request: web.Request) -> web.Response:
        principal = await self._writer(request)
        text = _text(await _body(request))
        with desk_errors():
            ticket = await self._desk.reply(
                request.match_info["ref"], text, agent=principal.name, actor=_actor(principal)
            )
        return web.json_response(ticket_json(ticket), status=202)

    async def add_note(self, request: web.Request) -> web.Response:
        principal = await self._writer(request)
        text = _text(await _body(request))
        with desk_errors():
            ticket = await self._desk.note(request.match_info["ref"], text, actor=_actor(principal))
        return web.json_response(ticket_json(ticket), status=201)

    async def _writer(self, request: web.Request) -> Principal:
        principal = await self._auth.principal(request)
        require(principal, "tickets:write")
        return principal


async def audited_detail(
    queries: TicketQueries, audit: AccessAudit, request: web.Request, principal: Principal
) -> TicketDetail:
    """The ticket of the path's ``{ref}`` with its events and timers, its reading recorded in the
    access audit (the API's and the console's ticket pages); a 404 problem for an unknown one."""
    with desk_errors():
        detail = await queries.detail(request.match_info["ref"])
    ticket = detail.ticket
    await record_access(audit, request, principal, "ticket.read",
                        customer_id=ticket["customer_id"], ticket_id=ticket["id"])  # fmt: skip
    return detail


def ticket_json(t: TicketRow) -> dict[str, Any]:
    """A ticket as the API shows it (``Ticket`` in the spec)."""
    return {
        "ref": f"T-{t['number']}", "number": t["number"], "subject": t["subject"], "status": t["status"],
        "priority": t["priority"], "queue": t["queue"], "tags": list(t["tags"] or []),
        "assignee": t["assignee"],
        "customer_id": t["customer_id"], "conversation_id": t.get("conversation_public_id"),
        "channel": t["channel"], "sla_policy": t["sla_policy"], "csat_score": t["csat_score"],
        "created_at": _time(t["created_at"]), "updated_at": _time(t["updated_at"]),
        "first_reply_at": _time(t["first_reply_at"]), "solved_at": _time(t["solved_at"]),
        "closed_at": _time(t["closed_at"]),
    }  # fmt: skip


def detail_json(detail: TicketDetail) -> dict[str, Any]:
    return {
        **ticket_json(detail.ticket),
        "events": [
            {"id": e["id"], "at": _time(e["created_at"]), "actor": e["actor"], "kind": e["kind"],
             "data": e["data"] or {}}
            for e in detail.events
        ],
        "sla_timers": [
            {"kind": t.kind, "name": t.name, "state": t.state, "due_at": _time(t.due_at),
             "fired_at": _time(t.fired_at), "fired_by": t.fired_by}
            for t in detail.timers
        ],
    }  # fmt: skip


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _actor(principal: Principal) -> str:
    return f"account:{principal.name}"


class desk_errors:
    """Turns the desk's typed errors into problems: what happened and what to do is the message.
    ``invalid``: the status for an invalid value (400 in a query, 422 in a body)."""

    def __init__(self, invalid: int = 422) -> None:
        self._invalid = invalid

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, _tb: Any) -> None:
        if exc is None or not isinstance(exc, TicketError):
            return
        detail = str(exc)
        if isinstance(exc, TicketNotFound):
            raise Problem(404, "Ticket not found", detail, slug="not-found") from None
        if isinstance(exc, InvalidCursor):
            raise Problem(400, "Bad cursor", detail, slug="bad-cursor") from None
        if isinstance(exc, InvalidTransition | NoAgentAvailable):
            raise Problem(409, "Not possible now", detail, slug="conflict") from None
        if isinstance(exc, InvalidValue) and self._invalid == 400:
            raise Problem(400, "Bad query", detail, slug="bad-request") from None
        raise Problem(422, "Cannot apply this", detail, slug="unprocessable") from None


def _bad_query(detail: str) -> Problem:
    return Problem(400, "Bad query", detail, slug="bad-request")


def list_query(params: MultiMapping[str]) -> TicketQuery:
    unknown = sorted(set(params) - _LIST_PARAMS)
    if unknown:
        raise _bad_query(f"unknown query parameter {unknown[0]!r}; known: {', '.join(sorted(_LIST_PARAMS))}")
    for key in _LIST_PARAMS - {"status"}:
        if len(params.getall(key, [])) > 1:
            raise _bad_query(f"{key} given more than once; give it once")
    statuses = [s.strip() for v in params.getall("status", []) for s in v.split(",") if s.strip()]
    if "status" in params and not statuses:
        raise _bad_query("status is empty; give one or more of new, open, pending, on-hold, solved, closed")
    query = TicketQuery(
        status=statuses, queue=_one(params, "queue"), assignee=_one(params, "assignee"),
        priority=_one(params, "priority"), tag=_one(params, "tag"), customer_id=_int(params, "customer"),
        updated_since=_since(params), q=_one(params, "q"), limit=_limit(params),
        cursor=_one(params, "cursor"),
    )  # fmt: skip
    return query


def _limit(params: MultiMapping[str]) -> int:
    value = _one(params, "limit")
    if value is None:
        return 50
    if not value.strip().isdecimal() or not 1 <= int(value) <= MAX_LIMIT:
        raise _bad_query(f"limit must be a whole number between 1 and {MAX_LIMIT}, not {value[:40]!r}")
    return int(value)


def _one(params: MultiMapping[str], key: str) -> str | None:
    value = params.get(key)
    if value is None:
        return None
    if not value.strip():
        raise _bad_query(f"{key} is empty; leave it out or give a value")
    if not storable(value):
        raise _bad_query(f"{key} contains a NUL character or invalid Unicode; send plain text")
    return value


def storable(text: str) -> bool:
    """Whether the databases can take ``text``: PostgreSQL refuses NUL, UTF-8 lone surrogates."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _int(params: MultiMapping[str], key: str) -> int | None:
    value = _one(params, key)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise _bad_query(f"{key} must be a whole number, not {value[:40]!r}") from None
    if not 0 < number < 2**63:
        raise _bad_query(f"{key} must be a positive whole number")
    return number


def _since(params: MultiMapping[str]) -> datetime | None:
    value = _one(params, "updated_since")
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        at = None
    try:
        if at is not None and at.tzinfo is not None:
            return at.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00: not a time in UTC
        pass
    raise _bad_query("updated_since must be an RFC 3339 time with a zone, like 2026-12-01T09:30:00Z")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested too deep
        raise Problem(400, "Bad JSON", "send a JSON object as the request body", slug="bad-request") from None
    if not isinstance(body, dict):
        raise _unprocessable("send a JSON object as the request body")
    return body


def _unprocessable(detail: str) -> Problem:
    return Problem(422, "Invalid body", detail, slug="invalid-body")


def _text(body: Mapping[str, Any]) -> str:
    unknown = sorted(set(body) - {"text"})
    if unknown:
        raise _unprocessable(f'unknown field {unknown[0]!r}; send only {{"text": "..."}}')
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _unprocessable('text must be a non-empty string: {"text": "..."}')
    if not storable(text):
        raise _unprocessable("text contains a NUL character or invalid Unicode; send plain text")
    if len(text) > MAX_TEXT:
        raise _unprocessable(f"text has {len(text)} characters; send at most {MAX_TEXT}")
    return text


def _change(body: Mapping[str, Any]) -> TicketChange:
    unknown = sorted(set(body) - set(_PATCH_FIELDS))
    if unknown:
        raise _unprocessable(f"unknown field {unknown[0]!r}; a change has any of {', '.join(_PATCH_FIELDS)}")
    if not body:
        raise _unprocessable(f"nothing to change; send any of {', '.join(_PATCH_FIELDS)}")
    for key in ("status", "priority", "queue"):
        if key in body and not (isinstance(body[key], str) and body[key].strip() and storable(body[key])):
            raise _unprocessable(f"{key} must be a non-empty string of plain text")
    assignee = body.get("assignee")
    if assignee is not None and not (isinstance(assignee, str) and assignee.strip() and storable(assignee)):
        raise _unprocessable("assignee must be an agent's handle, or null to unassign")
    add, remove = _tags(body.get("tags"))
    return TicketChange(
        status=body.get("status"), priority=body.get("priority"), queue=body.get("queue"),
        set_assignee="assignee" in body, assignee=assignee, add_tags=add, remove_tags=remove,
    )  # fmt: skip


def _tags(value: Any) -> tuple[list[str], list[str]]:
    if value is None:
        return [], []
    shape = 'tags must look like {"add": ["vip"], "remove": ["spam"]}'
    if not isinstance(value, dict) or set(value) - {"add", "remove"}:
        raise _unprocessable(shape)
    lists = [value.get("add", []), value.get("remove", [])]
    for names in lists:
        if not isinstance(names, list) or not all(
            isinstance(n, str) and n.strip() and storable(n) for n in names
        ):
            raise _unprocessable(shape + "; each tag a non-empty string")
        if any(len(n) > 100 for n in names):
            raise _unprocessable("a tag has at most 100 characters")
    return lists[0], lists[1]
