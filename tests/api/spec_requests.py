"""Minimal requests built from the OpenAPI document alone, so a test covers operations it has
never heard of: path parameters get made-up ids, required query parameters and JSON bodies the
smallest values their schemas allow (an example when the spec gives one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.api_spec import operations

MADE_UP_ID = 999_999


@dataclass(frozen=True)
class SpecRequest:
    method: str
    template: str  # the spec's path, e.g. /api/v1/tickets/{ref}
    path: str  # with made-up parameters filled in
    json: Any  # None: no body
    permission: str | None
    public: bool


def requests_from(doc: dict[str, Any]) -> list[SpecRequest]:
    return [_request(doc, method, path, op) for method, path, op in operations(doc)]


def _request(doc: dict[str, Any], method: str, template: str, op: dict[str, Any]) -> SpecRequest:
    item = doc["paths"][template]
    params = [_resolve(doc, p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
    path = template
    query: list[str] = []
    for param in params:
        if param["in"] == "path":
            value = _value(doc, param.get("schema", {}), made_up=True)
            path = path.replace("{" + param["name"] + "}", str(value))
        elif param["in"] == "query" and param.get("required"):
            query.append(f"{param['name']}={_value(doc, param.get('schema', {}))}")
    body = None
    content = _resolve(doc, op.get("requestBody", {})).get("content", {})
    if "application/json" in content:
        media = content["application/json"]
        body = media["example"] if "example" in media else _value(doc, media.get("schema", {}))
    return SpecRequest(
        method=method, template=template, path=path + ("?" + "&".join(query) if query else ""),
        json=body, permission=op.get("x-permission"), public=op.get("security") == [],
    )  # fmt: skip


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _value(doc: dict[str, Any], schema: dict[str, Any], *, made_up: bool = False) -> Any:
    """The smallest valid value of ``schema`` (a made-up id for a path parameter)."""
    schema = _resolve(doc, schema)
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(_value(doc, part) or {})
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _value(doc, schema[key][0], made_up=made_up)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "integer":
        return MADE_UP_ID if made_up else max(schema.get("minimum", 1), 1)
    if kind == "number":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "string":
        return str(MADE_UP_ID) if made_up else "x" * max(schema.get("minLength", 1), 1)
    if kind == "array":
        return [_value(doc, schema.get("items", {}))] * schema.get("minItems", 0)
    props = schema.get("properties", {})
    return {name: _value(doc, props.get(name, {})) for name in schema.get("required", [])}
