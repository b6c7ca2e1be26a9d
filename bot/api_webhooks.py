"""``/api/v1/webhooks``: outgoing webhook subscriptions and their deliveries, for admins.

The same storage calls as ``frontdesk webhooks`` (``ticketing/webhooks.py``: ``Subscriptions``,
``WebhookDeliveries``) and the same checks as config.yaml's entries
(:class:`~bot.webhook_settings.WebhookSubscriptionSettings`), so the API cannot store what the
file would refuse. **config.yaml and the API share one table**, told apart by ``source``: the
file owns its names (each start re-writes them, and disables those no longer in it), so the API
refuses to create over, or delete, an enabled ``config`` subscription (409: edit the file). A
name the file later takes over from the API becomes the file's at the next start. A removed
subscription is disabled, not deleted, so its deliveries stay listed; creating its name again
enables the same row (same id) with the new url, events and secret.

Every handler checks ``webhooks:admin`` before it reads its input, so a caller without it gets
403 whatever it sent. A secret is answered only once: in the 201 of a POST that did not send
one (the server generated it); nothing lists secrets.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import ValidationError

from bot.api_auth import ApiAuth, require
from bot.problem import Problem, problem_handler
from bot.webhook_settings import WebhookSubscriptionSettings
from bot.webhook_signing import new_secret
from ticketing.webhooks import DeliveryRow, Subscription, Subscriptions, WebhookDeliveries

__all__ = ["WebhookRoutes"]

PERMISSION = "webhooks:admin"
STATES = ("pending", "sending", "sent", "dead")
_FIELDS = frozenset({"name", "url", "events", "secret"})
_HOOKS = "/api/v1/webhooks"
_MAX_ID = 2**63 - 1  # BIGINT; a larger number is no row (and would overflow the driver)


class WebhookRoutes:
    def __init__(self, *, auth: ApiAuth, subscriptions: Subscriptions, deliveries: WebhookDeliveries) -> None:
        self._auth = auth
        self._subscriptions = subscriptions
        self._deliveries = deliveries

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/api/v1/webhooks", problem_handler(self.list_subscriptions)),
            web.post("/api/v1/webhooks", problem_handler(self.create_subscription)),
            web.get("/api/v1/webhooks/deliveries", problem_handler(self.list_deliveries)),
            web.post("/api/v1/webhooks/deliveries/{id}/retry", problem_handler(self.retry_delivery)),
            web.delete("/api/v1/webhooks/{id}", problem_handler(self.delete_subscription)),
        ]

    async def _admin(self, request: web.Request) -> None:
        require(await self._auth.principal(request), PERMISSION)

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        await self._admin(request)
        subs = await self._subscriptions.all()
        return web.json_response({"items": [_subscription(s) for s in subs]})

    async def create_subscription(self, request: web.Request) -> web.Response:
        await self._admin(request)
        body = await _json_object(request)
        unknown = sorted(set(body) - _FIELDS)
        if unknown:
            raise _unprocessable(f"unknown field(s) {', '.join(unknown)}; send name, url, events and secret")
        generated = "secret" not in body or body["secret"] is None
        secret = new_secret() if generated else body["secret"]
        try:
            wanted = WebhookSubscriptionSettings.model_validate({**body, "secret": secret})
        except ValidationError as exc:
            raise _unprocessable(_messages(exc)) from None
        _check_url(wanted.url)
        existing = {s.name: s for s in await self._subscriptions.all()}.get(wanted.name)
        written = existing is None or not existing.enabled
        if written:  # only_new: a caller creating the same name meanwhile wins, this one gets the 409
            written = await self._subscriptions.put(
                name=wanted.name, url=wanted.url, secret=secret, events=list(wanted.events), only_new=True
            )
            existing = {s.name: s for s in await self._subscriptions.all()}.get(wanted.name)
        if not written and existing is not None:
            fix = "edit config.yaml" if existing.source == "config" else f"DELETE {_HOOKS}/{existing.id}"
            raise Problem(
                409, "Subscription exists",
                f"a subscription named {wanted.name} exists ({existing.source}); "
                f"choose another name or {fix}",
                slug="conflict",
            )  # fmt: skip
        assert existing is not None, "written just now"
        answer = _subscription(existing)
        if generated:
            answer["secret"] = secret  # shown this once; sign-checking receivers need it
        return web.json_response(answer, status=201)

    async def delete_subscription(self, request: web.Request) -> web.Response:
        await self._admin(request)
        sub_id = _path_id(request, "subscription", "GET /api/v1/webhooks")
        found = next((s for s in await self._subscriptions.all() if s.id == sub_id), None)
        if found is None or not found.enabled:
            state = "was already removed" if found is not None else "does not exist"
            raise Problem(404, "Not found", f"subscription {sub_id} {state}; GET /api/v1/webhooks lists them",
                          slug="not-found")  # fmt: skip
        if found.source == "config":
            raise Problem(
                409, "Subscription is config.yaml's",
                f"{found.name} comes from config.yaml: remove it there and restart "
                "(or run any frontdesk webhooks command)",
                slug="conflict",
            )  # fmt: skip
        await self._subscriptions.remove(found.name)
        return web.Response(status=204)

    async def list_deliveries(self, request: web.Request) -> web.Response:
        await self._admin(request)
        query = request.query
        states = [s.strip() for value in query.getall("state", []) for s in value.split(",") if s.strip()]
        wrong = sorted(set(states) - set(STATES))
        if wrong:
            raise _bad_query(f"state must be one of {', '.join(STATES)}, not {', '.join(wrong)}")
        limit = _query_int(query, "limit", default=50, low=1, high=200) or 50
        before = _query_int(query, "cursor", default=None, low=1, high=_MAX_ID)
        rows = await self._deliveries.rows(states=states, limit=limit, before=before)
        more = len(rows) == limit
        return web.json_response(
            {"items": [_delivery(r) for r in rows], "next_cursor": str(rows[-1].id) if more else None}
        )

    async def retry_delivery(self, request: web.Request) -> web.Response:
        await self._admin(request)
        row_id = _path_id(request, "delivery", "GET /api/v1/webhooks/deliveries")
        found = await self._deliveries.rows(ids=[row_id], limit=1)
        if not found:
            raise Problem(
                404, "Not found",
                f"delivery {row_id} does not exist (or was erased); "
                f"GET {_HOOKS}/deliveries?state=dead lists dead ones",
                slug="not-found",
            )  # fmt: skip
        if found[0].state != "dead" or not await self._deliveries.retry([row_id]):
            raise Problem(
                409, "Not dead",
                f"delivery {row_id} is {found[0].state}; only dead deliveries are retried "
                "(for sent ones: frontdesk webhooks replay)",
                slug="conflict",
            )  # fmt: skip
        # What retry() wrote; read back, a dispatcher might already be sending it.
        queued = dataclasses.replace(found[0], state="pending", attempts=0, last_error=None)
        return web.json_response(_delivery(queued), status=202)


def _subscription(s: Subscription) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "url": s.url, "events": sorted(s.events), "source": s.source,
            "enabled": s.enabled}  # fmt: skip


def _delivery(r: DeliveryRow) -> dict[str, Any]:
    return {
        "id": r.id, "webhook_id": r.msg_id, "subscription": r.subscription, "event_type": r.event_type,
        "state": r.state, "attempts": r.attempts, "last_error": r.last_error,
        "created_at": r.created_at.isoformat(), "sent_at": r.sent_at.isoformat() if r.sent_at else None,
    }  # fmt: skip


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested beyond the parser
        body = None
    if not isinstance(body, dict):
        raise Problem(400, "Bad request", 'send a JSON object, e.g. {"name": "crm", "url": "https://…", '
                      '"events": ["ticket.created"]}', slug="bad-request")  # fmt: skip
    return body


def _check_url(url: str) -> None:
    """What the table can hold and the dispatcher can POST to: a host, no spaces or controls."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not host or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise _unprocessable(f"url: {url[:100]!r} is not an http(s) URL with a host")


def _messages(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _path_id(request: web.Request, what: str, lister: str) -> int:
    text = request.match_info["id"]
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= _MAX_ID:
        raise Problem(404, "Not found", f"no {what} {text[:40]!r}: ids are whole numbers, from {lister}",
                      slug="not-found")  # fmt: skip
    return int(text)


def _query_int(query: Any, key: str, *, default: int | None, low: int, high: int) -> int | None:
    if key not in query:
        return default
    text = query[key]
    if not (text.isascii() and text.strip().isdigit()) or not low <= int(text) <= high:
        raise _bad_query(f"{key} must be a whole number from {low} to {high}")
    return int(text)


def _bad_query(detail: str) -> Problem:
    return Problem(400, "Bad query", detail, slug="bad-request")


def _unprocessable(detail: str) -> Problem:
    return Problem(422, "Invalid subscription", detail, slug="unprocessable")
