"""The merged OpenAPI document: valid OpenAPI 3.1, every operation named, secured and given a
permission the role table knows, served as is; and fragments that clash fail at start."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from bot.api_spec import SPEC_PATH, SpecError, load_spec, merge, operations
from core.roles import PERMISSIONS
from tests.conftest import AppFactory

SECURED: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]


def test_the_merged_document_is_valid_openapi_3_1() -> None:
    doc = load_spec()
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # openapi-spec-validator picks the 3.1 schema from the version


def test_every_operation_has_an_id_security_and_a_known_permission() -> None:
    doc = load_spec()
    ops = operations(doc)
    assert ("GET", SPEC_PATH) in {(m, p) for m, p, _ in ops} and len(ops) >= 11
    ids = [op.get("operationId") for _m, _p, op in ops]
    assert all(ids) and len(set(ids)) == len(ids), ids
    for method, path, op in ops:
        where = f"{method} {path}"
        assert "security" in op and "x-permission" in op, where
        permission = op["x-permission"]
        assert permission is None or permission in PERMISSIONS, where
        if op["security"] == []:
            assert permission is None, f"{where}: a public operation cannot need {permission}"
        else:
            assert op["security"] == SECURED, where
            codes = set(op["responses"])
            assert {"401", "429"} <= codes, f"{where}: declare 401 and 429"
            if permission is not None:
                assert "403" in codes, f"{where}: declare 403"


def test_a_path_or_component_defined_twice_is_an_error_naming_both_files() -> None:
    base: dict[str, Any] = {"openapi": "3.1.0", "paths": {}, "components": {"schemas": {"Problem": {}}}}
    one = {"paths": {"/api/v1/x": {}}, "components": {"schemas": {"XThing": {}}}}
    with pytest.raises(SpecError, match=r"b\.yaml: /api/v1/x is already defined in bot/openapi/a\.yaml"):
        merge([("base.yaml", base), ("a.yaml", one), ("b.yaml", {"paths": {"/api/v1/x": {}}})])
    with pytest.raises(SpecError, match=r"schemas/Problem is already defined in bot/openapi/base\.yaml"):
        merge([("base.yaml", base), ("a.yaml", {"components": {"schemas": {"Problem": {}}}})])
    with pytest.raises(SpecError, match="only paths and components"):
        merge([("base.yaml", base), ("a.yaml", {"info": {}})])
    merged = merge([("base.yaml", base), ("a.yaml", one)])
    assert set(merged["components"]["schemas"]) == {"Problem", "XThing"} and base["paths"] == {}


def test_the_fragments_are_package_data() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "openapi/*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["bot"]


async def test_the_document_is_served_public_with_an_etag(sqlite_url: str, make_client: AppFactory) -> None:
    app, client = await make_client(sqlite_url)
    resp = await client.get(SPEC_PATH)
    assert resp.status == 200 and resp.content_type == "application/json"
    assert await resp.json() == app.openapi == load_spec()
    etag = resp.headers["ETag"]
    again = await client.get(SPEC_PATH, headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag
