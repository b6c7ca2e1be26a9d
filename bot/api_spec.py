"""The OpenAPI 3.1 document: ``bot/openapi/base.yaml`` plus every other fragment there, merged.

Spec first: each area of the API keeps its paths (and its prefixed component schemas) in its own
YAML fragment beside the code, so areas can grow without touching each other. They are merged
once, when the app is built: a path or component name defined by two files is a
:class:`SpecError` at start (it would otherwise silently shadow one area's contract), as is a
fragment with anything but ``paths`` and ``components``. ``GET /api/v1/openapi.json`` serves the
result, public, as fixed bytes with an ETag.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

import yaml
from aiohttp import web

from core.errors import FrontdeskError

__all__ = ["SPEC_PATH", "SpecError", "load_spec", "merge", "operations", "spec_routes"]

SPEC_PATH = "/api/v1/openapi.json"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_BASE = "base.yaml"
_FRAGMENT_KEYS = frozenset({"paths", "components"})


class SpecError(FrontdeskError):
    """The OpenAPI fragments do not merge: a duplicate name, a stray key, or YAML that is not a map."""


def _fragments() -> Iterable[tuple[str, dict[str, Any]]]:
    """``(file name, parsed YAML)`` of every fragment, base first, the rest by name."""
    folder = resources.files("bot") / "openapi"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    if _BASE not in names:
        raise SpecError(f"bot/openapi/{_BASE} is missing (the package data is incomplete)")
    for name in [_BASE, *(n for n in names if n != _BASE)]:
        try:
            parsed = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SpecError(f"bot/openapi/{name}: not valid YAML: {exc}") from None
        if not isinstance(parsed, dict):
            raise SpecError(f"bot/openapi/{name}: expected a map with paths: (and components:)")
        yield name, parsed


def merge(fragments: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The base (the first fragment) with the others' ``paths`` and ``components`` added.

    Raises:
        SpecError: naming both files, for a path or component defined twice, or a fragment key
            other than ``paths`` and ``components``.
    """
    items = iter(fragments)
    base_name, base = next(items)
    doc: dict[str, Any] = json.loads(json.dumps(base))  # a deep copy, and proof it is plain JSON data
    doc.setdefault("paths", {})
    doc.setdefault("components", {})
    owner: dict[tuple[str, ...], str] = {("paths", p): base_name for p in doc["paths"]}
    for kind, entries in doc["components"].items():
        owner.update({("components", kind, n): base_name for n in entries})
    for name, fragment in items:
        stray = sorted(set(fragment) - _FRAGMENT_KEYS)
        if stray:
            raise SpecError(
                f"bot/openapi/{name}: only paths and components belong in a fragment, not {stray}"
            )
        for path, item in (fragment.get("paths") or {}).items():
            _claim(owner, ("paths", path), name)
            doc["paths"][path] = item
        for kind, entries in (fragment.get("components") or {}).items():
            for entry, value in (entries or {}).items():
                _claim(owner, ("components", kind, entry), name)
                doc["components"].setdefault(kind, {})[entry] = value
    return doc


def _claim(owner: dict[tuple[str, ...], str], key: tuple[str, ...], name: str) -> None:
    if key in owner:
        raise SpecError(
            f"bot/openapi/{name}: {'/'.join(key[1:])} is already defined in bot/openapi/{owner[key]}; "
            "rename one (component schemas take their area's prefix, e.g. Ticket…)"
        )
    owner[key] = name


def load_spec() -> dict[str, Any]:
    """The merged document from the package's ``bot/openapi/*.yaml``."""
    return merge(_fragments())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(METHOD, path, operation)`` for every operation in ``doc``."""
    return [
        (method.upper(), path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def spec_routes(doc: dict[str, Any]) -> list[web.RouteDef]:
    """``GET /api/v1/openapi.json``: the document as fixed bytes, with an ETag for revalidation."""
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}

    async def serve(request: web.Request) -> web.Response:
        if etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers=headers)
        return web.Response(body=body, content_type="application/json", headers=headers)

    return [web.get(SPEC_PATH, serve)]
