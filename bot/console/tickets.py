"""``/console/tickets``: the ticket list with filters and search, one ticket with its whole
transcript, events and SLA timers, and the agent's actions on it.

Reads go through the REST API's :class:`~ticketing.ticket_queries.TicketQueries` with the API's
own query validation, changes through :class:`~ticketing.tickets.TicketDesk` as
``account:<name>``, so the console can do exactly what the API can, checked by the same roles.
Every change answers with a redirect back to the ticket (post/redirect/get), or with the ticket
page and what to fix (409/422). Reading a ticket is recorded in the access audit, as in the API.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDict

from bot.api_auth import Principal
from bot.api_tickets import MAX_TEXT, audited_detail, desk_errors, list_query, storable
from bot.console.pages import BASE, Pages
from bot.problem import Problem
from ticketing.access_audit import AccessAudit
from ticketing.ticket_queries import TicketQueries
from ticketing.tickets import TicketChange, TicketDesk
from ticketing.transcripts import Transcripts

__all__ = ["TicketPages"]

STATUSES = ("new", "open", "pending", "on-hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
_FILTERS = ("status", "queue", "assignee", "priority", "tag", "q", "cursor")


class TicketPages:
    def __init__(
        self,
        *,
        pages: Pages,
        desk: TicketDesk,
        queries: TicketQueries,
        transcripts: Transcripts,
        audit: AccessAudit,
    ) -> None:
        self._pages = pages
        self._desk = desk
        self._queries = queries
        self._transcripts = transcripts
        self._audit = audit

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{BASE}/tickets", self.list_page),
            web.get(f"{BASE}/tickets/{{ref}}", self.ticket_page),
            web.post(f"{BASE}/tickets/{{ref}}/reply", self.reply),
            web.post(f"{BASE}/tickets/{{ref}}/note", self.note),
            web.post(f"{BASE}/tickets/{{ref}}/update", self.update),
        ]

    async def list_page(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "tickets:read")
        given = {k: v.strip() for k, v in request.query.items() if k in _FILTERS and v.strip()}
        unknown = sorted(set(request.query) - set(_FILTERS))
        context: dict[str, Any] = {
            "filters": given,
            "statuses": STATUSES,
            "priorities": PRIORITIES,
            "items": [],
            "next_cursor": None,
            "next_query": {},
            "error": None,
        }
        status = 200
        try:
            if unknown:
                raise Problem(
                    400, "Bad filter", f"unknown filter {unknown[0]!r}; use the form", slug="bad-request"
                )
            with desk_errors(invalid=400):
                page = await self._queries.page(list_query(MultiDict(given)))
            following = {k: v for k, v in given.items() if k != "cursor"} | {"cursor": page.next_cursor or ""}
            context.update(items=page.items, next_cursor=page.next_cursor, next_query=following)
        except Problem as problem:
            context["error"], status = problem.detail, problem.status
        return self._pages.render("tickets.html", request, context, principal=principal, status=status)

    async def ticket_page(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "tickets:read")
        return await self._ticket(request, principal, error=None, status=200)

    async def _ticket(
        self, request: web.Request, principal: Principal, *, error: str | None, status: int
    ) -> web.Response:
        try:
            detail = await audited_detail(self._queries, self._audit, request, principal)
        except Problem as problem:
            raise self._pages.error(
                request, problem.status, problem.title, problem.detail, principal=principal
            ) from None
        ticket = detail.ticket
        transcript = await self._transcripts.of_ticket(ticket["id"], ticket["conversation_id"])
        context = {
            "ticket": ticket,
            "ref": f"T-{ticket['number']}",
            "events": detail.events,
            "timers": detail.timers,
            "transcript": transcript,
            "statuses": STATUSES,
            "priorities": PRIORITIES,
            "can_write": principal.may("tickets:write"),
            "error": error,
        }
        return self._pages.render("ticket.html", request, context, principal=principal, status=status)

    async def reply(self, request: web.Request) -> web.Response:
        return await self._act(request, "reply")

    async def note(self, request: web.Request) -> web.Response:
        return await self._act(request, "note")

    async def update(self, request: web.Request) -> web.Response:
        return await self._act(request, "update")

    async def _act(self, request: web.Request, action: str) -> web.Response:
        form = await self._pages.form(request)
        principal = await self._pages.viewer(
            request, "tickets:write", csrf=str(form.get("csrf_token", "")) or None
        )
        ref, actor = request.match_info["ref"], f"account:{principal.name}"
        try:
            with desk_errors():
                if action == "update":
                    await self._desk.update(ref, _change(form), actor=actor)
                elif action == "reply":
                    await self._desk.reply(ref, _text(form), agent=principal.name, actor=actor)
                else:
                    await self._desk.note(ref, _text(form), actor=actor)
        except Problem as problem:
            if problem.status == 404:
                raise self._pages.error(
                    request, 404, problem.title, problem.detail, principal=principal
                ) from None
            return await self._ticket(request, principal, error=problem.detail, status=problem.status)
        raise web.HTTPSeeOther(f"{BASE}/tickets/{ref}")


def _unprocessable(detail: str) -> Problem:
    return Problem(422, "Cannot apply this", detail, slug="unprocessable")


def _text(form: Any) -> str:
    text = str(form.get("text", ""))
    if not text.strip():
        raise _unprocessable("write the message first: it is empty")
    if not storable(text):
        raise _unprocessable("the text contains a NUL character or invalid Unicode; send plain text")
    if len(text) > MAX_TEXT:
        raise _unprocessable(f"the text has {len(text)} characters; send at most {MAX_TEXT}")
    return text


def _change(form: Any) -> TicketChange:
    """The form's fields as a change: unchanged selects are left out, tags are comma-separated."""

    def value(key: str) -> str | None:
        given = str(form.get(key, "")).strip()
        if given and not storable(given):
            raise _unprocessable(f"{key} contains a NUL character or invalid Unicode")
        return given or None

    add = [t.strip() for t in (value("add_tags") or "").split(",") if t.strip()]
    remove = [t.strip() for t in (value("remove_tags") or "").split(",") if t.strip()]
    if any(len(t) > 100 for t in add + remove):
        raise _unprocessable("a tag has at most 100 characters")
    assignee = value("assignee")
    unassign = form.get("unassign") == "1"
    change = TicketChange(
        status=value("status"),
        priority=value("priority"),
        queue=value("queue"),
        set_assignee=assignee is not None or unassign,
        assignee=None if unassign else assignee,
        add_tags=tuple(add),
        remove_tags=tuple(remove),
    )
    if change == TicketChange():
        raise _unprocessable("nothing to change: pick a new status, priority, queue, assignee or tags")
    return change
