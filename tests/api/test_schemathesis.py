"""Schemathesis against the live app over loopback, on SQLite and PostgreSQL: every operation of
the merged OpenAPI document, seeded and bounded, with an admin token. Zero server errors, zero
answers outside the document (status, content type, headers, body schema) and no ERROR line or
traceback in the server's log. It belongs to the reliability suite too (marker ``reliability``).

Reproduce one failure: the report prints the request as a curl command; replay it against
``frontdesk serve`` with a token from ``frontdesk tokens create``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bot.api_spec import load_spec
from tests.api.live import LiveApp, serve
from tests.conftest import PG_URL, _pg_admin, _run
from ticketing.database import upgrade

pytestmark = pytest.mark.reliability

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 20  # per operation and mode; derandomized, so every run sends the same requests

schema = schemathesis.openapi.from_dict(load_spec())
# Both requests that fit the document and ones that break it: a client's mistake must be a
# declared 4xx, never a 5xx. NUL characters too (PostgreSQL cannot store them: a 400, not a 500).
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], allow_x00=True)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    tmp = tmp_path_factory.mktemp(f"schemathesis-{request.param}")
    dropped = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'frontdesk.db'}"
        _run(upgrade(url))
    else:
        template = request.getfixturevalue("pg_template")
        dropped = f"fd_st_{secrets.token_hex(4)}"
        _run(_pg_admin(f'CREATE DATABASE "{dropped}" TEMPLATE "{template}"'))
        url = PG_URL.rsplit("/", 1)[0] + "/" + dropped
    app = serve(url, Path(tmp))
    try:
        yield app
    finally:
        app.close()
        if dropped is not None:
            _run(_pg_admin(f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)'))


def test_seeded_resources_conform(live: LiveApp) -> None:
    """Random ids rarely name a real row, so every GET with path parameters (and the retry of a
    dead delivery) is also called with the seeded ticket, customer, conversation and delivery.
    Defined before the fuzzing, so it runs first (the fuzzer may retry that delivery)."""
    called = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid operation fails test_spec
        names = {p.name for p in operation.path_parameters}
        if not names or not names <= set(live.seeded):
            continue
        if operation.method.upper() != "GET" and not operation.path.endswith("/retry"):
            continue
        case = operation.Case(path_parameters={n: live.seeded[n] for n in names})
        response = case.call_and_validate(
            base_url=live.url, headers={"Authorization": f"Bearer {live.token}"}, checks=CHECKS, timeout=30
        )
        assert response.status_code < 300, (operation.label, response.text[:300])
        called.append(operation.label)
    assert "POST /api/v1/webhooks/deliveries/{id}/retry" in called
    assert not live.errors.records, "the server logged errors:\n" + "\n".join(live.errors.records)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms(case: schemathesis.Case[Any], live: LiveApp) -> None:
    before = len(live.errors.records)
    case.call_and_validate(
        base_url=live.url, headers={"Authorization": f"Bearer {live.token}"}, checks=CHECKS, timeout=30
    )
    logged = live.errors.records[before:]
    assert not logged, "the server logged errors:\n" + "\n".join(logged)
