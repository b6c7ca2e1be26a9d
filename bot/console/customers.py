"""``/console/customers``: search, the full record, tag and attribute edits, merge, export and
erase, and a conversation's transcript.

The same services and checks as the REST API's customer endpoints (:mod:`bot.api_customers`):
``customers:read`` to look, ``customers:write`` to edit and merge, ``customers:erase`` (admins) to
erase. Merge and erase ask for a confirmation typed into the form (the record's id), so a slip of
the mouse cannot destroy a record; every read and change is written to the access audit.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.api_auth import Principal, record_access
from bot.api_customers import edit_customer, erase_customer, found, merge_customers
from bot.api_tickets import storable
from bot.console.pages import BASE, Pages
from bot.problem import Problem
from ticketing.access_audit import AccessAudit
from ticketing.customer_admin import CustomerAdmin
from ticketing.customer_edits import CustomerEdits
from ticketing.customer_records import CustomerRecords
from ticketing.transcripts import Transcripts

__all__ = ["CustomerPages"]

_MAX_ID = 2**63 - 1
_ACTIONS = {"edit": "customers:write", "merge": "customers:write", "erase": "customers:erase"}


class CustomerPages:
    def __init__(
        self,
        *,
        pages: Pages,
        records: CustomerRecords,
        edits: CustomerEdits,
        admin: CustomerAdmin,
        transcripts: Transcripts,
        audit: AccessAudit,
    ) -> None:
        self._pages = pages
        self._records = records
        self._edits = edits
        self._admin = admin
        self._transcripts = transcripts
        self._audit = audit

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{BASE}/customers", self.search),
            web.get(f"{BASE}/customers/{{customer_id}}", self.record),
            web.get(f"{BASE}/customers/{{customer_id}}/export", self.export),
            web.post(f"{BASE}/customers/{{customer_id}}/{{action}}", self.act),
            web.get(f"{BASE}/conversations/{{public_id}}", self.conversation),
        ]

    async def search(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "customers:read")
        q = (request.query.get("q") or "").strip()[:200] or None
        tag = (request.query.get("tag") or "").strip()[:64] or None
        context: dict[str, Any] = {
            "q": q or "",
            "tag": tag or "",
            "items": (),
            "next_before": None,
            "error": None,
        }
        status = 200
        try:
            before = _id(request.query.get("before"), "before") if request.query.get("before") else None
            for value in (q, tag):
                if value is not None and not storable(value):
                    raise _bad("the search contains a NUL character or invalid Unicode; type plain text")
            page = await self._records.search(q=q, tag=tag, limit=50, before=before)
            await record_access(self._audit, request, principal, "customer.list")
            context.update(items=page.items, next_before=page.next_before)
        except Problem as problem:
            context["error"], status = problem.detail, problem.status
        return self._pages.render("customers.html", request, context, principal=principal, status=status)

    async def record(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "customers:read")
        return await self._record(request, principal, error=None, status=200)

    async def _record(
        self, request: web.Request, principal: Principal, *, error: str | None, status: int
    ) -> web.Response:
        customer_id = self._customer_id(request, principal)
        try:
            record = await found(self._records.record(customer_id))
        except Problem as problem:
            raise self._pages.error(
                request, 404, problem.title, problem.detail, principal=principal
            ) from None
        await record_access(self._audit, request, principal, "customer.read", customer_id=customer_id)
        context = {
            "record": record,
            "c": record.customer,
            "may_write": principal.may("customers:write"),
            "may_erase": principal.may("customers:erase"),
            "attributes_text": "\n".join(f"{k}={v}" for k, v in sorted(record.customer.attributes.items())),
            "error": error,
        }
        return self._pages.render("customer.html", request, context, principal=principal, status=status)

    async def export(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "customers:read")
        customer_id = self._customer_id(request, principal)
        try:
            data = await found(self._admin.export(customer_id))
        except Problem as problem:
            raise self._pages.error(
                request, 404, problem.title, problem.detail, principal=principal
            ) from None
        await record_access(self._audit, request, principal, "customer.export", customer_id=customer_id)
        return web.Response(
            text=json.dumps(data, ensure_ascii=False, indent=2),
            content_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="customer-{customer_id}.json"',
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def act(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in _ACTIONS:
            raise self._pages.error(request, 404, "Not found", f"customer actions are {', '.join(_ACTIONS)}")
        form = await self._pages.form(request)
        principal = await self._pages.viewer(
            request, _ACTIONS[action], csrf=str(form.get("csrf_token", "")) or None
        )
        customer_id = self._customer_id(request, principal)
        actor = f"account:{principal.name}"
        try:
            if action == "edit":
                current = await found(self._records.get(customer_id))
                add, remove, attributes = _edits(form, current.attributes)
                await edit_customer(self._edits, customer_id, add, remove, attributes)
                await record_access(
                    self._audit, request, principal, "customer.update", customer_id=customer_id
                )
                raise web.HTTPSeeOther(f"{BASE}/customers/{customer_id}")
            _confirmed(form, customer_id)
            if action == "merge":
                into = _id(str(form.get("into", "")).strip(), "the record to merge into")
                await merge_customers(self._records, self._admin, customer_id, into, actor=actor)
                for one in (customer_id, into):
                    await record_access(self._audit, request, principal, "customer.merge", customer_id=one)
                raise web.HTTPSeeOther(f"{BASE}/customers/{into}")
            await erase_customer(self._records, self._admin, customer_id, actor=actor)
            await record_access(self._audit, request, principal, "customer.erase", customer_id=customer_id)
            raise web.HTTPSeeOther(f"{BASE}/customers/{customer_id}")
        except Problem as problem:
            if problem.status == 404:
                raise self._pages.error(
                    request, 404, problem.title, problem.detail, principal=principal
                ) from None
            return await self._record(request, principal, error=problem.detail, status=problem.status)

    async def conversation(self, request: web.Request) -> web.Response:
        principal = await self._pages.viewer(request, "customers:read")
        public_id = request.match_info["public_id"]
        info = await self._transcripts.conversation(public_id) if len(public_id) <= 40 else None
        if info is None:
            raise self._pages.error(
                request, 404, "Not found", f"no conversation {public_id[:40]!r}", principal=principal
            )
        entries = await self._transcripts.page(info.id, limit=1000)
        await record_access(
            self._audit, request, principal, "conversation.read", customer_id=info.customer_id
        )
        context = {"info": info, "transcript": entries, "more": len(entries) == 1000}
        return self._pages.render("conversation.html", request, context, principal=principal)

    def _customer_id(self, request: web.Request, principal: Principal) -> int:
        try:
            return _id(request.match_info["customer_id"], "a customer id")
        except Problem as problem:
            raise self._pages.error(request, 404, "Not found", problem.detail, principal=principal) from None


def _bad(detail: str) -> Problem:
    return Problem(400, "Bad request", detail, slug="bad-request")


def _id(value: str | None, what: str) -> int:
    text = (value or "").strip()
    if not text.isdecimal() or not 0 < int(text) <= _MAX_ID:
        raise Problem(422, "Invalid value", f"{what} is a customer's number, like 42", slug="invalid-value")
    return int(text)


def _confirmed(form: Any, customer_id: int) -> None:
    if str(form.get("confirm", "")).strip() != str(customer_id):
        raise Problem(
            422,
            "Not confirmed",
            f"type the customer's number ({customer_id}) into the confirmation box to go on",
            slug="not-confirmed",
        )


def _edits(form: Any, held: dict[str, Any]) -> tuple[list[str], list[str], dict[str, Any] | None]:
    """Tags to add and remove (comma-separated) and attributes (``name=value`` lines; a name
    with nothing after ``=`` is removed; the box holds every attribute, so a deleted line removes it)."""

    def names(key: str) -> list[str]:
        return [t.strip() for t in str(form.get(key, "")).split(",") if t.strip()]

    add, remove = names("add_tags"), names("remove_tags")
    attributes: dict[str, Any] | None = None
    if "attributes" in form:
        given: dict[str, Any] = {}
        for number, line in enumerate(str(form["attributes"]).splitlines(), 1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise Problem(
                    422, "Invalid value", f"attributes line {number}: write name=value", slug="invalid-value"
                )
            given[name.strip()] = value.strip() or None
        # Only what changed: an untouched value keeps its type (the box shows numbers as text).
        changed = {k: v for k, v in given.items() if k not in held or v is None or str(held[k]) != v}
        attributes = {**{k: None for k in set(held) - set(given)}, **changed} or None
    for text in [*add, *remove, *(attributes or {})]:
        if not storable(text):
            raise Problem(
                422,
                "Invalid value",
                "a tag or attribute contains a NUL character or invalid Unicode",
                slug="invalid-value",
            )
    return add, remove, attributes
