"""``/api/v1/customers``: list and search, the full record, tag and attribute edits, merge, export
and erase, for accounts (``customers:read|write|erase``); the spec is ``bot/openapi/customers.yaml``.

Every read of a customer's personal data (a page of the list, the record, the export, an edit's
answer) writes an access-audit row before the answer leaves; merges and erasures name the
account as their actor, in the ticket trail and in the access audit. A merged record still
answers ``GET`` (with ``merged_into``, so a client holding an old id finds the live one) but
refuses changes with a 409 that names the record to use; an erased record answers with
``erased: true`` and no personal data.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.api_auth import ApiAuth, record_access, require
from bot.api_paging import (
    MAX_ID,
    bad_request,
    decode_cursor,
    encode_cursor,
    path_id,
    query_limit,
    query_text,
    read_json_object,
)
from bot.problem import Problem, problem_handler
from ticketing.access_audit import AccessAudit
from ticketing.customer_admin import CustomerAdmin
from ticketing.customer_edits import CustomerEdits
from ticketing.customer_records import CustomerRecord, CustomerRecords, CustomerSummary
from ticketing.errors import CustomerNotFound, CustomerRetired, InvalidValue

__all__ = ["CustomerApi", "edit_customer", "erase_customer", "found", "jsonable", "merge_customers"]

_BASE = "/api/v1/customers"
_PATCH_EXAMPLE = '{"tags": {"add": ["vip"], "remove": []}, "attributes": {"plan": "gold", "old": null}}'


class CustomerApi:
    def __init__(
        self, *, auth: ApiAuth, audit: AccessAudit, records: CustomerRecords, edits: CustomerEdits,
        admin: CustomerAdmin,
    ) -> None:  # fmt: skip
        self._auth = auth
        self._audit = audit
        self._records = records
        self._edits = edits
        self._admin = admin

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(_BASE, problem_handler(self.search)),
            web.get(_BASE + "/{customer_id}", problem_handler(self.get)),
            web.patch(_BASE + "/{customer_id}", problem_handler(self.patch)),
            web.delete(_BASE + "/{customer_id}", problem_handler(self.erase)),
            web.post(_BASE + "/{customer_id}/merge", problem_handler(self.merge)),
            web.get(_BASE + "/{customer_id}/export", problem_handler(self.export)),
        ]

    async def search(self, request: web.Request) -> web.Response:
        """A page of customers; one ``customer.list`` audit row (names and emails are personal)."""
        principal = await self._auth.principal(request)
        require(principal, "customers:read")
        q = query_text(request, "q", max_chars=200)
        tag = query_text(request, "tag", max_chars=64)
        page = await self._records.search(
            q=q, tag=tag, limit=query_limit(request), before=decode_cursor(request, "before")
        )
        await record_access(self._audit, request, principal, "customer.list")
        after = page.next_before
        return web.json_response({
            "items": [customer_json(c) for c in page.items],
            "next_cursor": encode_cursor("before", after) if after is not None else None,
        })  # fmt: skip

    async def get(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        require(principal, "customers:read")
        customer_id = path_id(request, "customer_id")
        record = await self._find(self._records.record(customer_id))
        await record_access(self._audit, request, principal, "customer.read", customer_id=customer_id)
        return web.json_response(record_json(record))

    async def patch(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        require(principal, "customers:write")
        customer_id = path_id(request, "customer_id")
        body = await read_json_object(request, _PATCH_EXAMPLE)
        unknown = sorted(set(body) - {"tags", "attributes"})
        if unknown:
            raise bad_request(f"unknown field(s) {', '.join(unknown)[:100]}; send tags and/or attributes")
        if not body:
            raise bad_request(f"nothing to change; send tags and/or attributes, e.g. {_PATCH_EXAMPLE}")
        add, remove = _tag_changes(body.get("tags"))
        attributes = body.get("attributes")
        if attributes is not None and not isinstance(attributes, dict):
            raise bad_request(
                'attributes is an object of names to values, e.g. {"plan": "gold", "old": null}'
            )
        summary = await edit_customer(self._edits, customer_id, add, remove, attributes)
        await record_access(self._audit, request, principal, "customer.update", customer_id=customer_id)
        return web.json_response(customer_json(summary))

    async def merge(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        require(principal, "customers:write")
        source_id = path_id(request, "customer_id")
        into = (await read_json_object(request, '{"into": 42}')).get("into")
        if isinstance(into, bool) or not isinstance(into, int) or not 0 < into <= MAX_ID:
            raise bad_request(
                'into is the id of the customer to merge into, a positive whole number: {"into": 42}'
            )
        await merge_customers(self._records, self._admin, source_id, into, actor=f"account:{principal.name}")
        await record_access(self._audit, request, principal, "customer.merge", customer_id=source_id)
        await record_access(self._audit, request, principal, "customer.merge", customer_id=into)
        merged = await self._records.get(into)
        return web.json_response({"merged": source_id, "into": into, "customer": customer_json(merged)})

    async def export(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        require(principal, "customers:read")
        customer_id = path_id(request, "customer_id")
        data = await self._find(self._admin.export(customer_id))
        await record_access(self._audit, request, principal, "customer.export", customer_id=customer_id)
        return web.json_response(
            data, headers={"Content-Disposition": f'attachment; filename="customer-{customer_id}.json"'}
        )

    async def erase(self, request: web.Request) -> web.Response:
        principal = await self._auth.principal(request)
        require(principal, "customers:erase")
        customer_id = path_id(request, "customer_id")
        removed = await erase_customer(
            self._records, self._admin, customer_id, actor=f"account:{principal.name}"
        )
        await record_access(self._audit, request, principal, "customer.erase", customer_id=customer_id)
        return web.json_response({"erased": customer_id, "removed": removed})

    @staticmethod
    async def _find(reading: Any) -> Any:
        return await found(reading)


async def found(reading: Any) -> Any:
    """The read's result; a 404 problem for an unknown customer."""
    try:
        return await reading
    except CustomerNotFound as exc:
        raise _not_found(exc) from None


async def edit_customer(
    edits: CustomerEdits,
    customer_id: int,
    add: list[Any],
    remove: list[Any],
    attributes: dict[str, Any] | None,
) -> CustomerSummary:
    """Tags and attributes changed in one transaction (the API's PATCH, the console's form)."""
    try:
        return await edits.edit(customer_id, add_tags=add, remove_tags=remove, attributes=attributes)
    except CustomerRetired as exc:
        raise _conflict(str(exc)) from None
    except CustomerNotFound as exc:
        raise _not_found(exc) from None
    except InvalidValue as exc:
        raise Problem(422, "Invalid value", str(exc), slug="invalid-value") from None


async def merge_customers(
    records: CustomerRecords, admin: CustomerAdmin, source_id: int, into: int, *, actor: str
) -> None:
    """Merge ``source_id`` into ``into``, both live and different; problems say which to use."""
    _live(await found(records.get(source_id)))
    try:
        target = await records.get(into)
    except CustomerNotFound:
        raise Problem(
            422, "Unknown customer", f"no customer {into} to merge into", slug="invalid-value"
        ) from None
    if target.merged_into is not None:
        raise _conflict(f"customer {into} was merged into {target.merged_into}; merge into that one")
    if target.erased_at is not None:
        raise _conflict(f"customer {into} was erased; merge into a live record")
    if into == source_id:
        raise Problem(422, "Invalid value", "cannot merge a customer into itself", slug="invalid-value")
    try:
        await admin.merge(source_id, into, actor=actor)
    except CustomerNotFound as exc:  # merged or erased meanwhile
        raise _conflict(str(exc)) from None
    except InvalidValue as exc:
        raise Problem(422, "Invalid value", str(exc), slug="invalid-value") from None


async def erase_customer(
    records: CustomerRecords, admin: CustomerAdmin, customer_id: int, *, actor: str
) -> Any:
    """Erase a live customer; returns what was removed."""
    _live(await found(records.get(customer_id)))
    try:
        return await admin.erase(customer_id, actor=actor)
    except CustomerNotFound as exc:  # merged meanwhile
        raise _conflict(str(exc)) from None


def customer_json(c: CustomerSummary) -> dict[str, Any]:
    """The customer as the API shows it (``Customer`` in the spec)."""
    return {
        "id": c.id, "display_name": c.display_name, "email": c.email, "claimed_email": c.claimed_email,
        "phone": c.phone, "tags": list(c.tags), "attributes": c.attributes,
        "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat(),
        "erased": c.erased_at is not None, "erased_at": _iso(c.erased_at), "merged_into": c.merged_into,
    }  # fmt: skip


def record_json(r: CustomerRecord) -> dict[str, Any]:
    """The full record (``CustomerRecord`` in the spec): the customer's fields and its history."""
    return {
        **customer_json(r.customer),
        "merged_from": list(r.merged_from),
        "identities": [jsonable(asdict(i)) for i in r.identities],
        "conversations": [jsonable(asdict(c)) for c in r.conversations],
        "conversations_total": r.conversations_total,
        "tickets": [jsonable(asdict(t)) for t in r.tickets],
        "tickets_total": r.tickets_total,
        "csat": [jsonable(asdict(a)) for a in r.csat],
    }


def jsonable(value: Any) -> Any:
    """Datetimes as RFC 3339 strings, tuples as lists, all the way down."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _tag_changes(tags: Any) -> tuple[list[Any], list[Any]]:
    if tags is None:
        return [], []
    if not isinstance(tags, dict) or set(tags) - {"add", "remove"}:
        raise bad_request('tags is {"add": [...], "remove": [...]} (either may be left out)')
    add, remove = tags.get("add", []), tags.get("remove", [])
    if not isinstance(add, list) or not isinstance(remove, list):
        raise bad_request('tags.add and tags.remove are lists of tag names, e.g. {"add": ["vip"]}')
    return add, remove


def _live(customer: CustomerSummary) -> None:
    if customer.merged_into is not None:
        raise _conflict(f"customer {customer.id} was merged into {customer.merged_into}; use that id")
    if customer.erased_at is not None:
        raise _conflict(
            f"customer {customer.id} was erased on {customer.erased_at:%Y-%m-%d}; nothing is left to change"
        )


def _conflict(detail: str) -> Problem:
    return Problem(409, "Conflict", detail, slug="conflict")


def _not_found(exc: CustomerNotFound) -> Problem:
    return Problem(404, "Not found", f"{exc}; list customers with GET {_BASE}", slug="not-found")
