"""Shared by the customer, conversation and rulebook API tests: callers of every role, problem
answers, and the check that an answer matches its schema in ``bot/openapi/customers.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from aiohttp import ClientResponse
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from bot.app import App
from core.roles import Role
from tests.accounts.helpers import INSECURE, account_with_token, bearer
from tests.conftest import ROOT
from tests.webchat.helpers import rows
from ticketing.access_audit import AccessEvent

#: Generous rate limits (these tests send many requests per token), no SLA scheduler.
FAST = INSECURE + "api:\n  requests_per_minute: 1000000\n  burst: 100000\ntickets:\n  scheduler: false\n"
SPEC = ROOT / "bot" / "openapi" / "customers.yaml"


@dataclass(frozen=True)
class Callers:
    admin: dict[str, str]
    agent: dict[str, str]
    viewer: dict[str, str]


async def callers(app: App) -> Callers:
    made = {role: bearer(await account_with_token(app, f"{role.value}-1", role)) for role in Role}
    return Callers(admin=made[Role.ADMIN], agent=made[Role.AGENT], viewer=made[Role.VIEWER])


async def problem(resp: ClientResponse, status: int, *, says: str = "") -> dict[str, Any]:
    """The answer is a problem+json of ``status`` whose detail contains ``says``."""
    assert resp.status == status, (resp.method, str(resp.url), await resp.text())
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    assert body["status"] == status and body["type"].startswith("urn:frontdesk:problem:")
    assert body["title"] and body["detail"]
    assert says in body["detail"], body
    return body


@cache
def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(Path(SPEC).read_text())
    return loaded


def conforms(body: Any, operation_id: str, status: str = "200") -> Any:
    """Validate ``body`` against the fragment's schema for that operation's answer."""
    spec = _spec()
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                root = {**schema, "components": spec["components"]}  # so #/components/... resolves
                Draft202012Validator(root, format_checker=FormatChecker()).validate(body)
                return body
    raise AssertionError(f"no operation {operation_id} in {SPEC}")


async def ok(resp: ClientResponse, operation_id: str) -> Any:
    """A 200 answer that matches its schema; its JSON."""
    assert resp.status == 200, (resp.method, str(resp.url), await resp.text())
    return conforms(await resp.json(), operation_id)


async def audit_actions(app: App, customer_id: int) -> list[tuple[str, str]]:
    """(action, actor) of the access-audit rows about a customer, oldest first."""
    found = await rows(
        app.engine,
        select(AccessEvent.action, AccessEvent.actor)
        .where(AccessEvent.customer_id == customer_id)
        .order_by(AccessEvent.id),
    )
    return [(a, b) for a, b in found]
