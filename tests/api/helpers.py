"""The real app with a loopback channel, tickets opened through its own turn writer, and a
check of answers against the OpenAPI fragments in ``bot/openapi/``."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.app import App, AppOverrides
from core.roles import Role
from tests.accounts.helpers import account_with_token, bearer
from tests.conftest import AppFactory
from tests.webchat.helpers import FlakyChannel
from ticketing.customers import ConversationRef
from ticketing.turns import InboundRecord, Plan, TicketDraft, Turn

SPEC = Path(__file__).resolve().parents[2] / "bot" / "openapi" / "tickets.yaml"
_FRAGMENT = "urn:frontdesk:openapi:tickets"
_keys = itertools.count(1)


class Api:
    """The app, its loopback channel, and a bearer token for each role."""

    def __init__(self, app: App, client: TestClient, channel: FlakyChannel, tokens: dict[Role, str]) -> None:
        self.app, self.client, self.channel, self.tokens = app, client, channel, tokens
        self.refs: dict[int, ConversationRef] = {}  # ticket number → its conversation

    def auth(self, role: Role = Role.AGENT) -> dict[str, str]:
        return bearer(self.tokens[role])

    async def get(self, path: str, role: Role = Role.AGENT, **params: Any) -> ClientResponse:
        return await self.client.get(path, params=params, headers=self.auth(role))

    async def open_ticket(
        self, text: str, *, user: str | None = None, queue: str = "support", priority: str = "normal",
        tags: tuple[str, ...] = (),
    ) -> int:  # fmt: skip
        """A customer message on the loopback channel that opens a ticket (its subject: ``text``),
        through the app's batched turn writer; returns the ticket number."""
        n = next(_keys)
        ref = await self.app.customers.resolve("loopback", user or f"user{n}", f"thread{n}")

        def plan(_state: Any, take: Any) -> Plan:
            draft = TicketDraft(
                number=take(), subject=text, actor="rule:test", queue=queue, priority=priority, tags=tags
            )
            return Plan(analysis=None, open_ticket=draft)

        record = InboundRecord(ref, "loopback", f"api-key-{n}", text, datetime.now(UTC))
        result = await self.app.turns.record(Turn(record, plan))
        assert result.ticket_number is not None
        self.refs[result.ticket_number] = ref
        return result.ticket_number

    async def say(self, number: int, text: str) -> None:
        """Another customer message on the conversation of ticket ``number``; it joins the ticket."""
        n = next(_keys)
        record = InboundRecord(self.refs[number], "loopback", f"api-say-{n}", text, datetime.now(UTC))
        result = await self.app.turns.record(Turn(record, lambda _state, _take: Plan(analysis=None)))
        assert not result.refused and not result.duplicate, result


async def start_api(database_url: str, make_client: AppFactory) -> Api:
    channel = FlakyChannel("loopback")
    app, client = await make_client(
        database_url, overrides=AppOverrides(connectors={"loopback": channel}, outbox_sweep_interval=0.05)
    )
    tokens = {role: await account_with_token(app, f"{role.value}1", role) for role in Role}
    return Api(app, client, channel, tokens)


def validator(schema_name: str) -> Draft202012Validator:
    """A JSON Schema validator for ``#/components/schemas/<schema_name>`` of tickets.yaml;
    the fragment's own ``$ref``s resolve within it (OpenAPI 3.1 schemas are JSON Schema 2020-12)."""
    document = yaml.safe_load(SPEC.read_text())
    registry: Registry[Any] = Registry().with_resource(
        _FRAGMENT, Resource(document, specification=DRAFT202012)
    )
    schema = {"$ref": f"{_FRAGMENT}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


async def problem(resp: ClientResponse, status: int) -> dict[str, Any]:
    assert resp.status == status, (resp.status, await resp.text())
    assert resp.content_type == "application/problem+json"
    body: dict[str, Any] = await resp.json()
    assert body["status"] == status and body["type"].startswith("urn:frontdesk:problem:")
    assert body["title"] and body["detail"]
    return body
